// Fleets of clients: bounded-concurrency connect, join, close; and the open-loop sender.
import {
  Client,
  type ClientKind,
  connect,
  type Hub,
  makeContent,
  nowUs,
  type Proto,
} from './clients'
import { waitFor } from './stats'

export interface Target {
  port: number
  proto: Proto
  kind: ClientKind
  /** Source address of the raw client's sockets (default: the kernel's choice, 127.0.0.1). */
  localAddress?: string
}

/** Connect `clients` with at most `concurrency` handshakes in flight; stops starting new ones after `timeoutMs`. */
export async function connectAll(
  hub: Hub,
  t: Target,
  clients: Client[],
  concurrency: number,
  timeoutMs: number,
  afterConnect?: (c: Client) => void,
): Promise<number> {
  let next = 0
  let ok = 0
  const end = performance.now() + timeoutMs
  const worker = async () => {
    while (next < clients.length && performance.now() < end) {
      const c = clients[next++]
      if (c === undefined) break
      try {
        c.conn = await connect(hub, c, t.port, t.proto, t.kind, t.localAddress)
        ok++
        afterConnect?.(c)
      } catch (e) {
        hub.onError('connect_failed', String(e))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker))
  return ok
}

/** Send every join at once (the server sees them as fast as the sockets deliver), wait until all are answered. */
export async function joinAll(hub: Hub, clients: Client[], timeoutMs: number): Promise<boolean> {
  const want = hub.joinedCount + clients.filter((c) => c.conn && !c.joined).length
  for (const c of clients) if (c.conn && !c.joined) c.conn.join(c.room, c.username)
  return waitFor(() => hub.joinedCount >= want, timeoutMs, 5)
}

export function closeAll(clients: Client[]): void {
  for (const c of clients) {
    try {
      c.conn?.close()
    } catch {}
    c.conn = null
  }
}

export const makeClients = (from: number, n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => new Client(from + i, `b${tag}x${from + i}`))

/**
 * Open loop: every client sends once per period at its own phase, whatever the server answers.
 * A timer (every `tickMs`, default 10 ms) sends the messages that are due; if the generator falls more than one period behind it
 * skips ahead and counts `behindResets` (a sign that the generator, not the server, is the limit).
 */
export class OpenLoop {
  private list: Client[] = []
  private i = 0
  private cycleStart = 0
  private timer: ReturnType<typeof setInterval> | null = null
  behindResets = 0
  readonly periodMs: number

  constructor(
    private readonly hub: Hub,
    ratePerClient: number,
    private readonly tickMs = 10,
  ) {
    this.periodMs = 1000 / ratePerClient
  }

  setClients(cs: Client[]): void {
    this.list = cs.filter((c) => c.conn && c.joined)
    this.i = 0
    this.cycleStart = performance.now()
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.tickMs)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private tick(): void {
    const n = this.list.length
    if (n === 0) return
    const now = performance.now()
    const slot = this.periodMs / n
    if (now - (this.cycleStart + this.i * slot) > this.periodMs) {
      this.behindResets++
      this.cycleStart = now - this.i * slot
    }
    for (let sends = 0; sends < n; sends++) {
      if (this.cycleStart + this.i * slot > now) break
      const c = this.list[this.i]
      if (c?.conn && !c.closed) {
        const t = nowUs()
        c.conn.message(c.room, makeContent(t))
        this.hub.onSent(t, c.room)
      }
      if (++this.i === n) {
        this.i = 0
        this.cycleStart += this.periodMs
      }
    }
  }
}
