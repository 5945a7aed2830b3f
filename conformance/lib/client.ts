/**
 * A WebSocket client that turns the server's frames into awaitable events, with every wait
 * bounded. It checks each inbound frame against the protocol's envelope as it arrives (one
 * JSON object in a text frame, with a string `type`; an `error` with a catalog `code` and a
 * `message`) and keeps what broke it in `violations`, which fail the check that opened it.
 */
import { isCatalogCode } from './catalog.ts'

// biome-ignore lint/suspicious/noExplicitAny: frames are arbitrary JSON from the server under test
export type Frame = Record<string, any>

export interface Closed {
  code: number
  reason: string
}

interface Waiter {
  match: (f: Frame) => boolean
  /** Whether the unread frames before the match are taken too (a sentinel's wait). */
  takeBefore: boolean
  resolve: (f: Frame, before: Frame[]) => void
}

let refs = 0

/** A fresh ref, unique in this run. */
export function newRef(prefix = 'r'): string {
  refs += 1
  return `${prefix}-${refs}`
}

export class Client {
  /** Every frame received, in order. */
  readonly frames: Frame[] = []
  /** What broke the protocol's envelope (not JSON, no type, an error code not in the catalog). */
  readonly violations: string[] = []
  readonly closed: Promise<Closed>
  /** The welcome frame. */
  welcome: Frame = {}
  private unread: Frame[] = []
  private waiters: Waiter[] = []
  private closedWith: Closed | undefined

  private constructor(
    readonly ws: WebSocket,
    readonly url: string,
    readonly waitMs: number,
  ) {
    this.closed = new Promise((resolve) => {
      ws.addEventListener('close', (e) => {
        this.closedWith = { code: e.code, reason: e.reason }
        resolve(this.closedWith)
      })
    })
    ws.addEventListener('message', (e) => this.receive(e.data))
  }

