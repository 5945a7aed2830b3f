/** A WebSocket test client that turns frames into awaitable events. */

// biome-ignore lint/suspicious/noExplicitAny: frames are arbitrary JSON under test
export type Frame = Record<string, any>

interface Waiter {
  match: (f: Frame) => boolean
  resolve: (f: Frame) => void
}

const WAIT_MS = 2500

let refCounter = 0

/** The ref prefix of the harness's sentinels (never kept among the frames a test reads). */
export const SENTINEL = 'sentinel-'

export class TestClient {
  /** Every frame received, in order. */
  readonly frames: Frame[] = []
  private unread: Frame[] = []
  private waiters: Waiter[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  /** The welcome frame's session token. */
  session = ''
  /** The rooms this connection is in, as its frames tell (joined/resumed, left/kicked/banned). */
  readonly rooms = new Set<string>()
  /**
   * Set by the harness on the Redis engine: after `sync`'s ping, waits until whatever the
   * cluster published before has reached this client (a sentinel through each room's stream).
   */
  static barrier: ((client: TestClient) => Promise<void>) | undefined

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason }))
    })
    ws.addEventListener('message', (e) => {
      const frame = JSON.parse(String(e.data)) as Frame
      const isSentinel = frame.type === 'pong' && String(frame.ref).startsWith(SENTINEL)
      if (!isSentinel) this.frames.push(frame)
      if (frame.type === 'joined' || frame.type === 'resumed') this.rooms.add(frame.room)
      else if (['left', 'kicked', 'banned', 'room_deleted'].includes(frame.type))
        this.rooms.delete(frame.room)
      const i = this.waiters.findIndex((w) => w.match(frame))
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1)
        w?.resolve(frame)
      } else if (!isSentinel) this.unread.push(frame)
    })
  }

  /** Opens a connection and waits for `welcome`. */
  static async connect(url: string, headers?: Record<string, string>): Promise<TestClient> {
    const ws = new WebSocket(url, headers ? { headers } : undefined)
    const client = new TestClient(ws)
    const welcome = client.next('welcome')
    // If the upgrade is refused, nobody awaits `welcome`: keep its later timeout from
    // surfacing as an unhandled rejection inside whichever test runs 2.5 s later.
    welcome.catch(() => {})
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true })
      ws.addEventListener('error', () => reject(new Error('WebSocket failed to open')), {
        once: true,
      })
    })
    client.session = (await welcome).session
    return client
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame))
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data)
  }

  /** The next unread frame of `type` (one of them, if a list) matching `where`, waiting if needed. */
  next(
    type: string | string[],
    where: (f: Frame) => boolean = () => true,
    ms = WAIT_MS,
  ): Promise<Frame> {
    const types = Array.isArray(type) ? type : [type]
    const match = (f: Frame) => types.includes(f.type) && where(f)
    const i = this.unread.findIndex(match)
    if (i >= 0) {
      const [f] = this.unread.splice(i, 1)
      return Promise.resolve(f as Frame)
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { match, resolve }
      this.waiters.push(waiter)
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(
          new Error(
            `no "${types.join('|')}" frame within ${ms} ms; got: ${JSON.stringify(this.frames).slice(-1500)}`,
          ),
        )
      }, ms)
      const done = waiter.resolve
      waiter.resolve = (f) => {
        clearTimeout(timer)
        done(f)
      }
    })
  }

  /** The next `error` frame. */
  error(where: (f: Frame) => boolean = () => true): Promise<Frame> {
    return this.next('error', where)
  }

  /**
   * Round-trips a ping and returns the frames that arrived before its pong and were not
   * read yet. Anything the server sent before the ping is in that list: the sentinel
   * that proves a frame was not delivered, without sleeping.
   */
  async sync(): Promise<Frame[]> {
    await this.ping()
    if (TestClient.barrier) await TestClient.barrier(this)
    const before = this.unread
    this.unread = []
    return before
  }

  /**
   * Round-trips a ping: the server has handled every frame this client sent before it.
   * `orRefusal`: a ping refused (`rate_limited`, with its ref) proves that just as well.
   */
  async ping(orRefusal = false): Promise<void> {
    const ref = `sync-${++refCounter}`
    const pong = this.next(orRefusal ? ['pong', 'error'] : 'pong', (f) => f.ref === ref)
    this.send({ action: 'ping', ref })
    await pong
  }

  /** Joins a room and returns the `joined` frame (throws with the error frame if refused). */
  async join(room: string, username: string, extra: Frame = {}): Promise<Frame> {
    const ref = `join-${++refCounter}`
    const reply = this.next(['joined', 'error'], (f) => f.ref === ref)
    this.send({ action: 'join', room, username, ref, ...extra })
    const frame = await reply
    if (frame.type === 'error') throw new Error(`join refused: ${frame.code}: ${frame.message}`)
    return frame
  }

  /** Sends a frame with a fresh ref and returns the direct reply (or error) to it. */
  async request(frame: Frame, replyTypes: string[]): Promise<Frame> {
    const ref = `req-${++refCounter}`
    const reply = this.next([...replyTypes, 'error'], (f) => f.ref === ref)
    this.send({ ...frame, ref })
    return reply
  }

  close(code = 1000): void {
    this.ws.close(code)
  }
}
