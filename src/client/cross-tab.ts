/**
 * Coordination between tabs (and workers) of one origin: Web Locks so one tab refreshes at a time,
 * BroadcastChannel so the others adopt its token. Internal: used by the token client.
 *
 * @module
 */
import type { TokenCacheEntry } from './cache/types.js'
import { isEntry } from './cache/entry.js'

/** What the token client needs from cross-tab coordination. */
export interface CrossTab {
  /** Runs `fn` while holding the exclusive lock of the key (directly when Web Locks are missing). */
  run<T>(fn: () => Promise<T>): Promise<T>
  /** Tells the other tabs about a new token. */
  publish(entry: TokenCacheEntry): void
  /** Stops listening. */
  close(): void
}

interface Message {
  v: 1
  entry: TokenCacheEntry
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown>
  request(name: string, callback: (lock: unknown) => unknown): Promise<unknown>
}

interface ChannelLike {
  postMessage(message: unknown): void
  close(): void
  onmessage: ((event: MessageEvent) => void) | null
  unref?: () => void
}

/**
 * How long a tab that waited for the lock gives the holder's broadcast to arrive (ms). A broadcast
 * wakes the waiter at once, so this only delays the case where the holder failed; it is generous
 * because a busy main thread can deliver the message late (then both tabs would refresh).
 */
const BROADCAST_GRACE = 250

const CONTENDED: unique symbol = Symbol('contended')

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false
  const m = value as Partial<Message>
  return m.v === 1 && isEntry(m.entry)
}

/**
 * Creates the coordinator for one cache key. Feature-detects `navigator.locks` and
 * `BroadcastChannel` through `globalThis`; either may be missing (Node, older browsers), and then
 * that half is a no-op.
 *
 * @param key The cache key (names the lock and the channel).
 * @param adopt Called with a token another tab published; resolves once it is cached.
 */
export function createCrossTab(key: string, adopt: (entry: TokenCacheEntry) => Promise<void>): CrossTab {
  const name = `gatepass:${key}`
  const g = globalThis as { navigator?: { locks?: LockManagerLike }; BroadcastChannel?: new (name: string) => ChannelLike }
  const locks = typeof g.navigator?.locks?.request === 'function' ? g.navigator.locks : undefined
  let channel: ChannelLike | undefined
  let received = 0
  let adopting: Promise<void> = Promise.resolve()
  const waiters = new Set<() => void>()

  if (typeof g.BroadcastChannel === 'function') {
    try {
      channel = new g.BroadcastChannel(name)
      // Node: do not keep the process alive for this channel
      channel.unref?.()
      channel.onmessage = (event) => {
        if (!isMessage(event.data)) return
        received++
        adopting = adopt(event.data.entry).catch(() => undefined)
        for (const wake of waiters) wake()
        waiters.clear()
      }
    } catch {
      channel = undefined
    }
  }

  /** After waiting for another tab's lock: let its broadcast land before re-reading the cache. */
  async function settle(seen: number): Promise<void> {
    if (channel && received === seen) {
      await new Promise<void>((resolve) => {
        let last: ReturnType<typeof setTimeout> | undefined
        // When the grace runs out, one more turn of the event loop first: after a long task (a
        // busy or throttled tab) the timer and the holder's message are due together, and timers
        // run first (Node), so the message is taken before giving up on it.
        const timer = setTimeout(() => (last = setTimeout(done, 0)), BROADCAST_GRACE)
        function done() {
          clearTimeout(timer)
          clearTimeout(last)
          waiters.delete(done)
          resolve()
        }
        waiters.add(done)
      })
    }
    await adopting
  }

  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (!locks) return fn()
      const seen = received
      const first = await locks.request(name, { ifAvailable: true }, (lock) => (lock ? fn() : CONTENDED))
      if (first !== CONTENDED) return first as T
      return (await locks.request(name, async () => {
        await settle(seen)
        return fn()
      })) as T
    },
    publish(entry) {
      try {
        channel?.postMessage({ v: 1, entry } satisfies Message)
      } catch {
        // a closed channel or an uncloneable extra member: the other tabs fall back to their own refresh
      }
    },
    close() {
      channel?.close()
      channel = undefined
      for (const wake of waiters) wake()
    },
  }
}
