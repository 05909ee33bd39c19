/**
 * A bounded LRU map whose entries also expire: the building block of every in-process cache.
 * Bounded by entry count and by an estimated byte size.
 */
export interface LRUOptions {
  /** Maximum number of entries. */
  maxEntries: number
  /** Maximum estimated size in bytes (`sizeOf` of each value). Default: unbounded. */
  maxBytes?: number
  /** Estimated size of a value, bytes. */
  sizeOf?: (value: unknown) => number
  now?: () => number
}

interface Entry<V> {
  value: V
  expiresAt: number
  size: number
}

export class LRU<V> {
  readonly #map = new Map<string, Entry<V>>()
  readonly #opts: Required<Omit<LRUOptions, 'sizeOf'>> & { sizeOf: ((value: unknown) => number) | undefined }
  #bytes = 0
  hits = 0
  misses = 0

  constructor(options: LRUOptions) {
    this.#opts = { maxBytes: Number.POSITIVE_INFINITY, now: Date.now, ...options, sizeOf: options.sizeOf }
  }

  get size(): number {
    return this.#map.size
  }

  get bytes(): number {
    return this.#bytes
  }

  /**
   * The live value of `key`, now the most recently used; `undefined` (a miss) when there is none,
   * it has expired, or `matches` rejects it (the entry is then left as it was).
   */
  get(key: string, matches?: (value: V) => boolean): V | undefined {
    const entry = this.#map.get(key)
    if (!entry || (matches !== undefined && !matches(entry.value))) {
      this.misses++
      return undefined
    }
    if (entry.expiresAt <= this.#opts.now()) {
      this.delete(key)
      this.misses++
      return undefined
    }
    this.#map.delete(key)
    this.#map.set(key, entry)
    this.hits++
    return entry.value
  }

  /** Stores a value until `expiresAt` (epoch ms); a time in the past stores nothing. */
  set(key: string, value: V, expiresAt: number): void {
    this.delete(key)
    if (expiresAt <= this.#opts.now() || this.#opts.maxEntries <= 0) return
    const size = this.#opts.sizeOf ? this.#opts.sizeOf(value) + key.length : 0
    this.#map.set(key, { value, expiresAt, size })
    this.#bytes += size
    while (this.#map.size > this.#opts.maxEntries || this.#bytes > this.#opts.maxBytes) {
      const oldest = this.#map.keys().next().value as string
      this.delete(oldest)
    }
  }

  delete(key: string): void {
    const entry = this.#map.get(key)
    if (!entry) return
    this.#map.delete(key)
    this.#bytes -= entry.size
  }

  /** Deletes every entry whose value matches. */
  deleteWhere(predicate: (value: V) => boolean): void {
    for (const [key, entry] of this.#map) if (predicate(entry.value)) this.delete(key)
  }

  clear(): void {
    this.#map.clear()
    this.#bytes = 0
  }
}
