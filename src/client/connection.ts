/**
 * One ChatClient's socket over its life: opening it, the wait for `welcome`, the heartbeat
 * that notices a silent server, closing it, and the timed reopen after a drop (with the
 * backoff of reconnection.ts). What a drop means for requests and rooms is ChatClient's.
 */
import type { ResolvedOptions } from './options.ts'
import { reconnectDelay } from './reconnection.ts'
import type { Outgoing } from './requests.ts'
import { ChatRequestError } from './types.ts'

/** What the connection tells its client. */
export interface ConnectionHooks {
  /** A frame arrived on the current socket. */
  received(ws: WebSocket, data: unknown): void
  /** The current socket closed, or was given up on (no `welcome` in time, a silent server). */
  dropped(code: number, reason: string): void
  /** No socket could be made at all (a URL the WebSocket class refuses). */
  failed(error: ChatRequestError): void
}

export class Connection {
  private ws: WebSocket | undefined
  private welcomed = false
  private attempt = 0
  private shutdownHintMs: number | undefined
  /** Heartbeat ticks since the last frame from the server. */
  private silentTicks = 0
  private connectTimer: unknown
  private heartbeatTimer: unknown
  private reconnectTimer: unknown

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly hooks: ConnectionHooks,
  ) {}

  /** Whether a socket is open or opening. */
  get attached(): boolean {
    return this.ws !== undefined
  }

  /** Whether `ws` is still the connection's socket (not one closed or replaced since). */
  isCurrent(ws: WebSocket): boolean {
    return this.ws === ws
  }

  /** Opens a socket; without a `welcome` within the request timeout it counts as dropped. */
  open(): void {
    let ws: WebSocket
    try {
      ws = new this.opts.WebSocketClass(this.opts.url)
    } catch (error) {
      this.hooks.failed(
        new ChatRequestError('closed', `Cannot open ${this.opts.url}: ${String(error)}`),
      )
      return
    }
    this.ws = ws
    this.welcomed = false
    this.connectTimer = this.opts.clock.setTimeout(() => {
      this.connectTimer = undefined
      if (this.ws === ws) this.hooks.dropped(1006, 'No welcome from the server in time')
    }, this.opts.requestTimeoutMs)
    ws.onmessage = (event) => {
      if (this.ws === ws) this.hooks.received(ws, event.data)
    }
    ws.onclose = (event) => {
      if (this.ws === ws) this.hooks.dropped(event.code, event.reason)
    }
    // An error is always followed by a close event, which carries the code.
    ws.onerror = () => {}
  }

  write(frame: Outgoing): void {
    try {
      this.ws?.send(JSON.stringify(frame))
    } catch {
      // A socket that is closing: its close event follows and settles what is pending.
    }
  }

  /** Any frame from the server: it is alive. */
  heard(): void {
    this.silentTicks = 0
  }

  /**
   * The server's `welcome` on `ws`: the heartbeat starts. False for a second `welcome` on
   * the same socket, which is ignored.
   */
  welcome(ws: WebSocket): boolean {
    if (this.welcomed) return false
    this.welcomed = true
    this.clearTimer('connectTimer')
    this.startHeartbeat(ws)
    return true
  }

  /** The server is shutting down and said when to come back (`shutdown`). */
  hintShutdown(reconnectInMs: number): void {
    this.shutdownHintMs = reconnectInMs
  }

  /** A connection opened, or a new run starts: the backoff starts again from the first step. */
  resetAttempts(): void {
    this.attempt = 0
  }

  /** Closes the socket, if any, without telling anyone: its handlers are taken off first. */
  detach(): void {
    const ws = this.ws
    this.ws = undefined
    this.welcomed = false
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

  /** The wait before the next attempt after a close with `code`; counts the attempt. */
  nextDelay(code: number): number {
    const delay = reconnectDelay(code, this.attempt, this.shutdownHintMs, {
      minDelayMs: this.opts.minDelayMs,
      maxDelayMs: this.opts.maxDelayMs,
      random: this.opts.random,
    })
    this.shutdownHintMs = undefined
    this.attempt++
    return delay
  }

  /** Opens a new socket in `delayMs` (replacing a reopen already planned). */
  reopenIn(delayMs: number): void {
    this.clearTimer('reconnectTimer')
    this.reconnectTimer = this.opts.clock.setTimeout(() => {
      this.reconnectTimer = undefined
      this.open()
    }, delayMs)
  }

  /** No reopen after all (the client stops): a planned one is cancelled, the hint forgotten. */
  cancelReopen(): void {
    this.clearTimer('reconnectTimer')
    this.shutdownHintMs = undefined
  }

  private startHeartbeat(ws: WebSocket): void {
    if (this.opts.heartbeatIntervalMs <= 0) return
    this.silentTicks = 0
    const tick = () => {
      this.heartbeatTimer = undefined
      if (this.ws !== ws) return
      if (this.silentTicks >= 2) {
        this.hooks.dropped(
          1006,
          `No frame from the server for ${2 * this.opts.heartbeatIntervalMs} ms`,
        )
        return
      }
      this.silentTicks++
      this.write({ action: 'ping' })
      this.heartbeatTimer = this.opts.clock.setTimeout(tick, this.opts.heartbeatIntervalMs)
    }
    this.heartbeatTimer = this.opts.clock.setTimeout(tick, this.opts.heartbeatIntervalMs)
  }

  private clearTimer(key: 'connectTimer' | 'heartbeatTimer' | 'reconnectTimer'): void {
    if (this[key] !== undefined) this.opts.clock.clearTimeout(this[key])
    this[key] = undefined
  }
}
