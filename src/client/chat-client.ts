/**
 * ChatClient: the chat protocol (docs/protocol.md) as promises and typed events, for
 * browsers and Bun alike. It reconnects by itself, resumes its session with the last
 * message id it saw per room, and delivers every `message` / `system` exactly once.
 *
 * Dependency-free on purpose (only type imports from the protocol): the chat page bundles
 * it for the browser, and nothing of the server may come along.
 */
import { backoffDelay } from './backoff.ts'
import { Emitter } from './emitter.ts'
import { compareIds, follows } from './message-id.ts'
import {
  type ChatClientOptions,
  type ChatEventHandler,
  type ChatEventName,
  ChatRequestError,
  type ClientClock,
  type ConnectionState,
  type ErrorFrame,
  type FrameOf,
  type JoinedFrame,
  type MessageFrame,
  type RoomMembership,
  type ServerFrame,
  type ServerFrameType,
  type StoredMessage,
  type SystemFrame,
} from './types.ts'

/** A frame the client sends; `ref` is added per request. */
type Outgoing = { action: string } & Record<string, unknown>

interface Credentials {
  password?: string
  token?: string
}

interface Pending {
  ref: string
  frame: Outgoing
  /** Reply types that settle it by `ref`; empty for `send`, which its own echo settles. */
  expect: readonly ServerFrameType[]
  /** For `send`: the room whose next own message settles it. */
  echoRoom?: string
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

/** The server's close codes the client treats specially (docs/protocol.md, "Close codes"). */
const CLOSE = {
  /** Flooding or over the per-address cap: come back, but not right away. */
  policy: 1008,
  /** In no room for too long: connect again when needed. */
  idle: 4000,
  /** The session was resumed on another connection: this one must not come back. */
  replaced: 4001,
} as const

const DEFAULTS = {
  minDelayMs: 500,
  maxDelayMs: 15_000,
  requestTimeoutMs: 10_000,
  heartbeatIntervalMs: 20_000,
}

const globalClock: ClientClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** A stored message as the live frame it was sent as (what a resume replays). */
function liveFrame(m: StoredMessage): MessageFrame | SystemFrame {
  return m.type === 'text'
    ? {
        type: 'message',
        room: m.room_id,
        id: m.id,
        sender: m.sender,
        content: m.content,
        ts: m.timestamp,
      }
    : { type: 'system', room: m.room_id, id: m.id, content: m.content, ts: m.timestamp }
}

/**
 * A chat connection with its rooms.
 *
 * @example
 * const client = new ChatClient({ url: 'ws://localhost:3000/ws' })
 * client.on('message', (m) => console.log(`${m.sender}: ${m.content}`))
 * await client.connect()
 * await client.join('general', 'alice')
 * await client.send('general', 'Hello!')
 */
export class ChatClient {
  private readonly url: string
  private readonly WebSocketClass: typeof WebSocket
  private readonly clock: ClientClock
  private readonly random: () => number
  private readonly minDelayMs: number
  private readonly maxDelayMs: number
  private readonly requestTimeoutMs: number
  private readonly heartbeatIntervalMs: number

  private readonly events = new Emitter()
  private current: ConnectionState = 'closed'
  private ws: WebSocket | undefined
  private welcomed = false
  /** The `session` of the current connection's `welcome`. */
  private session: string | undefined
  /** The session the server files our rooms under: the one to resume. */
  private resumeToken: string | undefined
  /** Whether a connection of this run got to `open` (then a drop means `reconnecting`). */
  private everOpened = false
  /** Set by `close()` and by a 4001 close: no reconnect, requests are refused. */
  private stopped = false
  private attempt = 0
  private shutdownHintMs: number | undefined
  /** Heartbeat ticks since the last frame from the server. */
  private silentTicks = 0
  private nextRef = 0
  private connectTimer: unknown
  private heartbeatTimer: unknown
  private reconnectTimer: unknown

