// Minimal typing of the parts of oidc-provider (a dev dependency without bundled types) that the
// interop tests and benchmarks use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  /** The Koa context of a grant handler registered with `registerGrantType()`. */
  export interface GrantContext {
    oidc: { params: Record<string, string | undefined>; client: { clientId: string } }
    body: unknown
  }

  interface Saveable {
    save(): Promise<string>
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>)
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    proxy: boolean
    registerGrantType(name: string, handler: (ctx: GrantContext) => Promise<void>, params?: string[]): void
    Grant: new (init: { accountId: string; clientId: string }) => Saveable & { addOIDCScope(scope: string): void }
    AccessToken: new (init: Record<string, unknown>) => Saveable & { expiration: number }
    RefreshToken: new (init: Record<string, unknown>) => Saveable
  }

  export const errors: { InvalidGrant: new (description: string) => Error }
}
