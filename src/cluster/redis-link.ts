/**
 * The node's two connections to Redis: one for commands and scripts, one for pub/sub.
 *
 * Chosen behaviour (see docs/deployment.md): no offline queue and no retry of a command
 * that was in flight when the connection broke, so a frame is refused (`unavailable`)
 * rather than queued without bound or applied twice; reconnect forever with capped,
 * jittered backoff; the pub/sub connection resubscribes by itself (ioredis), and a probe
 * through our own channel catches a subscriber that is connected but deaf.
 */
import Redis, { type RedisOptions } from 'ioredis'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import type { Logger } from '../domain/ports.ts'
import { ChatError } from '../protocol/errors.ts'
import { SCRIPTS, type ScriptName } from './scripts.ts'

/** Longest a command may take before it counts as failed. */
const COMMAND_TIMEOUT_MS = 2000
const BACKOFF_MIN_MS = 50
const BACKOFF_MAX_MS = 2000

export interface LinkEvents {
  /** Both connections are ready again after being down (or for the first time). */
  up(): void
  down(): void
  /** A pub/sub message on any channel this link subscribed to. */
  message(channel: string, text: string): void
}

export interface LinkMetrics {
  redisUp(up: boolean): void
  redisCommandFailed(): void
  redisMessageReceived(): void
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>

function retry(times: number): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(times, 10))
  return Math.floor(cap / 2 + Math.random() * (cap / 2))
}

export class RedisLink {
  readonly cmd: Redis
  readonly sub: Redis
  private cmdReady = false
  private subReady = false
  private upNow = false
  private closed = false
  private probeTimer: TimerHandle | undefined
  private probeSent = 0
  private probeSeen = 0

  constructor(
    url: string,
    private readonly probeChannel: string,
    private readonly probeIntervalMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events: LinkEvents,
    private readonly metrics: LinkMetrics,
  ) {
    const options: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: retry,
      lazyConnect: true,
    }
    this.cmd = new Redis(url, options)
    // The subscriber queues SUBSCRIBEs made while it reconnects (bounded by the rooms this
    // node serves) and resubscribes every channel by itself once connected.
    this.sub = new Redis(url, {
      ...options,
      enableOfflineQueue: true,
      commandTimeout: undefined,
      autoResubscribe: true,
    })
    for (const [name, spec] of Object.entries(SCRIPTS)) this.cmd.defineCommand(name, spec)
    this.cmd.on('ready', () => this.setReady('cmd', true))
    this.sub.on('ready', () => this.setReady('sub', true))
    this.cmd.on('close', () => this.setReady('cmd', false))
    this.sub.on('close', () => this.setReady('sub', false))
    // ioredis logs unhandled 'error' events to the console; they are reported as down/up.
    this.cmd.on('error', () => {})
    this.sub.on('error', () => {})
    this.sub.on('message', (channel: string, text: string) => {
      this.metrics.redisMessageReceived()
      if (channel === this.probeChannel && text.startsWith('probe|')) {
        this.probeSeen = Math.max(this.probeSeen, Number(text.slice(6)) || 0)
        return
      }
      this.events.message(channel, text)
    })
  }

  /** Starts connecting (in the background, retrying for ever) and the deafness probe. */
  start(): void {
    this.cmd.connect().catch(() => {})
    this.sub.connect().catch(() => {})
    void this.sub.subscribe(this.probeChannel).catch(() => {})
    this.scheduleProbe()
  }

  get isUp(): boolean {
    return this.upNow
  }

  private setReady(which: 'cmd' | 'sub', ready: boolean): void {
    if (which === 'cmd') this.cmdReady = ready
    else this.subReady = ready
    const up = this.cmdReady && this.subReady && !this.closed
    if (up === this.upNow) return
    this.upNow = up
    this.metrics.redisUp(up)
    if (up) {
      this.logger.info('redis connected')
      this.events.up()
    } else {
      if (!this.closed) this.logger.warn('redis unreachable; retrying')
      this.events.down()
    }
  }

  /**
   * A pub/sub connection can come back without its subscriptions, or stop hearing while
   * it looks connected: a probe through our own channel that does not return by the next
   * round restarts it (ioredis then resubscribes every channel).
   */
  private scheduleProbe(): void {
    this.probeTimer = this.clock.setTimeout(() => {
      if (this.closed) return
      if (this.upNow && this.probeSent > 0 && this.probeSeen < this.probeSent) {
        this.logger.warn('redis subscriber deaf: reconnecting it', { probe: this.probeSent })
        this.probeSeen = this.probeSent
        this.sub.disconnect(true)
      } else if (this.upNow) {
        this.probeSent += 1
        this.cmd.publish(this.probeChannel, `probe|${this.probeSent}`).catch(() => {})
      }
      this.scheduleProbe()
    }, this.probeIntervalMs)
  }

  /** Runs a script; a Redis that is out of reach becomes a retryable `unavailable`. */
  async script(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    const fn = (this.cmd as unknown as Record<ScriptName, ScriptFn>)[name]
    return this.call(() => fn.call(this.cmd, ...keys, ...args))
  }

  /** Runs any command through `fn`, mapping a connection failure to `unavailable`. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.upNow) {
      this.metrics.redisCommandFailed()
      throw new ChatError('unavailable')
    }
    try {
      return await fn()
    } catch (e) {
      this.metrics.redisCommandFailed()
      if (e instanceof ChatError) throw e
      const message = (e as Error).message ?? ''
      // A script error is a bug of ours, not an outage: let it surface as internal_error.
      if (/ERR .*script|user_script|NOSCRIPT/i.test(message)) throw e
      this.logger.warn('redis command failed', { error: message })
      throw new ChatError('unavailable')
    }
  }

  subscribe(channel: string): Promise<unknown> {
    return this.sub.subscribe(channel)
  }

  unsubscribe(channel: string): void {
    this.sub.unsubscribe(channel).catch(() => {})
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    await Promise.allSettled([this.cmd.quit(), this.sub.quit()])
    this.cmd.disconnect()
    this.sub.disconnect()
  }
}
