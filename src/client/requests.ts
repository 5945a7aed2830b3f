/**
 * The client's request bookkeeping: each request gets a `ref`, waits in the outbox until
 * the connection is open, is filed by ref once sent (and, for `send`, in its room's queue
 * of echoes, matched oldest first), and times out after `timeoutMs`.
 */
import {
  ChatRequestError,
  type ClientClock,
  type MessageFrame,
  type ServerFrame,
  type ServerFrameType,
} from './types.ts'

/** A frame the client sends; `ref` is added per request. */
export type Outgoing = { action: string } & Record<string, unknown>

export interface Credentials {
  password?: string
  token?: string
}

export interface Pending {
  ref: string
  frame: Outgoing
  /** Reply types that settle it by `ref`; empty for `send`, which its own echo settles. */
  expect: readonly ServerFrameType[]
  /** For `send`: the room whose next own message settles it. */
  echoRoom?: string
  /**
   * For `edit`, `delete` and `react`: the room's frame that settles it (the sender gets it
   * like every member, without a ref). Errors still come by ref.
   */
  match?: (frame: ServerFrame) => boolean
  /** For `join` / `create`: kept to join the room again after a lost session. */
  credentials?: Credentials
  /** Internal re-joins: their error frames still reach the `error` event. */
  emitErrors: boolean
  /** Resolved, rejected or timed out (a timed-out request still awaits its late answer). */
  done: boolean
  timer: unknown
  resolve(frame: ServerFrame | undefined): void
  reject(error: ChatRequestError): void
}

export class Requests {
  private nextRef = 0
  /** Requests made while not open: sent, in order, once the connection is open. */
  private readonly outbox: Pending[] = []
  /** Requests sent and awaiting their answer, by ref. */
  private readonly pending = new Map<string, Pending>()
  /** Per room, the sent messages awaiting their own echo, oldest first. */
  private readonly echoes = new Map<string, Pending[]>()

  constructor(
    private readonly clock: ClientClock,
    private readonly timeoutMs: number,
    /** Writes a frame on the current connection (if any). */
    private readonly write: (frame: Outgoing) => void,
  ) {}

  /** A fresh `ref`, unique for the life of the client. */
  ref(): string {
    return `c${++this.nextRef}`
  }

  /** A new request, its timeout running; `transmit` or `queue` it. */
  create(
    frame: Outgoing,
    expect: readonly ServerFrameType[],
    resolve: Pending['resolve'],
    reject: Pending['reject'],
  ): Pending {
    const ref = this.ref()
    const p: Pending = {
      ref,
      frame: { ...frame, ref },
      expect,
      emitErrors: false,
      done: false,
      timer: undefined,
      resolve,
      reject,
    }
    p.timer = this.clock.setTimeout(() => this.expire(p), this.timeoutMs)
    return p
  }

  /** A request of the client's own, sent at once on the current connection. */
  internal<T extends ServerFrame>(
    frame: Outgoing,
    expect: readonly ServerFrameType[],
    emitErrors = false,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p = this.create(frame, expect, resolve as Pending['resolve'], reject)
      p.emitErrors = emitErrors
      this.transmit(p)
    })
  }

  transmit(p: Pending): void {
    this.pending.set(p.ref, p)
    if (p.echoRoom !== undefined) {
      const queue = this.echoes.get(p.echoRoom)
      if (queue) queue.push(p)
      else this.echoes.set(p.echoRoom, [p])
    }
    this.write(p.frame)
  }

  /** Holds a request until the connection is open. */
  queue(p: Pending): void {
    this.outbox.push(p)
  }

  /** Whether a request waits for the connection. */
  get queued(): boolean {
    return this.outbox.length > 0
  }

  /** Sends, in order, what waited for the connection. */
  flush(): void {
    for (const p of this.outbox.splice(0)) this.transmit(p)
  }

  /** The sent request filed under `ref`. */
  get(ref: string): Pending | undefined {
    return this.pending.get(ref)
  }

  /** Our own message came back: it settles the oldest `send` waiting in its room. */
  settleEcho(frame: MessageFrame): void {
    const p = this.echoes.get(frame.room)?.[0]
    if (p) this.settle(p, frame)
  }

  /**
   * A room's frame that may answer a change request: it settles the oldest sent one it
   * matches (a timed-out one included, so that its late answer is not taken for a later one's).
   */
  settleMatch(frame: ServerFrame): void {
    for (const p of this.pending.values()) {
      if (p.match?.(frame)) {
        this.settle(p, frame)
        return
      }
    }
  }

  /** The connection is gone: what was sent on it fails; what waits stays queued. */
  failSent(error: ChatRequestError): void {
    for (const p of [...this.pending.values()]) this.fail(p, error)
    this.echoes.clear()
  }

  /** Every request, queued or sent, fails. */
  failAll(error: ChatRequestError): void {
    for (const p of [...this.outbox, ...this.pending.values()]) this.fail(p, error)
    this.echoes.clear()
  }

  settle(p: Pending, frame: ServerFrame): void {
    this.unregister(p)
    if (p.done) return
    p.done = true
    p.resolve(frame)
  }

  fail(p: Pending, error: ChatRequestError): void {
    this.unregister(p)
    if (p.done) return
    p.done = true
    p.reject(error)
  }

  /** Forgets a request everywhere it is filed. */
  private unregister(p: Pending): void {
    if (p.timer !== undefined) this.clock.clearTimeout(p.timer)
    p.timer = undefined
    this.pending.delete(p.ref)
    const i = this.outbox.indexOf(p)
    if (i >= 0) this.outbox.splice(i, 1)
    if (p.echoRoom !== undefined) {
      const queue = this.echoes.get(p.echoRoom)
      const j = queue?.indexOf(p) ?? -1
      if (queue && j >= 0) queue.splice(j, 1)
      if (queue?.length === 0) this.echoes.delete(p.echoRoom)
    }
  }

  private expire(p: Pending): void {
    p.timer = undefined
    const room = typeof p.frame.room === 'string' ? p.frame.room : undefined
    const error = new ChatRequestError(
      'timeout',
      `No answer to "${p.frame.action}" within ${this.timeoutMs} ms`,
      room,
    )
    if (this.outbox.includes(p)) {
      this.fail(p, error)
      return
    }
    // Sent: it stays filed until its late answer comes, so that a late echo or error is
    // not taken for the answer to a later request.
    p.done = true
    p.reject(error)
  }
}
