/**
 * Delivers events to one webhook URL, signed as Standard Webhooks, at least once: each
 * event is retried with backoff until the receiver answers 2xx, the retry window ends, the
 * receiver answers 410 Gone, or shutdown's deadline passes. An event is never lost without
 * being counted in `dropped`, reported to `onDrop` and logged.
 *
 * Order: events start in the order they were enqueued, up to `concurrency` (default 4) at
 * once. An event waiting for its retry keeps its slot, so a receiver that is down sees at
 * most `concurrency` requests per backoff step instead of the whole queue; the price is
 * that a later event may overtake one being retried. Receivers that care about order
 * should sort by the body's `timestamp` (the spec makes no promise of order either).
 */
import { type Clock, systemClock } from '../domain/clock.ts'
import { type AttemptResult, attempt, type FetchLike } from './attempt.ts'
import {
  newWebhookId,
  WEBHOOK_EVENT_TYPES,
  type WebhookEvent,
  type WebhookEventType,
  webhookBody,
} from './events.ts'
import { backoffMs } from './retry.ts'
import { type WebhookSigner, webhookSigner } from './signing.ts'
import { sleep } from './wait.ts'
import type {
  AttemptReport,
  DropReason,
  WebhookSenderOptions,
  WebhookSenderState,
  WebhookSettings,
} from './webhook-settings.ts'

/**
 * @example
 * const webhooks = new WebhookSender({ url, secret, events: ['message.created'] }, { logger })
 * webhooks.enqueue('message.created', { room: 'general', id: 42 })
 * await webhooks.drain(5000) // on shutdown
 */
export class WebhookSender {
  private readonly sign: WebhookSigner
  private readonly events: ReadonlySet<WebhookEventType>
  private readonly queueLimit: number
  private readonly clock: Clock
  private readonly fetch: FetchLike
  private readonly concurrency: number
  private readonly timeoutMs: number
  private readonly retryWindowMs: number
  /** Waiting for a slot, oldest first. */
  private readonly queue: WebhookEvent[] = []
  /** Holding a slot: being sent or waiting for a retry. Left by delivery or drop. */
  private readonly active = new Set<WebhookEvent>()
  /** Aborted when nothing more may be sent: wakes every wait, cancels every request. */
  private readonly stop = new AbortController()
  /** No attempt starts before this (ms since the epoch), after a `Retry-After`. */
  private pausedUntil = 0
  private currentState: WebhookSenderState = 'open'
  private drainDone: (() => void) | undefined
  private drainPromise: Promise<void> | undefined
  private deliveredTotal = 0
  private droppedTotal = 0

