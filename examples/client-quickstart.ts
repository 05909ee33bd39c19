/**
 * Client quick start: a service obtains tokens with the client credentials grant and calls a
 * protected API; the token client caches, refreshes and retries by itself.
 *
 * In your app, import from 'gatepass/client'; this example imports the source so it type-checks
 * inside the repository.
 *
 * Run: CLIENT_SECRET=… npx tsx examples/client-quickstart.ts
 */
import { createAPIClient, createTokenClient, decodeClaims, isGatepassError } from '../src/client/index.js'

const tokens = createTokenClient({
  issuer: process.env.ISSUER ?? 'http://127.0.0.1:8080/auth', // token endpoint discovered (RFC 8414)
  clientId: process.env.CLIENT_ID ?? 'billing',
  clientSecret: process.env.CLIENT_SECRET ?? 'change-me', // sent with HTTP Basic
  grant: 'client_credentials',
  scope: 'invoices:read',
})
tokens.on('refresh', ({ grant, reason }) => console.log(`token refreshed with ${grant} (${reason})`))

const api = createAPIClient({ prefixUrl: process.env.API_URL ?? 'http://127.0.0.1:8080/api', tokens })

try {
  const { access_token, expiresAt } = await tokens.getToken()
  console.log('expires at', expiresAt === null ? 'never' : new Date(expiresAt).toISOString())
  try {
    console.log('scope (unverified):', decodeClaims(access_token).scope)
  } catch {
    console.log('opaque token')
  }
  console.log(await api.get('invoices').json())
} catch (err) {
  if (isGatepassError(err)) console.error(err.code, err.message)
  else throw err
}
