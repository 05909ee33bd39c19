import type { ResolvedConfig } from '../config/resolve.js'
import type { KeyManager } from '../keys.js'
import type { TokenStore } from '../store/types.js'

/**
 * Verifies a username and password for the password grant. Return `null` to refuse.
 *
 * @group Token Service
 */
export type IdentitySource = (
  username: string,
  password: string,
  context: { clientId: string; mode: 'policy' | 'acl' },
) => Promise<{ subject?: string; roles?: string[] } | null>

/** Everything a token-endpoint handler works with. */
export interface ServiceContext {
  resolved: ResolvedConfig
  store: TokenStore
  keys: KeyManager
  now: () => number
  identitySource: IdentitySource | undefined
  /** Reports unexpected failures (never with secrets). */
  onError?: ((error: unknown) => void) | undefined
  /** Drops revoked tokens from the validation caches (every instance when a bus is configured). */
  forget: (event: { digest?: string; familyId?: string }) => Promise<void>
  /** Drops the cached tokens of a client + subject + binding issued up to `at` (`deletePrevious`), on every instance. */
  forgetPrevious: (of: { clientId: string; subject: string; binding: { kind: string; name: string } }, at: number) => Promise<void>
  /** A PBKDF2 hash (as slow as the slowest client secret) verified for unknown clients. */
  dummyClientSecretHash: () => Promise<string>
  /** A PBKDF2 hash nobody knows the password of, verified for unknown users to equalise timing. */
  dummyPasswordHash: () => Promise<string>
}