  /** Opens a connection and waits for its first frame, which must be `welcome`. */
  static async connect(url: string, waitMs: number): Promise<Client> {
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    const client = new Client(ws, url, waitMs)
    const first = client.nextAny(waitMs)
    first.catch(() => {})
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no WebSocket open at ${url} within ${waitMs} ms`)),
        waitMs,
      )
      ws.addEventListener(
        'open',
        () => {
          clearTimeout(timer)
          resolve()
        },
        { once: true },
      )
      ws.addEventListener(
        'error',
        () => {
          clearTimeout(timer)
          reject(new Error(`WebSocket to ${url} failed to open`))
        },
        { once: true },
      )
    })
    const welcome = await first
    if (welcome.type !== 'welcome') {
      client.close()
      throw new Error(`the first frame was not welcome: ${JSON.stringify(welcome).slice(0, 300)}`)
    }
    client.welcome = welcome
    return client
  }

  get session(): string {
    return String(this.welcome.session)
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && this.ws.readyState === WebSocket.OPEN
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      this.violations.push('the server sent a binary frame (every frame is JSON in a text frame)')
      return
    }
    let frame: unknown
    try {
      frame = JSON.parse(data)
    } catch {
      this.violations.push(`the server sent a text frame that is not JSON: ${data.slice(0, 100)}`)
      return
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      this.violations.push(`the server sent JSON that is not an object: ${data.slice(0, 100)}`)
      return
    }
    const f = frame as Frame
    if (typeof f.type !== 'string') {
      this.violations.push(`a frame without a string "type": ${data.slice(0, 200)}`)
    } else if (f.type === 'error') {
      if (!isCatalogCode(f.code))
        this.violations.push(`an error code not in the catalog: ${data.slice(0, 200)}`)
      if (typeof f.message !== 'string')
        this.violations.push(`an error frame without a message: ${data.slice(0, 200)}`)
    }
    this.frames.push(f)
    const i = this.waiters.findIndex((w) => w.match(f))
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1)
      if (w) w.resolve(f, w.takeBefore ? this.unread.splice(0) : [])
    } else {
      this.unread.push(f)
    }
  }

  private wait(
    match: (f: Frame) => boolean,
    what: string,
    ms: number,
    takeBefore: boolean,
  ): Promise<{ frame: Frame; before: Frame[] }> {
    const i = this.unread.findIndex(match)
    if (i >= 0) {
      const before = takeBefore ? this.unread.splice(0, i) : []
      const [frame] = this.unread.splice(takeBefore ? 0 : i, 1)
      return Promise.resolve({ frame: frame as Frame, before })
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        takeBefore,
        resolve: (frame, before) => {
          clearTimeout(timer)
          resolve({ frame, before })
        },
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        const recent = this.frames.slice(-6).map((f) => JSON.stringify(f).slice(0, 240))
        const closed = this.closedWith ? ` (connection closed ${this.closedWith.code})` : ''
        reject(
          new Error(
            `no ${what} within ${ms} ms${closed}; last frames: ${recent.join(' ') || 'none'}`,
          ),
        )
      }, ms)
      this.waiters.push(waiter)
    })
  }

  private nextAny(ms: number): Promise<Frame> {
    return this.wait(() => true, 'frame', ms, false).then((r) => r.frame)
  }

  /** The next unread frame of `type` (or one of the list) for which `where` holds. */
  async next(
    type: string | string[],
    where: (f: Frame) => boolean = () => true,
    ms = this.waitMs,
  ): Promise<Frame> {
    const types = Array.isArray(type) ? type : [type]
    const match = (f: Frame) => types.includes(f.type) && where(f)
    return (await this.wait(match, `"${types.join('|')}" frame`, ms, false)).frame
  }

  /**
   * Waits like {@link next} and also returns the unread frames that came before the match
   * (and marks them read): with a sentinel, the proof that nothing else arrived.
   */
  until(
    type: string | string[],
    where: (f: Frame) => boolean = () => true,
    ms = this.waitMs,
  ): Promise<{ frame: Frame; before: Frame[] }> {
    const types = Array.isArray(type) ? type : [type]
    return this.wait(
      (f) => types.includes(f.type) && where(f),
      `"${types.join('|')}" frame`,
      ms,
      true,
    )
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame))
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data)
  }

  /** Sends `frame` with a fresh ref; resolves with the reply of a `replyTypes` type or `error` that echoes it. */
  request(frame: Frame, replyTypes: string[]): Promise<Frame> {
    const ref = newRef()
    const reply = this.next([...replyTypes, 'error'], (f) => f.ref === ref)
    this.send({ ...frame, ref })
    return reply
  }

  /** Like {@link request}, failing unless the reply is of `type`. */
  async expect(frame: Frame, type: string): Promise<Frame> {
    const reply = await this.request(frame, [type])
    if (reply.type !== type) {
      throw new Error(
        `${JSON.stringify(frame).slice(0, 200)} was answered with ${JSON.stringify(reply).slice(0, 300)}, not "${type}"`,
      )
    }
    return reply
  }

  /** Sends `frame` with a ref; fails unless the reply is an `error` with `code` echoing the ref. */
  async refused(frame: Frame, code: string): Promise<Frame> {
    const shown = JSON.stringify(frame).slice(0, 200)
    const reply = await this.request(frame, [
      'joined',
      'left',
      'pong',
      'history',
      'resumed',
      'moderated',
      'authenticated',
    ]).catch(() => {
      // A frame with no direct reply of its own (a message) that was taken answers nothing.
      throw new Error(`${shown} got no error "${code}" within ${this.waitMs} ms (taken?)`)
    })
    if (reply.type !== 'error' || reply.code !== code) {
      throw new Error(
        `${shown} was answered with ${JSON.stringify(reply).slice(0, 300)}, not an error "${code}"`,
      )
    }
    return reply
  }

  /**
   * Round-trips a ping: every frame sent before it has been handled. Returns the unread
   * frames that came before the pong (what the server sent this connection meanwhile).
   */
  async sync(): Promise<Frame[]> {
    const ref = newRef('sync')
    const pong = this.until('pong', (f) => f.ref === ref)
    this.send({ action: 'ping', ref })
    return (await pong).before
  }

  /** Joins `room` as `username`; fails with the server's error if refused. */
  join(room: string, username: string, extra: Frame = {}): Promise<Frame> {
    return this.expect({ action: 'join', room, username, ...extra }, 'joined')
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN)
      this.ws.close(code)
  }
}
