/**
 * Handler types of the server half.
 *
 * @module
 */

/**
 * What a runtime adapter knows about a request beyond the `Request` itself.
 *
 * @group Handlers
 */
export interface RequestContext {
  /**
   * IP address of the TCP peer (the Node adapter sets it from the socket). On platforms that give
   * it otherwise (e.g. `CF-Connecting-IP` on Workers) pass it here yourself.
   */
  remoteAddress?: string | undefined
}

/**
 * A framework-agnostic Fetch handler: `Request → Response`.
 *
 * @group Handlers
 */
export type FetchHandler = (request: Request, context?: RequestContext) => Promise<Response>
