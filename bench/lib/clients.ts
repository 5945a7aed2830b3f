// Load-generator clients. Three transports behind one small interface:
//  - "raw":   WebSocket frames written and parsed by hand over Bun.connect (the default, cheapest; see docs/benchmarks.md)
//  - "bunws": Bun's built-in WebSocket client
//  - Socket.IO via socket.io-client (for the Socket.IO peer only)
// All incoming frames go to one Hub, which measures latency on this process's clock (performance.now()).
import type { Socket as TcpSocket } from 'bun'
import { type Socket as SioSocket, io as sioConnect } from 'socket.io-client'
import { Histogram } from './stats'

export type ClientKind = 'raw' | 'bunws'
export type Proto = 'json' | 'sio'

export interface Conn {
  join(room: string, username: string): void
  message(room: string, content: string): void
  close(): void
}

export class Client {
  conn: Conn | null = null
  room = ''
  joined = false
  closed = false
  seen: Uint8Array | null = null // join-storm: which members this client believes are in the room
  seenCount = 0
  unknownNames = 0
  /** Deliveries of messages sent inside the measurement window (per client: a loss cannot hide behind a duplicate). */
  inWindow = 0
  /** join-storm: presence frames received since `joined`, in order, checked only after the clock stops (see Hub.replay). */
  log: LogEntry[] = []
  logAt: number[] = [] // performance.now() at which each log entry arrived
  constructor(
    readonly idx: number,
    readonly username: string,
  ) {}
}

/**
 * One recorded presence frame: a member index from user_joined (i + 1) or user_left (-(i + 1)), 0 for a user_joined
 * of an unknown name, or a whole frame not parsed yet (raw JSON bytes or text, or an object Socket.IO already parsed).
 */
export type LogEntry = number | Uint8Array | string | Record<string, unknown>

export const nowUs = () => Math.round(performance.now() * 1000)
const PAD = ' the quick brown fox jumps over the lazy dog'
export const makeContent = (sentUs: number) => `~${sentUs}~${PAD}`

/** Collects everything the clients receive. */
export class Hub {
  readonly hist = new Histogram()
  winStart = Number.POSITIVE_INFINITY // µs; deliveries of messages sent in [winStart, winEnd) are measured
  winEnd = Number.POSITIVE_INFINITY
  sent = 0 // in window
  expected = 0 // in window: sum of room sizes at send time
  delivered = 0 // in window
  totalSent = 0
  totalDelivered = 0
  joinedCount = 0
  lastJoinedAt = 0 // performance.now() when a client received its first joined, the last time that happened
  errors = 0
  rateLimited = 0
  unexpectedCloses = 0
  framesIn = 0
  bytesIn = 0
  readsIn = 0 // socket reads of the raw client: framesIn / readsIn shows how much the server batches its writes
  lastFrameAt = 0
  errorSamples: string[] = []
  readonly roomMembers = new Map<string, number>()
  /**
   * join-storm: track every client's member list. nameIndex maps a username to 0..size-1 or -1. While tracking, joined
   * and presence frames are only recorded (Client.log); `replay` parses and checks them once the clock has stopped.
   */
  track: { size: number; nameIndex: (name: string) => number } | null = null

  openWindow(startUs: number, endUs: number): void {
    this.winStart = startUs
    this.winEnd = endUs
    this.sent = this.expected = this.delivered = 0
    this.hist.reset()
  }

  onSent(sentUs: number, room: string): void {
    this.totalSent++
    if (sentUs >= this.winStart && sentUs < this.winEnd) {
      this.sent++
      this.expected += this.roomMembers.get(room) ?? 0
    }
  }

  /** Counts one delivery; true when its message was sent inside the window. */
  deliver(sentUs: number): boolean {
    this.totalDelivered++
    if (sentUs >= this.winStart && sentUs < this.winEnd) {
      this.delivered++
      this.hist.add(nowUs() - sentUs)
      return true
    }
    return false
  }

  /** A client's first joined: counted at once, whatever the frame holds (its user list is checked by `replay`). */
  markJoined(c: Client): void {
    if (c.joined) return
    c.joined = true
    this.joinedCount++
    this.lastJoinedAt = performance.now()
    this.roomMembers.set(c.room, (this.roomMembers.get(c.room) ?? 0) + 1)
  }

  /** join-storm: keep a presence frame for later; frames that reach a client before its joined are ignored, as a client would. */
  record(c: Client, e: LogEntry): void {
    if (!c.joined) return
    c.log.push(e)
    c.logAt.push(performance.now())
  }