  /** Requests made while not open: sent, in order, once the connection is open. */
  private readonly outbox: Pending[] = []
  /** Requests sent and awaiting their answer, by ref. */
  private readonly pending = new Map<string, Pending>()
  /** Per room, the sent messages awaiting their own echo, oldest first. */
  private readonly echoes = new Map<string, Pending[]>()
  private readonly memberships = new Map<string, RoomMembership>()
  private readonly credentials = new Map<string, Credentials>()
  /** Per room, whether the last re-join's history reached back to what we had seen. */
  private readonly rejoinRecovered = new Map<string, boolean>()
  private connectWaiters: { resolve(): void; reject(error: Error): void }[] = []
  /** While a resume is under way: its ref and what the server answered to it. */
  private resuming:
    | { ref: string; failed: boolean; answered: Set<string>; recovered: boolean }
    | undefined

  constructor(options: ChatClientOptions) {
    const url = new URL(options.url)
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new TypeError(`ChatClient needs a ws:// or wss:// URL, not ${options.url}`)
    }
    this.url = options.url
    const WebSocketClass = options.WebSocket ?? globalThis.WebSocket
    if (!WebSocketClass) throw new TypeError('No WebSocket class: pass options.WebSocket')
    this.WebSocketClass = WebSocketClass
    this.clock = options.clock ?? globalClock
    this.random = options.random ?? Math.random
    this.minDelayMs = options.reconnect?.minDelayMs ?? DEFAULTS.minDelayMs
    this.maxDelayMs = Math.max(
      this.minDelayMs,
      options.reconnect?.maxDelayMs ?? DEFAULTS.maxDelayMs,
    )
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs
  }

  // ── Public API ───────────────────────────────────────────────────────────────

  /** The connection state; the `state` event tells each change. */
  get state(): ConnectionState {
    return this.current
  }

  /** The rooms this client is in, by room id. */
  get rooms(): ReadonlyMap<string, Readonly<RoomMembership>> {
    return this.memberships
  }

  /**
   * Opens the connection; resolves at the first `welcome` (at once if open). Until then
   * failed attempts are retried with backoff; it rejects only if the client is closed.
   */
  connect(): Promise<void> {
    if (this.current === 'open') return Promise.resolve()
    const opened = new Promise<void>((resolve, reject) => {
      this.connectWaiters.push({ resolve, reject })
    })
    if (this.current === 'closed') {
      this.stopped = false
      this.everOpened = false
      this.attempt = 0
      this.setState('connecting')
      this.openSocket()
    }
    return opened
  }

  /**
   * Closes the connection for good: state `closed`, no reconnect, every waiting request
   * rejects with `closed`. The server keeps the rooms for its resume grace, then the user
   * leaves them (call `leave` first to leave at once). `connect()` starts anew.
   */
  close(): void {
    this.stop(new ChatRequestError('closed', 'The client was closed'), 1000, 'Closed by the client')
  }

  /** Joins a room (by id or name); resolves with `joined` (users and recent history). */
  join(
    room: string,
    username: string,
    opts: { password?: string; token?: string } = {},
  ): Promise<JoinedFrame> {
    const credentials = { password: opts.password, token: opts.token }
    return this.request<JoinedFrame>(
      { action: 'join', room, username, password: opts.password, token: opts.token },
      ['joined'],
      { credentials },
    )
  }

  /** Creates a room and joins it as moderator; `joined` carries the `moderator_token`. */
  create(
    name: string,
    username: string,
    opts: { password?: string; is_private?: boolean; max_users?: number } = {},
  ): Promise<JoinedFrame> {
    return this.request<JoinedFrame>(
      {
        action: 'create',
        name,
        username,
        password: opts.password,
        is_private: opts.is_private,
        max_users: opts.max_users,
      },
      ['joined'],
      { credentials: { password: opts.password } },
    )
  }

  /** Sends a message; resolves with the room's copy of it (its `id` and `ts`). */
  send(room: string, content: string): Promise<MessageFrame> {
    return this.request<MessageFrame>({ action: 'message', room, content }, [], { echoRoom: room })
  }

  /** Tells the room you are typing (dropped when not open; the server throttles it). */
  typing(room: string): void {
    if (this.current === 'open') this.write({ action: 'typing', room })
  }

  async leave(room: string): Promise<void> {
    await this.request({ action: 'leave', room }, ['left'])
  }

