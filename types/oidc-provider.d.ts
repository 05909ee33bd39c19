// Minimal typing of the parts of oidc-provider (a dev dependency without bundled types) that the
// interop tests and benchmarks use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'
  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>)
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    proxy: boolean
  }
}
