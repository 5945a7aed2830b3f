/**
 * What a `WebhookSender` is given and what it tells: settings, tuning and hooks, and the
 * reports its hooks receive.
 */
import type { Clock } from '../domain/clock.ts'
import type { Logger } from '../domain/ports.ts'
import type { FetchLike } from './attempt.ts'
import type { WebhookEventType, WebhookId } from './events.ts'

/** The webhook settings, parsed and defaulted elsewhere (config). */
export interface WebhookSettings {
  /** Where events are POSTed (WEBHOOK_URL): http(s). */
  readonly url: string
  /** `whsec_` + base64 (WEBHOOK_SECRET); see `checkWebhookSecret`. */
  readonly secret: string
  /** The event types sent; others are ignored (WEBHOOK_EVENTS, default all). */
  readonly events?: Iterable<WebhookEventType>
  /** Events held at most, waiting or being sent (WEBHOOK_QUEUE_LIMIT, default 10000). */
  readonly queueLimit?: number
}

/** Why an event was given up. */
export type DropReason =
  /** `queueLimit` events were already pending. */
  | 'queue_full'
  /** Every attempt failed for the whole retry window. */
  | 'expired'
  /** The receiver answered 410 Gone: nothing more is sent to it. */
  | 'gone'
  /** Still unsent at the drain deadline, or enqueued after drain. */
  | 'shutdown'
  /** Its data could not be turned into JSON (a bug in the caller). */
  | 'unserializable'

/** One finished attempt, for metrics and tests. */
export interface AttemptReport {
  readonly id: WebhookId
  readonly type: WebhookEventType
  /** 1 for the first attempt of the event. */
  readonly attempt: number
  readonly outcome: 'delivered' | 'failed' | 'gone'
  /** The receiver's status, when it answered. */
  readonly status?: number
  /** Why there was no answer. */
  readonly error?: 'timeout' | 'network'
  /** When the event is retried: the wait before the next attempt, in ms. */
  readonly retryInMs?: number
}

/** Collaborators and tuning; every field but `logger` has a default. */
export interface WebhookSenderOptions {
  /** Never given the secret. */
  readonly logger: Logger
  readonly clock?: Clock
  /** Default: the global `fetch`. */
  readonly fetch?: FetchLike
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number
  /** Called for every event given up, e.g. to count drops by reason. */
  readonly onDrop?: (type: WebhookEventType, reason: DropReason) => void
  /** Called after every attempt, once any retry is scheduled. */
  readonly onAttempt?: (report: AttemptReport) => void
  /** One attempt may take this long, in ms (default 10000). */
  readonly attemptTimeoutMs?: number
  /** Requests in flight at most (default 4). */
  readonly concurrency?: number
  /** An event is retried until this long after its first attempt, in ms (default 1 h). */
  readonly retryWindowMs?: number
}

/** `open` and `draining` send; `gone` (after a 410) and `closed` (after drain) never will. */
export type WebhookSenderState = 'open' | 'draining' | 'gone' | 'closed'