  /**
   * join-storm, after the clock has stopped: rebuild every client's member list from its joined list and the
   * user_joined / user_left / presence_diff that followed, in arrival order. Returns the performance.now() at which the
   * last list became (and stayed) complete, or null when some list is not complete at the end.
   */
  replay(clients: Client[]): number | null {
    const size = this.track?.size ?? 0
    let last = 0
    let allComplete = true
    for (const c of clients) {
      c.seen = null
      c.seenCount = 0
      c.unknownNames = 0
      let completeAt = -1
      for (let k = 0; k < c.log.length; k++) {
        const e = c.log[k]
        if (typeof e === 'number') {
          if (e > 0) this.addIndex(c, e - 1)
          else if (e < 0) this.removeIndex(c, -e - 1)
          else if (c.seen) c.unknownNames++
        } else if (e !== undefined) {
          const m = typeof e === 'string' || e instanceof Uint8Array ? this.parse(e) : e
          if (m) this.applyPresence(c, m)
        }
        if (c.seenCount !== size) completeAt = -1
        else if (completeAt < 0) completeAt = c.logAt[k] ?? 0
      }
      c.log = []
      c.logAt = []
      if (completeAt < 0) allComplete = false
      else last = Math.max(last, completeAt)
    }
    return allComplete ? last : null
  }

  private parse(e: string | Uint8Array): Record<string, unknown> | null {
    const text = typeof e === 'string' ? e : Buffer.from(e).toString('utf8')
    try {
      return JSON.parse(text)
    } catch {
      this.onError('bad_json', text)
      return null
    }
  }

  private applyPresence(c: Client, m: Record<string, unknown>): void {
    switch (m.type) {
      case 'joined': {
        if (!this.track) return
        c.seen = new Uint8Array(this.track.size)
        c.seenCount = 0
        this.addUser(c, c.username)
        for (const u of Array.isArray(m.users) ? m.users : [])
          this.addUser(c, String((u as { username?: unknown })?.username))
        return
      }
      case 'user_joined':
        this.addUser(c, String(m.username))
        return
      case 'user_left':
        this.removeUser(c, String(m.username))
        return
      case 'presence_diff': {
        for (const n of Array.isArray(m.leaves) ? m.leaves : []) this.removeUser(c, String(n))
        for (const j of Array.isArray(m.joins) ? m.joins : [])
          this.addUser(c, String((j as { username?: unknown })?.username))
        return
      }
    }
  }

  private addUser(c: Client, name: string): void {
    if (!this.track || !c.seen) return
    const i = this.track.nameIndex(name)
    if (i < 0) c.unknownNames++
    else this.addIndex(c, i)
  }

  private removeUser(c: Client, name: string): void {
    if (this.track) this.removeIndex(c, this.track.nameIndex(name))
  }

  private addIndex(c: Client, i: number): void {
    if (c.seen?.[i] !== 0) return
    c.seen[i] = 1
    c.seenCount++
  }

  private removeIndex(c: Client, i: number): void {
    if (c.seen?.[i] !== 1) return
    c.seen[i] = 0
    c.seenCount--
  }

  /** join-storm, during the clock: a user_joined / user_left whose name was read from the bytes. */
  recordName(c: Client, name: string, joined: boolean): void {
    if (!this.track) return
    const i = this.track.nameIndex(name)
    // an unknown name (-1) is recorded as 0
    if (joined) this.record(c, i + 1)
    else if (i >= 0) this.record(c, -(i + 1))
  }

  onError(code: string, text: string): void {
    this.errors++
    if (code === 'rate_limited') this.rateLimited++
    if (this.errorSamples.length < 5) this.errorSamples.push(text.slice(0, 200))
  }

  /** Slow path: any JSON frame (control frames, and messages from servers that do not put "type" first). */
  jsonFrame(c: Client, text: string): void {
    let m: Record<string, unknown>
    try {
      m = JSON.parse(text)
    } catch {
      this.onError('bad_json', text)
      return
    }
    this.event(c, m)
  }

  event(c: Client, m: Record<string, unknown>): void {
    switch (m.type) {
      case 'message': {
        const s = String(m.content ?? '')
        if (s.charCodeAt(0) === 126 && this.deliver(Number.parseInt(s.slice(1), 10))) c.inWindow++
        return
      }
      case 'joined':
        this.markJoined(c)
        if (this.track) this.record(c, m)
        return
      case 'user_joined':
      case 'user_left':
      case 'presence_diff':
        if (this.track) this.record(c, m)
        return
      case 'error':
        this.onError(String(m.code), JSON.stringify(m))
        return
      default:
        return // welcome and any unknown type: ignored
    }
  }
}

