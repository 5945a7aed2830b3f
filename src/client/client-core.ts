/**
 * The client's connection machine, under ChatClient's chat verbs: the socket and its
 * reconnects, the session's resume, the requests waiting for their answers (by ref, by echo,
 * or by a matching frame), the inbound frames turned into events, the state. ChatClient
 * (chat-client.ts) adds the verbs, each a `request`.
 *
 * Dependency-free on purpose, as ChatClient is (only type imports from the protocol).
 */
import { Connection } from './connection.ts'
import { Emitter } from './emitter.ts'
import { parseServerFrame, type ResolvedOptions, resolveOptions } from './options.ts'
import { CLOSE, RoomRecovery } from './reconnection.ts'
import { type Credentials, type Outgoing, type Pending, Requests } from './requests.ts'
import { ClientSignIn } from './sign-in.ts'
import {
  type ChatClientOptions,
  type ChatEventHandler,
  type ChatEventName,
  ChatRequestError,
  type ConnectionState,
  type ErrorFrame,
  type MessageFrame,
  type ReconnectedInfo,
  type RoomMembership,
  type ServerFrame,
  type ServerFrameType,
  type SystemFrame,
} from './types.ts'

export class ClientCore {
  private readonly opts: ResolvedOptions

  private readonly events = new Emitter()
  protected current: ConnectionState = 'closed'
  /** Whether a connection of this run got to `open` (then a drop means `reconnecting`). */
  private everOpened = false
  /** Set by `close()` and by a 4001 close: no reconnect, requests are refused. */
  private stopped = false

  protected readonly connection: Connection
  private readonly requests: Requests
  protected readonly recovery: RoomRecovery
  private readonly signIn: ClientSignIn
  private connectWaiters: { resolve(): void; reject(error: Error): void }[] = []

  constructor(options: ChatClientOptions) {
    this.opts = resolveOptions(options)
    const clock = this.opts.clock
    this.connection = new Connection(this.opts, {
      received: (ws, data) => this.receive(ws, data),
      dropped: (code, reason) => this.drop(code, reason),
      failed: (error) => this.stop(error),
    })
    const write = (frame: Outgoing) => this.connection.write(frame)
    this.requests = new Requests(clock, this.opts.requestTimeoutMs, write)
    this.recovery = new RoomRecovery(this.requests, write)
    this.signIn = new ClientSignIn(options, clock, options.now ?? Date.now, (error) =>
      this.stop(error, 1000, 'Sign-in failed'),
    )
  }

  // ── Public API ───────────────────────────────────────────────────────────────

  /** The connection state; the `state` event tells each change. */
  get state(): ConnectionState {
    return this.current
  }

  /** The rooms this client is in, by room id. */
  get rooms(): ReadonlyMap<string, Readonly<RoomMembership>> {
    return this.recovery.memberships
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
      this.connection.resetAttempts()
      this.setState('connecting')
      this.connection.open()
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

  /** Adds an event handler; returns the function that removes it. */
  on<E extends ChatEventName>(event: E, handler: ChatEventHandler<E>): () => void {
    return this.events.on(event, handler)
  }

  off<E extends ChatEventName>(event: E, handler: ChatEventHandler<E>): void {
    this.events.off(event, handler)
  }

  // ── Requests ─────────────────────────────────────────────────────────────────

  /** Sends now if open, else queues (connecting first if idle); settles by ref or echo. */
  protected request<T extends ServerFrame>(
    frame: Outgoing,
    expect: readonly ServerFrameType[],
    extra: {
      echoRoom?: string
      credentials?: Credentials
      match?: (frame: ServerFrame) => boolean
    } = {},
  ): Promise<T> {
    if (this.stopped) {
      return Promise.reject(new ChatRequestError('closed', 'The client is closed'))
    }
    return new Promise<T>((resolve, reject) => {
      const p = this.requests.create(frame, expect, resolve as Pending['resolve'], reject)
      p.echoRoom = extra.echoRoom
      p.credentials = extra.credentials
      p.match = extra.match
      if (this.current === 'open') this.requests.transmit(p)
      else {
        this.requests.queue(p)
        // Idle (never connected, or closed by the server's 4000 timeout): connect for it.
        if (this.current === 'closed') this.connect().catch(() => {})
      }
    })
  }

  // ── Connection ───────────────────────────────────────────────────────────────

  private setState(state: ConnectionState): void {
    if (this.current === state) return
    this.current = state
    this.events.emit('state', state)
  }

  /** Closes the socket (connection.ts) and ends what belonged to it. */
  private detach(): void {
    this.connection.detach()
    this.recovery.detach()
    this.signIn.clear()
  }

  /** The connection ended (closed, or given up on): settle what it carried, then retry. */
  private drop(code: number, reason: string): void {
    this.detach()
    const lost = new ChatRequestError(
      'disconnected',
      `The connection closed before the answer (${code}${reason ? ` ${reason}` : ''})`,
    )
    this.requests.failSent(lost)
    // Replaced; disconnected by the app's backend (4403); or signed out (4401) with a token
    // that cannot be renewed.
    const terminal =
      code === CLOSE.replaced ||
      code === CLOSE.forbidden ||
      (code === CLOSE.unauthenticated && !this.signIn.renewable)
    // In no room for too long: come back only for a request that waits.
    const idle = code === CLOSE.idle && !this.requests.queued
    this.events.emit('disconnect', { code, reason, reconnect: !terminal && !idle })
    // A handler may have closed the client.
    if (this.stopped) return
    if (terminal) {
      this.stop(
        code === CLOSE.replaced
          ? new ChatRequestError('closed', 'This session was resumed on another connection')
          : code === CLOSE.forbidden
            ? new ChatRequestError('not_authorized', reason || 'Disconnected by the server')
            : new ChatRequestError('token_expired', 'Signed out, and no getToken to sign in again'),
      )
      return
    }
    if (idle) {
      // In no room: nothing to keep. The next request connects again.
      this.recovery.forgetRooms()
      this.setState('closed')
      return
    }
    this.scheduleReconnect(code)
  }

  private scheduleReconnect(code: number): void {
    const delay = this.connection.nextDelay(code)
    this.setState(this.everOpened ? 'reconnecting' : 'connecting')
    // A `state` handler may have closed the client: then nothing is reopened.
    if (this.stopped) return
    this.connection.reopenIn(delay)
  }

  /** Ends everything: no reconnect; waiting requests and `connect()` reject with `error`. */
  private stop(error: ChatRequestError, code?: number, reason?: string): void {
    const hadSocket = this.connection.attached
    this.stopped = true
    this.connection.cancelReopen()
    this.detach()
    this.requests.failAll(error)
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error)
    this.recovery.reset()
    if (hadSocket && code !== undefined) {
      this.events.emit('disconnect', { code, reason: reason ?? '', reconnect: false })
    }
    this.setState('closed')
  }

