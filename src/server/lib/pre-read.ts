/**
 * Requests whose body a server adapter has already read whole, within its declared length (the
 * Node adapter does so for small bodies). Their body can be taken at once; any other body is
 * read as a stream, so a size limit holds however long it turns out to be.
 *
 * @module
 */

/**
 * A non-enumerable own property rather than a `WeakSet` entry: weak collections cost the garbage
 * collector extra work per entry, and this is set on every token request.
 */
const PRE_READ = Symbol('gatepass.preRead')

/** Marks `request` as carrying a body already read whole (adapter side). */
export function markPreRead(request: Request): void {
  Object.defineProperty(request, PRE_READ, { value: true })
}

/** Whether {@link markPreRead} was called for `request`. */
export function isPreRead(request: Request): boolean {
  return (request as unknown as Record<symbol, unknown>)[PRE_READ] === true
}