// ---- JSON protocol frame handling, fast paths for the frames that dominate ----
const enc = new TextEncoder()
const S_MSG = '{"type":"message",'
const S_JOINED = '{"type":"joined",'
const S_DIFF = '{"type":"presence_diff",'
const S_UJ = '{"type":"user_joined",'
const S_UL = '{"type":"user_left",'
const S_MARK = '"content":"~'
const S_USER = '"username":"'
const B_MSG = Buffer.from(S_MSG)
const B_JOINED = Buffer.from(S_JOINED)
const B_DIFF = Buffer.from(S_DIFF)
const B_UJ = Buffer.from(S_UJ)
const B_UL = Buffer.from(S_UL)
const B_MARK = Buffer.from(S_MARK)
const B_USER = Buffer.from(S_USER)

const startsWith = (b: Buffer, p: Buffer) =>
  b.length >= p.length && b.compare(p, 0, p.length, 0, p.length) === 0

function digitsAt(b: Buffer, i: number): number {
  let v = 0
  // past the end, 0 ends the loop just as undefined did
  for (let c = b[i] ?? 0; c >= 48 && c <= 57; c = b[++i] ?? 0) v = v * 10 + (c - 48)
  return v
}

function nameAfter(b: Buffer, p: Buffer): string | null {
  const i = b.indexOf(p)
  if (i < 0) return null
  const s = i + p.length
  const e = b.indexOf(34, s) // closing quote; bench names never hold escapes
  return e < 0 ? null : b.toString('latin1', s, e)
}

// joined and presence_diff frames are recognised by their prefix and not parsed here: a joined carries the whole member
// list, so parsing them all costs the generator O(N²) in a join storm and would be measured as the server's time.
export function onJsonBytes(hub: Hub, c: Client, b: Buffer): void {
  hub.framesIn++
  hub.bytesIn += b.length
  if (startsWith(b, B_MSG)) {
    const i = b.indexOf(B_MARK)
    if (i >= 0) {
      if (hub.deliver(digitsAt(b, i + B_MARK.length))) c.inWindow++
      return
    }
  } else if (startsWith(b, B_JOINED)) {
    hub.markJoined(c)
    // the payload may be a view of the socket's read buffer: keep a copy
    if (hub.track) hub.record(c, Buffer.from(b))
    return
  } else if (startsWith(b, B_DIFF)) {
    if (hub.track) hub.record(c, Buffer.from(b))
    return
  } else if (startsWith(b, B_UJ) || startsWith(b, B_UL)) {
    if (!hub.track) return
    const n = nameAfter(b, B_USER)
    if (n !== null) {
      hub.recordName(c, n, b[14] === 106 /* "j" of user_joined */)
      return
    }
  }
  hub.jsonFrame(c, b.toString('utf8'))
}

export function onJsonText(hub: Hub, c: Client, s: string): void {
  hub.framesIn++
  hub.bytesIn += s.length
  if (s.startsWith(S_MSG)) {
    const i = s.indexOf(S_MARK)
    if (i >= 0) {
      const sent = Number.parseInt(
        s.slice(i + S_MARK.length, s.indexOf('~', i + S_MARK.length)),
        10,
      )
      if (hub.deliver(sent)) c.inWindow++
      return
    }
  } else if (s.startsWith(S_JOINED)) {
    hub.markJoined(c)
    if (hub.track) hub.record(c, s)
    return
  } else if (s.startsWith(S_DIFF)) {
    if (hub.track) hub.record(c, s)
    return
  } else if (s.startsWith(S_UJ) || s.startsWith(S_UL)) {
    if (!hub.track) return
    const i = s.indexOf(S_USER)
    if (i >= 0) {
      const n = s.slice(i + S_USER.length, s.indexOf('"', i + S_USER.length))
      hub.recordName(c, n, s.charCodeAt(14) === 106)
      return
    }
  }
  hub.jsonFrame(c, s)
}

const joinFrame = (room: string, username: string) =>
  JSON.stringify({ action: 'join', room, username })
const msgFrame = (room: string, content: string) =>
  `{"action":"message","room":${JSON.stringify(room)},"content":"${content}"}`