  /** The connection is ready for requests: send what waited. */
  private markOpen(): void {
    this.connection.resetAttempts()
    this.everOpened = true
    this.setState('open')
    this.requests.flush()
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve()
  }

  /** After a reconnect: get the rooms back (reconnection.ts), then open. */
  private async recover(ws: WebSocket): Promise<void> {
    let info: ReconnectedInfo
    try {
      info = await this.recovery.restore()
    } catch (error) {
      if (this.connection.isCurrent(ws))
        this.drop(1006, `Could not restore the rooms: ${(error as Error).message}`)
      return
    }
    if (!this.connection.isCurrent(ws)) return
    this.markOpen()
    this.events.emit('reconnected', info)
  }

  // ── Inbound frames ───────────────────────────────────────────────────────────

  private receive(ws: WebSocket, data: unknown): void {
    const frame = parseServerFrame(data)
    if (frame) this.onFrame(ws, frame)
  }

  private onFrame(ws: WebSocket, frame: ServerFrame): void {
    this.connection.heard()
    const ref = 'ref' in frame && frame.ref !== undefined ? String(frame.ref) : undefined
    let replay: (MessageFrame | SystemFrame)[] = []
    // The reply to our own `auth`: an error is the sign-in's to handle, not an event.
    if (frame.type === 'error' && this.signIn.onFrame(frame)) return
    if (frame.type === 'authenticated') this.signIn.onFrame(frame)
    switch (frame.type) {
      case 'welcome':
        if (!this.connection.welcome(ws)) return
        this.recovery.session = frame.session
        break
      case 'message':
      case 'system':
        if (!this.recovery.firstSight(frame)) return
        if (frame.type === 'message') this.matchEcho(frame)
        break
      case 'message_edited':
      case 'message_deleted':
      case 'reaction':
        if (!this.recovery.firstChange(frame)) return
        this.requests.settleMatch(frame)
        break
      case 'joined':
        replay = this.recovery.onJoined(
          frame,
          ref === undefined ? undefined : this.requests.get(ref),
        )
        break
      case 'resumed':
        this.recovery.onResumed(frame)
        break
      case 'left':
      case 'kicked':
      case 'banned':
      case 'room_deleted':
        this.recovery.forgetRoom(frame.room)
        break
      case 'shutdown':
        this.connection.hintShutdown(frame.reconnect_in_ms)
        break
      case 'error':
        if (this.onError(frame, ref)) return
        break
    }
    if (ref !== undefined && frame.type !== 'error') {
      const p = this.requests.get(ref)
      if (p?.expect.includes(frame.type)) this.requests.settle(p, frame)
    }
    this.events.emit(frame.type, frame as never)
    if (frame.type === 'welcome' && this.connection.isCurrent(ws)) this.afterWelcome(ws)
    for (const f of replay) if (this.connection.isCurrent(ws)) this.onFrame(ws, f)
  }

  /** A new connection: sign in first (when configured), then open, or get the rooms back. */
  private afterWelcome(ws: WebSocket): void {
    const proceed = () => {
      if (!this.connection.isCurrent(ws)) return
      if (this.everOpened) void this.recover(ws)
      else this.markOpen()
    }
    if (!this.signIn.enabled) {
      proceed()
      return
    }
    this.signIn
      .start((frame) => ws.send(JSON.stringify(frame)))
      .then(proceed, (error) => {
        if (!this.connection.isCurrent(ws)) return
        this.stop(error as ChatRequestError, 1000, 'Sign-in failed')
      })
  }

  /** The server sends our own message back to us: that settles the oldest `send` there. */
  private matchEcho(frame: MessageFrame): void {
    if (this.recovery.memberships.get(frame.room)?.username !== frame.sender) return
    this.requests.settleEcho(frame)
  }

  /** Returns true when the error was consumed (it rejected a request; no event). */
  private onError(frame: ErrorFrame, ref: string | undefined): boolean {
    if (ref === undefined) return false
    const resume = this.recovery.onResumeError(frame, ref)
    if (resume !== undefined) return resume
    const p = this.requests.get(ref)
    if (!p) return false
    const late = p.done
    this.requests.fail(p, new ChatRequestError(frame.code, frame.message, frame.room))
    return late || !p.emitErrors
  }
}
