/**
 * Helpers of the tests that use the real PostgreSQL server (127.0.0.1:5432, database `test`):
 * its URL, a reachability probe, and a TCP relay that can be cut to simulate an outage.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net'
import pg from 'pg'

const user = process.env.PGUSER ?? 'postgres'

/** The test database. */
export const POSTGRES_URL = process.env.GATEPASS_TEST_POSTGRES_URL ?? `postgresql://${encodeURIComponent(user)}@127.0.0.1:5432/test`

/** `null` when the server answers, else why not. */
export async function probePostgres(url = POSTGRES_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return null
  } catch (err) {
    return (err as Error).message || String(err)
  } finally {
    await client.end().catch(() => {})
  }
}

/** A TCP relay to PostgreSQL that can be cut and restored, to simulate an outage. */
export async function relay(url = POSTGRES_URL): Promise<{ port: number; cut(): void; restore(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(url)
  const sockets = new Set<Socket>()
  let server: Server
  let port = 0
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((inbound) => {
        const outbound = new Socket()
        sockets.add(inbound).add(outbound)
        outbound.connect(Number(target.port || 5432), target.hostname)
        inbound.pipe(outbound).pipe(inbound)
        const drop = () => {
          inbound.destroy()
          outbound.destroy()
        }
        inbound.on('error', drop).on('close', drop)
        outbound.on('error', drop).on('close', drop)
      })
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port
        resolve()
      })
    })
  await listen()
  return {
    get port() {
      return port
    },
    cut() {
      server.close()
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore: listen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
