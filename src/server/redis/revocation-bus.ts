/**
 * `RevocationBus` on Redis pub/sub: publishes on the command connection, listens on a dedicated
 * subscriber connection. Internal module.
 */
import type { Redis } from 'ioredis'
import type { RevocationBus, RevocationEvent } from '../cache/types.js'
import type { Health } from './health.js'
import { isOffline, withTimeout } from './health.js'

/** Longest `digest` / `familyId` / `owner` / `keys` accepted from the channel; anything longer is not ours. */
const MAX_ID_LENGTH = 512
/** Revocations that could not be published, kept for the next reconnect (oldest dropped first). */
const MAX_PENDING = 1000

function isId(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_ID_LENGTH
}

/**
 * Keeps the valid fields of an event; `undefined` when it names nothing to revoke. Internal.
 *
 * @param value A `RevocationEvent` (from a caller) or a parsed message (from the channel).
 */
export function toEvent(value: unknown): RevocationEvent | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const fields = value as Record<'digest' | 'familyId' | 'owner' | 'keys', unknown>
  const event: RevocationEvent = {}
  for (const name of ['digest', 'familyId', 'owner', 'keys'] as const) {
    const field = fields[name]
    if (field === undefined) continue
    if (!isId(field)) return undefined
    event[name] = field
  }
  return Object.keys(event).length === 0 ? undefined : event
}

/**
 * Parses a channel message `{ digest?, familyId?, owner?, keys?, origin? }`; `undefined` when malformed. Internal.
 *
 * @param message The raw message.
 */
export function parseMessage(message: string): { event: RevocationEvent; origin: string | undefined } | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(message)
  } catch {
    return undefined
  }
  const event = toEvent(parsed)
  if (!event) return undefined
  const { origin } = parsed as { origin?: unknown }
  if (origin !== undefined && typeof origin !== 'string') return undefined
  return { event, origin }
}

/** Options of {@link createRevocationBus}. Internal. */
export interface BusOptions {
  /** The command connection (PUBLISH). */
  client: Redis
  /** The dedicated subscriber connection. */
  subscriber: Redis
  channel: string
  /** Id of this instance, sent as `origin` so it can skip its own echoes. */
  origin: string
  /** Longest wait for one PUBLISH, in ms. */
  timeout: number
  health: Health
  /** Receives errors thrown by listeners. */
  onListenerError: (err: unknown) => void
  /** Called when the subscription is back after a loss (messages may have been missed). */
  onResubscribe: () => void
}

/** The bus plus the hooks `createRedisCache()` needs. Internal. */
export interface RedisRevocationBus extends RevocationBus {
  /** Resolves once the first SUBSCRIBE is confirmed. */
  readonly subscribed: Promise<void>
  /** Detaches the listeners from the connections. */
  detach(): void
}

/**
 * Creates the bus. Events are delivered to this instance's listeners at once by `publish()`
 * (even when Redis is down); the echo of its own messages is skipped.
 *
 * @param options Connections, channel and hooks.
 */
export function createRevocationBus(options: BusOptions): RedisRevocationBus {
  const { client, subscriber, channel, origin, timeout, health, onListenerError, onResubscribe } = options
  const listeners = new Set<(event: RevocationEvent) => void>()
  const pending: string[] = []
  let subscribing = false
  let active = false
  let lost = false
  let markSubscribed!: () => void
  const subscribed = new Promise<void>((resolve) => (markSubscribed = resolve))

  function deliver(event: RevocationEvent): void {
    for (const listener of [...listeners]) {
      try {
        listener({ ...event })
      } catch (err) {
        onListenerError(err)
      }
    }
  }

  async function send(message: string): Promise<boolean> {
    if (health.closed || isOffline(client.status)) return false
    try {
      await withTimeout(client.publish(channel, message), timeout)
      health.up('command')
      return true
    } catch (err) {
      health.fail('command', err)
      return false
    }
  }

  function keep(message: string): void {
    pending.push(message)
    if (pending.length > MAX_PENDING) pending.shift()
  }

  async function flush(): Promise<void> {
    while (pending.length > 0 && !health.closed) {
      const message = pending.shift()!
      if (!(await send(message))) {
        pending.unshift(message)
        return
      }
    }
  }

  function subscribe(): void {
    if (health.closed || subscribing) return
    subscribing = true
    subscriber.subscribe(channel).then(
      () => {
        subscribing = false
        if (health.closed) return
        active = true
        health.up('subscriber')
        markSubscribed()
        if (lost) {
          lost = false
          // Whatever was published while the subscription was down never arrives.
          deliver({ missed: true })
          try {
            onResubscribe()
          } catch (err) {
            onListenerError(err)
          }
        }
      },
      (err: unknown) => {
        subscribing = false
        health.fail('subscriber', err)
      },
    )
  }

  const onMessage = (from: string, message: string): void => {
    if (from !== channel) return
    const parsed = parseMessage(message)
    if (!parsed || parsed.origin === origin) return
    deliver(parsed.event)
  }
  const onSubscriberReady = (): void => subscribe()
  const onSubscriberClose = (): void => {
    if (health.closed) return
    if (active) {
      lost = true
      // From now until the subscription is back, revocations from other instances are missed.
      deliver({ missed: true })
    }
    active = false
    health.down('subscriber')
  }
  const onSubscriberError = (err: unknown): void => health.fail('subscriber', err)
  const onClientReady = (): void => void flush()

  subscriber.on('message', onMessage)
  subscriber.on('ready', onSubscriberReady)
  subscriber.on('close', onSubscriberClose)
  subscriber.on('error', onSubscriberError)
  client.on('ready', onClientReady)
  if (subscriber.status === 'ready') subscribe()

  return {
    subscribed,
    async publish(event) {
      const valid = toEvent(event)
      if (!valid) return
      deliver(valid)
      const message = JSON.stringify({ ...valid, origin })
      if (health.closed) return
      if (pending.length > 0) {
        // keep the order: older unsent revocations go first
        keep(message)
        await flush()
      } else if (!(await send(message))) {
        keep(message)
      }
    },
    subscribe(listener) {
      if (typeof listener !== 'function') return () => {}
      const own = (event: RevocationEvent): void => listener(event)
      listeners.add(own)
      return () => {
        listeners.delete(own)
      }
    },
    detach() {
      subscriber.off('message', onMessage)
      subscriber.off('ready', onSubscriberReady)
      subscriber.off('close', onSubscriberClose)
      subscriber.off('error', onSubscriberError)
      client.off('ready', onClientReady)
    },
  }
}