// ---- raw WebSocket over Bun.connect ----
class RawConn implements Conn {
  sock: TcpSocket<RawConn> | null = null
  open = false
  pending: Buffer | null = null
  frag: Buffer[] | null = null
  out: Buffer[] = []
  readonly mask = crypto.getRandomValues(new Uint8Array(4))
  onOpen: (() => void) | null = null
  onFail: ((e: Error) => void) | null = null
  constructor(
    readonly hub: Hub,
    readonly c: Client,
  ) {}

  write(b: Buffer): void {
    const s = this.sock
    if (!s || this.c.closed) return
    if (this.out.length) return void this.out.push(b)
    const n = s.write(b)
    if (n >= 0 && n < b.length) this.out.push(b.subarray(n))
  }

  flush(): void {
    while (this.sock) {
      const b = this.out[0]
      if (b === undefined) return
      const n = this.sock.write(b)
      if (n < 0) return
      if (n < b.length) {
        this.out[0] = b.subarray(n)
        return
      }
      this.out.shift()
    }
  }

  frame(op: number, payload: Uint8Array): Buffer {
    const len = payload.length
    const hl = len < 126 ? 6 : len < 65536 ? 8 : 14
    const f = Buffer.allocUnsafe(hl + len)
    f[0] = 0x80 | op
    if (len < 126) f[1] = 0x80 | len
    else if (len < 65536) {
      f[1] = 0x80 | 126
      f.writeUInt16BE(len, 2)
    } else {
      f[1] = 0x80 | 127
      f.writeUInt32BE(0, 2)
      f.writeUInt32BE(len, 6)
    }
    const m = this.mask
    f.set(m, hl - 4)
    for (let i = 0; i < len; i++) f[hl + i] = (payload[i] ?? 0) ^ (m[i & 3] ?? 0)
    return f
  }

  sendText(s: string): void {
    this.write(this.frame(1, enc.encode(s)))
  }
  join(room: string, username: string): void {
    this.sendText(joinFrame(room, username))
  }
  message(room: string, content: string): void {
    this.sendText(msgFrame(room, content))
  }
  close(): void {
    if (this.c.closed) return
    if (this.open) this.write(this.frame(8, Buffer.from([0x03, 0xe8])))
    this.c.closed = true
    this.sock?.end()
  }

  data(chunk: Buffer): void {
    let b = chunk
    if (this.pending) {
      b = Buffer.concat([this.pending, b])
      this.pending = null
    }
    if (!this.open) {
      const h = b.indexOf('\r\n\r\n')
      if (h < 0) {
        this.pending = Buffer.from(b)
        return
      }
      if (!b.toString('latin1', 0, 12).startsWith('HTTP/1.1 101')) {
        this.onFail?.(new Error(`upgrade refused: ${b.toString('latin1', 0, Math.min(h, 200))}`))
        this.sock?.end()
        return
      }
      this.open = true
      this.onOpen?.()
      b = b.subarray(h + 4)
    }
    let off = 0
    const n = b.length
    while (off + 2 <= n) {
      const b0 = b[off] ?? 0
      const b1 = b[off + 1] ?? 0
      let len = b1 & 0x7f
      let hl = 2
      if (len === 126) {
        if (off + 4 > n) break
        len = b.readUInt16BE(off + 2)
        hl = 4
      } else if (len === 127) {
        if (off + 10 > n) break
        len = b.readUInt32BE(off + 6)
        hl = 10
      }
      const masked = (b1 & 0x80) !== 0
      if (masked) hl += 4
      if (off + hl + len > n) break
      let p = b.subarray(off + hl, off + hl + len)
      if (masked) {
        p = Buffer.from(p)
        for (let i = 0; i < p.length; i++) p[i] = (p[i] ?? 0) ^ (b[off + hl - 4 + (i & 3)] ?? 0)
      }
      off += hl + len
      this.opcode(b0 & 0x0f, (b0 & 0x80) !== 0, p)
    }
    if (off < n) this.pending = Buffer.from(b.subarray(off))
  }

  opcode(op: number, fin: boolean, p: Buffer): void {
    if (op === 1 || op === 2) {
      if (fin) {
        onJsonBytes(this.hub, this.c, p)
        return
      }
      this.frag = [Buffer.from(p)]
    } else if (op === 0 && this.frag) {
      this.frag.push(Buffer.from(p))
      if (fin) {
        const whole = Buffer.concat(this.frag)
        this.frag = null
        onJsonBytes(this.hub, this.c, whole)
      }
    } else if (op === 9) this.write(this.frame(10, p))
    else if (op === 8) {
      if (!this.c.closed) {
        this.write(this.frame(8, p.subarray(0, 2)))
        this.c.closed = true
        this.hub.unexpectedCloses++
      }
      this.sock?.end()
    }
  }
}

