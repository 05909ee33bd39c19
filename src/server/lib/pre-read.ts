/**
 * Requests whose body a server adapter has already read whole, within its declared length (the
 * Node adapter does so for small bodies). Their body can be taken at once; any other body is
 * read as a stream, so a size limit holds however long it turns out to be.
 *
 * @module
 */

const preRead = new WeakSet<Request>()

/** Marks `request` as carrying a body already read whole (adapter side). */
export function markPreRead(request: Request): void {
  preRead.add(request)
}

/** Whether {@link markPreRead} was called for `request`. */
export function isPreRead(request: Request): boolean {
  return preRead.has(request)
}