  /** Throws a plain `Error`, without the secret or the URL, when either is unusable. */
  constructor(
    private readonly settings: WebhookSettings,
    private readonly options: WebhookSenderOptions,
  ) {
    const protocol = URL.parse(settings.url)?.protocol
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new Error('The webhook URL must be an http(s) URL')
    }
    this.sign = webhookSigner(settings.secret)
    this.events = new Set(settings.events ?? WEBHOOK_EVENT_TYPES)
    this.queueLimit = settings.queueLimit ?? 10_000
    this.clock = options.clock ?? systemClock
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init))
    this.concurrency = Math.max(1, options.concurrency ?? 4)
    this.timeoutMs = options.attemptTimeoutMs ?? 10_000
    this.retryWindowMs = options.retryWindowMs ?? 3_600_000
  }

  /** Events not yet delivered nor dropped: queued, being sent or waiting for a retry. */
  get pending(): number {
    return this.queue.length + this.active.size
  }

  /** Events given up so far, for every reason. */
  get dropped(): number {
    return this.droppedTotal
  }

  /** Events the receiver accepted (2xx) so far. */
  get delivered(): number {
    return this.deliveredTotal
  }

  get state(): WebhookSenderState {
    return this.currentState
  }

  /** Whether events of `type` are sent (WEBHOOK_EVENTS); others are ignored by `enqueue`. */
  wants(type: WebhookEventType): boolean {
    return this.events.has(type)
  }

  /**
   * Queues an event; true when it was queued. An event whose type is not in `events` is
   * ignored (false, not a drop). When `queueLimit` events are pending, or after a 410 or
   * drain, the event is dropped: counted, reported and logged. Never throws.
   */
  enqueue(type: WebhookEventType, data: unknown): boolean {
    if (!this.events.has(type)) return false
    if (this.currentState === 'gone') {
      // Said once at warn when the 410 came; one line per later event would be noise.
      this.options.logger.debug('webhook endpoint is gone; event dropped', { type })
      return this.countDrop(type, 'gone')
    }
    if (this.currentState === 'closed') {
      this.options.logger.warn('webhook sender is closed; event dropped', { type })
      return this.countDrop(type, 'shutdown')
    }
    if (this.pending >= this.queueLimit) {
      this.options.logger.warn('webhook queue full; event dropped', {
        type,
        queueLimit: this.queueLimit,
      })
      return this.countDrop(type, 'queue_full')
    }
    let body: string
    try {
      body = webhookBody(type, this.clock.now(), data)
    } catch (err) {
      this.options.logger.error('webhook data is not JSON; event dropped', {
        type,
        error: String(err),
      })
      return this.countDrop(type, 'unserializable')
    }
    this.queue.push({ id: newWebhookId(), type, body })
    this.pump()
    return true
  }

  /**
   * Shutdown: keeps sending (retries included) until everything pending is delivered or
   * `timeoutMs` has passed on the clock, whichever is first. Then every event still unsent
   * is dropped with reason `shutdown` and logged in one warn line (count and types), and
   * nothing more is sent. Events enqueued while draining are still sent if time allows.
   * Calling it again returns the same promise.
   */
  drain(timeoutMs: number): Promise<void> {
    if (this.drainPromise) return this.drainPromise
    if (this.currentState !== 'open') return Promise.resolve()
    this.currentState = 'draining'
    this.drainPromise = new Promise<void>((resolve) => {
      const deadline = this.clock.setTimeout(() => this.halt('shutdown'), timeoutMs)
      this.drainDone = () => {
        this.clock.clearTimeout(deadline)
        if (this.currentState === 'draining') this.currentState = 'closed'
        this.stop.abort()
        resolve()
      }
    })
    this.finishDrainIfIdle()
    return this.drainPromise
  }

  /** Gives free slots to the oldest queued events. */
  private pump(): void {
    while (this.active.size < this.concurrency && this.queue.length > 0) {
      const event = this.queue.shift() as WebhookEvent
      this.active.add(event)
      this.deliver(event)
        .catch((err: unknown) => {
          this.options.logger.error('webhook delivery failed', { error: String(err) })
        })
        .finally(() => this.pump())
    }
  }

  /** Attempts `event` until it is delivered, given up, or dropped by `halt`. */
  private async deliver(event: WebhookEvent): Promise<void> {
    let firstAttemptAt: number | undefined
    for (let n = 1; ; n++) {
      await this.waitForPause()
      // `halt` may have dropped the event while we waited.
      if (!this.active.has(event)) return
      firstAttemptAt ??= this.clock.now()
      const headers = this.sign(event.id, Math.floor(this.clock.now() / 1000), event.body)
      const result = await attempt(
        this.settings.url,
        { headers, body: event.body },
        { fetch: this.fetch, clock: this.clock, timeoutMs: this.timeoutMs, stop: this.stop.signal },
      )
      if (!this.active.has(event)) return
      if (result.kind === 'delivered') return this.settleDelivered(event, n, result.status)
      if (result.kind === 'gone') {
        this.report(event, n, result, 'gone')
        return this.halt('gone')
      }
      // "At least an hour": the window is checked after a failure, so the last attempt
      // happens at or after its end, never before.
      if (this.clock.now() - firstAttemptAt >= this.retryWindowMs) {
        this.report(event, n, result, 'failed')
        return this.giveUp(event, n)
      }
      await this.retryLater(event, n, result)
    }
  }

  /** Schedules the next attempt, reports this one, and waits. */
  private retryLater(event: WebhookEvent, n: number, result: AttemptResult): Promise<void> {
    const retryAfterMs = 'retryAfterMs' in result ? result.retryAfterMs : undefined
    // Never sooner than the receiver asked, nor than our own backoff: a `Retry-After: 0`
    // on every answer must not turn into a tight loop.
    const delay = Math.max(backoffMs(n, this.options.random ?? Math.random), retryAfterMs ?? 0)
    if (retryAfterMs !== undefined) {
      // A Retry-After (429, 503) speaks for the endpoint, not this event: hold back every
      // other attempt too.
      this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + retryAfterMs)
    }
    // The timer is set before the report, so whoever hears it can advance a fake clock.
    const wait = this.wait(delay)
    this.report(event, n, result, 'failed', delay)
    return wait
  }

  private async waitForPause(): Promise<void> {
    while (this.clock.now() < this.pausedUntil && !this.stop.signal.aborted) {
      await this.wait(this.pausedUntil - this.clock.now())
    }
  }

  /** Waits on the clock; returns early when the sender stops. */
  private wait(ms: number): Promise<void> {
    return sleep(this.clock, ms, this.stop.signal)
  }

  private settleDelivered(event: WebhookEvent, n: number, status: number): void {
    this.active.delete(event)
    this.deliveredTotal++
    this.report(event, n, { kind: 'delivered', status }, 'delivered')
    this.finishDrainIfIdle()
  }

  private giveUp(event: WebhookEvent, attempts: number): void {
    this.active.delete(event)
    this.options.logger.warn('webhook event given up after retrying', {
      id: event.id,
      type: event.type,
      attempts,
      retryWindowMs: this.retryWindowMs,
    })
    this.countDrop(event.type, 'expired')
    this.finishDrainIfIdle()
  }

  /**
   * Stops for good: a 410, or the drain deadline. Every pending event is dropped at once
   * and logged in one line; waits wake up and requests are aborted.
   */
  private halt(reason: 'gone' | 'shutdown'): void {
    if (this.currentState === 'gone' || this.currentState === 'closed') return
    if (reason === 'gone') {
      this.currentState = 'gone'
      this.options.logger.warn('webhook endpoint answered 410 Gone; no more webhooks are sent')
    }
    const lost = [...this.active, ...this.queue.splice(0)]
    this.active.clear()
    this.stop.abort()
    const types: Partial<Record<WebhookEventType, number>> = {}
    for (const event of lost) {
      types[event.type] = (types[event.type] ?? 0) + 1
      this.countDrop(event.type, reason)
    }
    if (lost.length > 0) {
      this.options.logger.warn('webhook events dropped unsent', {
        reason,
        count: lost.length,
        types,
      })
    }
    this.drainDone?.()
  }

  private finishDrainIfIdle(): void {
    if (this.currentState === 'draining' && this.pending === 0) this.drainDone?.()
  }

  /** Counts one dropped event and tells `onDrop`; returns false for `enqueue`. */
  private countDrop(type: WebhookEventType, reason: DropReason): false {
    this.droppedTotal++
    this.safely(() => this.options.onDrop?.(type, reason))
    return false
  }

  private report(
    event: WebhookEvent,
    n: number,
    result: AttemptResult,
    outcome: AttemptReport['outcome'],
    retryInMs?: number,
  ): void {
    const report: AttemptReport = {
      id: event.id,
      type: event.type,
      attempt: n,
      outcome,
      ...('status' in result ? { status: result.status } : { error: result.error }),
      ...(retryInMs === undefined ? {} : { retryInMs }),
    }
    if (outcome === 'failed') this.options.logger.debug('webhook attempt failed', { ...report })
    this.safely(() => this.options.onAttempt?.(report))
  }

  /** Runs a caller's hook; a hook that throws is logged and must not stop delivery. */
  private safely(hook: () => void): void {
    try {
      hook()
    } catch (err) {
      this.options.logger.error('webhook hook threw', { error: String(err) })
    }
  }
}