const rawHandlers = {
  data(s: TcpSocket<RawConn>, chunk: Buffer) {
    s.data.hub.readsIn++
    s.data.data(chunk)
  },
  drain(s: TcpSocket<RawConn>) {
    s.data.flush()
  },
  close(s: TcpSocket<RawConn>) {
    const r = s.data
    r.onFail?.(new Error('closed before upgrade'))
    if (!r.c.closed) {
      r.c.closed = true
      r.hub.unexpectedCloses++
    }
    r.sock = null
  },
  error(s: TcpSocket<RawConn>, e: Error) {
    s.data.onFail?.(e)
  },
}

async function connectRaw(hub: Hub, c: Client, port: number, localAddress?: string): Promise<Conn> {
  const r = new RawConn(hub, c)
  const opened = new Promise<void>((res, rej) => {
    r.onOpen = () => {
      r.onOpen = r.onFail = null
      res()
    }
    r.onFail = (e) => {
      r.onOpen = r.onFail = null
      rej(e)
    }
  })
  const options = { hostname: '127.0.0.1', port, data: r, socket: rawHandlers }
  // a source address of our own (127.0.0.2, …): each has its own ~28,000 ephemeral ports. Bun 1.4.5 accepts
  // localAddress although its types omit it.
  if (localAddress) Object.assign(options, { localAddress })
  const sock = await Bun.connect<RawConn>(options)
  r.sock = sock
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')
  sock.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  await opened
  return r
}

// ---- Bun's built-in WebSocket client ----
async function connectBunWs(hub: Hub, c: Client, port: number): Promise<Conn> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
  await new Promise<void>((res, rej) => {
    ws.onopen = () => res()
    ws.onerror = () => rej(new Error('websocket error'))
  })
  ws.onerror = null
  ws.onmessage = (e: MessageEvent) => {
    if (typeof e.data === 'string') onJsonText(hub, c, e.data)
    else onJsonBytes(hub, c, Buffer.from(e.data as ArrayBuffer))
  }
  ws.onclose = () => {
    if (!c.closed) hub.unexpectedCloses++
    c.closed = true
  }
  return {
    join: (room, username) => ws.send(joinFrame(room, username)),
    message: (room, content) => ws.send(msgFrame(room, content)),
    close: () => {
      c.closed = true
      ws.close()
    },
  }
}

// ---- Socket.IO ----
async function connectSio(hub: Hub, c: Client, port: number): Promise<Conn> {
  const s: SioSocket = sioConnect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 30_000,
  })
  s.io.on('open', () => {
    s.io.engine.on('packet', (p: { data?: unknown }) => {
      hub.framesIn++
      hub.bytesIn += 1 + (typeof p.data === 'string' ? p.data.length : 0)
    })
  })
  await new Promise<void>((res, rej) => {
    s.once('connect', () => res())
    s.once('connect_error', (e: Error) => rej(e))
  })
  s.on('message', (m: { content?: string }) => {
    const x = m?.content ?? ''
    if (x.charCodeAt(0) === 126 && hub.deliver(Number.parseInt(x.slice(1), 10))) c.inWindow++
  })
  for (const ev of ['joined', 'user_joined', 'user_left', 'presence_diff'])
    s.on(ev, (m: Record<string, unknown>) => hub.event(c, m))
  s.on('error_', (m: Record<string, unknown>) => hub.event(c, { ...m, type: 'error' }))
  s.on('disconnect', () => {
    if (!c.closed) hub.unexpectedCloses++
    c.closed = true
  })
  return {
    join: (room, username) => void s.emit('join', { room, username }),
    message: (room, content) => void s.emit('message', { room, content }),
    close: () => {
      c.closed = true
      s.disconnect()
    },
  }
}

export function connect(
  hub: Hub,
  c: Client,
  port: number,
  proto: Proto,
  kind: ClientKind,
  localAddress?: string,
): Promise<Conn> {
  if (proto === 'sio') return connectSio(hub, c, port)
  return kind === 'raw' ? connectRaw(hub, c, port, localAddress) : connectBunWs(hub, c, port)
}