  /** Older messages: up to `limit` (1–100, default 50) before the id `before`, oldest first. */
  async history(
    room: string,
    opts: { before?: string; limit?: number } = {},
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    const frame = await this.request<FrameOf<'history'>>(
      { action: 'history', room, before: opts.before, limit: opts.limit },
      ['history'],
    )
    return { messages: frame.messages, has_more: frame.has_more }
  }

  ban(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'ban', room, username })
  }

  kick(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'kick', room, username })
  }

  unban(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'unban', room, username })
  }

  unmute(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'unmute', room, username })
  }

  mute(room: string, username: string, durationMs: number): Promise<void> {
    return this.moderate({ action: 'mute', room, username, duration_ms: durationMs })
  }

  /** Adds an event handler; returns the function that removes it. */
  on<E extends ChatEventName>(event: E, handler: ChatEventHandler<E>): () => void {
    return this.events.on(event, handler)
  }

  off<E extends ChatEventName>(event: E, handler: ChatEventHandler<E>): void {
    this.events.off(event, handler)
  }

  // ── Requests ─────────────────────────────────────────────────────────────────

  private async moderate(frame: Outgoing): Promise<void> {
    await this.request(frame, ['moderated'])
  }

  /** Sends now if open, else queues (connecting first if idle); settles by ref or echo. */
  private request<T extends ServerFrame>(
    frame: Outgoing,
    expect: readonly ServerFrameType[],
    extra: { echoRoom?: string; credentials?: Credentials } = {},
  ): Promise<T> {
    if (this.stopped) {
      return Promise.reject(new ChatRequestError('closed', 'The client is closed'))
    }
    return new Promise<T>((resolve, reject) => {
      const p = this.pendingFor(frame, expect, resolve as Pending['resolve'], reject)
      p.echoRoom = extra.echoRoom
      p.credentials = extra.credentials
      if (this.current === 'open') this.transmit(p)
      else {
        this.outbox.push(p)
        // Idle (never connected, or closed by the server's 4000 timeout): connect for it.
        if (this.current === 'closed') this.connect().catch(() => {})
      }
    })
  }

  /** A request of the client's own, sent at once on the current connection. */
  private internal<T extends ServerFrame>(
    frame: Outgoing,
    expect: readonly ServerFrameType[],
    emitErrors = false,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p = this.pendingFor(frame, expect, resolve as Pending['resolve'], reject)
      p.emitErrors = emitErrors
      this.transmit(p)
    })
  }

  private pendingFor(
    frame: Outgoing,
    expect: readonly ServerFrameType[],
    resolve: Pending['resolve'],
    reject: Pending['reject'],
  ): Pending {
    const ref = `c${++this.nextRef}`
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
    p.timer = this.clock.setTimeout(() => this.expire(p), this.requestTimeoutMs)
    return p
  }

  private transmit(p: Pending): void {
    this.pending.set(p.ref, p)
    if (p.echoRoom !== undefined) {
      const queue = this.echoes.get(p.echoRoom)
      if (queue) queue.push(p)
      else this.echoes.set(p.echoRoom, [p])
    }
    this.write(p.frame)
  }

  private write(frame: Outgoing): void {
    try {
      this.ws?.send(JSON.stringify(frame))
    } catch {
      // A socket that is closing: its close event follows and settles what is pending.
    }
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

  private settle(p: Pending, frame: ServerFrame): void {
    this.unregister(p)
    if (p.done) return
    p.done = true
    p.resolve(frame)
  }

  private fail(p: Pending, error: ChatRequestError): void {
    this.unregister(p)
    if (p.done) return
    p.done = true
    p.reject(error)
  }

  private expire(p: Pending): void {
    p.timer = undefined
    const room = typeof p.frame.room === 'string' ? p.frame.room : undefined
    const error = new ChatRequestError(
      'timeout',
      `No answer to "${p.frame.action}" within ${this.requestTimeoutMs} ms`,
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

  // ── Connection ───────────────────────────────────────────────────────────────

  private setState(state: ConnectionState): void {
    if (this.current === state) return
    this.current = state
    this.events.emit('state', state)
  }

  private openSocket(): void {
    let ws: WebSocket
    try {
      ws = new this.WebSocketClass(this.url)
    } catch (error) {
      this.stop(new ChatRequestError('closed', `Cannot open ${this.url}: ${String(error)}`))
      return
    }
    this.ws = ws
    this.welcomed = false
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = undefined
      if (this.ws === ws) this.drop(1006, 'No welcome from the server in time')
    }, this.requestTimeoutMs)
    ws.onmessage = (event) => {
      if (this.ws === ws) this.receive(ws, event.data)
    }
    ws.onclose = (event) => {
      if (this.ws === ws) this.drop(event.code, event.reason)
    }
    // An error is always followed by a close event, which carries the code.
    ws.onerror = () => {}
  }

  private detach(): void {
    const ws = this.ws
    this.ws = undefined
    this.welcomed = false
    this.resuming = undefined
    this.clearTimer('connectTimer')
    this.clearTimer('heartbeatTimer')
    if (!ws) return
    ws.onmessage = null
    ws.onclose = null
    ws.onerror = null
    try {
      ws.close(1000)
    } catch {
      // Already closed.
    }
  }

  private clearTimer(key: 'connectTimer' | 'heartbeatTimer' | 'reconnectTimer'): void {
    if (this[key] !== undefined) this.clock.clearTimeout(this[key])
    this[key] = undefined
  }

  /** The connection ended (closed, or given up on): settle what it carried, then retry. */
  private drop(code: number, reason: string): void {
    this.detach()
    const lost = new ChatRequestError(
      'disconnected',
      `The connection closed before the answer (${code}${reason ? ` ${reason}` : ''})`,
    )
    for (const p of [...this.pending.values()]) this.fail(p, lost)
    this.echoes.clear()
    const terminal = code === CLOSE.replaced
    // In no room for too long: come back only for a request that waits.
    const idle = code === CLOSE.idle && this.outbox.length === 0
    this.events.emit('disconnect', { code, reason, reconnect: !terminal && !idle })
    // A handler may have closed the client.
    if (this.stopped) return
    if (terminal) {
      this.stop(new ChatRequestError('closed', 'This session was resumed on another connection'))
      return
    }
    if (idle) {
      // In no room: nothing to keep. The next request connects again.
      this.memberships.clear()
      this.credentials.clear()
      this.setState('closed')
      return
    }
    this.scheduleReconnect(code)
  }

  private scheduleReconnect(code: number): void {
    let delay: number
    if (this.shutdownHintMs !== undefined) {
      // The server spread its clients' returns itself: honour its delay exactly.
      delay = this.shutdownHintMs
      this.shutdownHintMs = undefined
    } else if (code === CLOSE.policy) {
      delay = this.maxDelayMs
    } else {
      delay = backoffDelay(this.attempt, this.minDelayMs, this.maxDelayMs, this.random)
    }
    this.attempt++
    this.setState(this.everOpened ? 'reconnecting' : 'connecting')
    this.clearTimer('reconnectTimer')
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined
      this.openSocket()
    }, delay)
  }

  /** Ends everything: no reconnect; waiting requests and `connect()` reject with `error`. */
  private stop(error: ChatRequestError, code?: number, reason?: string): void {
    const hadSocket = this.ws !== undefined
    this.stopped = true
    this.clearTimer('reconnectTimer')
    this.detach()
    for (const p of [...this.outbox, ...this.pending.values()]) this.fail(p, error)
    this.echoes.clear()
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error)
    this.memberships.clear()
    this.credentials.clear()
    this.rejoinRecovered.clear()
    this.shutdownHintMs = undefined
    if (hadSocket && code !== undefined) {
      this.events.emit('disconnect', { code, reason: reason ?? '', reconnect: false })
    }
    this.setState('closed')
  }

  private startHeartbeat(ws: WebSocket): void {
    if (this.heartbeatIntervalMs <= 0) return
    this.silentTicks = 0
    const tick = () => {
      this.heartbeatTimer = undefined
      if (this.ws !== ws) return
      if (this.silentTicks >= 2) {
        this.drop(1006, `No frame from the server for ${2 * this.heartbeatIntervalMs} ms`)
        return
      }
      this.silentTicks++
      this.write({ action: 'ping' })
      this.heartbeatTimer = this.clock.setTimeout(tick, this.heartbeatIntervalMs)
    }
    this.heartbeatTimer = this.clock.setTimeout(tick, this.heartbeatIntervalMs)
  }

  /** The connection is ready for requests: send what waited. */
  private markOpen(): void {
    this.attempt = 0
    this.everOpened = true
    this.setState('open')
    for (const p of this.outbox.splice(0)) this.transmit(p)
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve()
  }

  /**
   * After a reconnect: resume the old session with the last id seen per room, or, if the
   * server no longer knows it, join each room again. Open once every room is settled.
   */
  private async recover(ws: WebSocket): Promise<void> {
    let recovered = true
    let resumed = false
    try {
      let missing = [...this.memberships.keys()]
      if (missing.length > 0 && this.resumeToken !== undefined) {
        const state = {
          ref: `c${++this.nextRef}`,
          failed: false,
          answered: new Set<string>(),
          recovered: true,
        }
        this.resuming = state
        const lastIds = Object.fromEntries(
          [...this.memberships.values()].flatMap((m) =>
            m.lastId === undefined ? [] : [[m.room, m.lastId]],
          ),
        )
        this.write({
          action: 'resume',
          session: this.resumeToken,
          last_ids: lastIds,
          ref: state.ref,
        })
        // The server answers frames in order: the pong to a ping sent behind the resume
        // comes after every `resumed` and every replayed message.
        await this.internal({ action: 'ping' }, ['pong'])
        if (this.resuming === state) this.resuming = undefined
        if (!state.failed) {
          resumed = true
          recovered = state.recovered
          missing = missing.filter(
            (room) => this.memberships.has(room) && !state.answered.has(room),
          )
        } else missing = [...this.memberships.keys()]
      }
      const results = await Promise.all(missing.map((room) => this.rejoin(room)))
      if (results.includes(false)) recovered = false
    } catch (error) {
      if (this.ws === ws)
        this.drop(1006, `Could not restore the rooms: ${(error as Error).message}`)
      return
    }
    if (this.ws !== ws) return
    this.markOpen()
    this.events.emit('reconnected', { recovered, resumed })
  }

  /** Joins a room again under the same name; false if refused (the room is then dropped). */
  private async rejoin(room: string): Promise<boolean> {
    const membership = this.memberships.get(room)
    if (!membership) return true
    const credentials = this.credentials.get(room) ?? {}
    try {
      await this.internal(
        { action: 'join', room, username: membership.username, ...credentials },
        ['joined'],
        true,
      )
      return this.rejoinRecovered.get(room) ?? true
    } catch (error) {
      const code = (error as ChatRequestError).code
      if (code === 'timeout' || code === 'disconnected' || code === 'closed') throw error
      this.forgetRoom(room)
      return false
    }
  }

  // ── Inbound frames ───────────────────────────────────────────────────────────

  private receive(ws: WebSocket, data: unknown): void {
    if (typeof data !== 'string') return
    let frame: unknown
    try {
      frame = JSON.parse(data)
    } catch {
      return
    }
    if (typeof frame !== 'object' || frame === null) return
    if (typeof (frame as { type?: unknown }).type !== 'string') return
    this.onFrame(ws, frame as ServerFrame)
  }

  private onFrame(ws: WebSocket, frame: ServerFrame): void {
    this.silentTicks = 0
    const ref = 'ref' in frame && frame.ref !== undefined ? String(frame.ref) : undefined
    let replay: (MessageFrame | SystemFrame)[] = []
    switch (frame.type) {
      case 'welcome':
        if (this.welcomed) return
        this.onWelcome(ws, frame.session)
        break
      case 'message':
      case 'system':
        if (!this.firstSight(frame)) return
        if (frame.type === 'message') this.matchEcho(frame)
        break
      case 'joined':
        replay = this.onJoined(frame, ref)
        break
      case 'resumed':
        this.onResumed(frame)
        break
      case 'left':
      case 'kicked':
      case 'banned':
        this.forgetRoom(frame.room)
        break
      case 'shutdown':
        this.shutdownHintMs = frame.reconnect_in_ms
        break
      case 'error':
        if (this.onError(frame, ref)) return
        break
    }
    if (ref !== undefined && frame.type !== 'error') {
      const p = this.pending.get(ref)
      if (p?.expect.includes(frame.type)) this.settle(p, frame)
    }
    this.events.emit(frame.type, frame as never)
    if (frame.type === 'welcome' && this.ws === ws) {
      if (this.everOpened) void this.recover(ws)
      else this.markOpen()
    }
    for (const f of replay) if (this.ws === ws) this.onFrame(ws, f)
  }

  private onWelcome(ws: WebSocket, session: string): void {
    this.welcomed = true
    this.session = session
    this.clearTimer('connectTimer')
    this.startHeartbeat(ws)
  }

  /** Whether a message or system note is new in its room; records it as the last seen. */
  private firstSight(frame: MessageFrame | SystemFrame): boolean {
    const membership = this.memberships.get(frame.room)
    if (!membership) return true
    if (membership.lastId !== undefined && compareIds(frame.id, membership.lastId) <= 0) {
      return false
    }
    membership.lastId = frame.id
    return true
  }

  /** The server sends our own message back to us: that settles the oldest `send` there. */
  private matchEcho(frame: MessageFrame): void {
    if (this.memberships.get(frame.room)?.username !== frame.sender) return
    const p = this.echoes.get(frame.room)?.[0]
    if (p) this.settle(p, frame)
  }

  /**
   * Files the room. For a room we were already in (joined again after the session was
   * lost), returns the messages in its history we had not seen, to deliver after it.
   */
  private onJoined(frame: JoinedFrame, ref: string | undefined): (MessageFrame | SystemFrame)[] {
    this.resumeToken = this.session
    const p = ref === undefined ? undefined : this.pending.get(ref)
    if (p?.credentials) {
      this.credentials.set(frame.room, {
        password: p.credentials.password,
        token: p.credentials.token ?? frame.moderator_token,
      })
    }
    const known = this.memberships.get(frame.room)
    const newest = frame.history.at(-1)?.id
    const membership: RoomMembership = {
      room: frame.room,
      username: frame.username,
      moderator: frame.moderator,
      lastId: newest,
    }
    this.memberships.set(frame.room, membership)
    if (!known) return []
    const seen = known.lastId
    if (seen === undefined) {
      membership.lastId = undefined
      this.rejoinRecovered.set(frame.room, true)
      return frame.history.map(liveFrame)
    }
    if (newest === undefined || compareIds(newest, seen) < 0) {
      // The room is newer than what we saw (the server restarted): its sequence began
      // again, so all of it is new, and what came after `seen` in the old one is gone.
      membership.lastId = undefined
      this.rejoinRecovered.set(frame.room, false)
      return frame.history.map(liveFrame)
    }
    membership.lastId = seen
    const unseen = frame.history.filter((m) => compareIds(m.id, seen) > 0)
    const first = frame.history[0]
    this.rejoinRecovered.set(frame.room, first === undefined || follows(first.id, seen))
    return unseen.map(liveFrame)
  }

  private onResumed(frame: FrameOf<'resumed'>): void {
    this.resumeToken = this.session
    const known = this.memberships.get(frame.room)
    this.memberships.set(frame.room, {
      room: frame.room,
      username: frame.username,
      moderator: frame.moderator,
      lastId: known?.lastId,
    })
    const resuming = this.resuming
    if (resuming && String(frame.ref) === resuming.ref) {
      resuming.answered.add(frame.room)
      if (!frame.recovered) resuming.recovered = false
    }
  }

  /** Returns true when the error was consumed (it rejected a request; no event). */
  private onError(frame: ErrorFrame, ref: string | undefined): boolean {
    if (ref === undefined) return false
    const resuming = this.resuming
    if (resuming && ref === resuming.ref) {
      if (frame.room !== undefined) {
        // Removed while away (banned, kicked, or the room was deleted): tell the consumer.
        this.forgetRoom(frame.room)
        resuming.answered.add(frame.room)
        return false
      }
      // Unknown or expired session: the rooms are joined again instead.
      resuming.failed = true
      this.resumeToken = undefined
      return true
    }
    const p = this.pending.get(ref)
    if (!p) return false
    const late = p.done
    this.fail(p, new ChatRequestError(frame.code, frame.message, frame.room))
    return late || !p.emitErrors
  }

  private forgetRoom(room: string): void {
    this.memberships.delete(room)
    this.credentials.delete(room)
    this.rejoinRecovered.delete(room)
  }
}
