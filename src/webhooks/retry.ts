/**
 * What to do after an attempt: the HTTP status handling of the Standard Webhooks spec
 * ("Delivery success and failure"), the backoff between attempts and `Retry-After`.
 */

/** First backoff step, in ms; it doubles per failed attempt. */
export const BACKOFF_BASE_MS = 1000
/** Longest backoff step, in ms (5 min). */
export const BACKOFF_CAP_MS = 300_000
/** Longest wait a `Retry-After` may ask for, in ms (1 h); a longer one is cut to this. */
export const MAX_RETRY_AFTER_MS = 3_600_000

/** The outcome of one answered attempt. */
export type Verdict =
  | { kind: 'delivered' }
  /** 410: the receiver wants no more webhooks. */
  | { kind: 'gone' }
  /** Any other status; `retryAfterMs` when the receiver said how long to wait. */
  | { kind: 'retry'; retryAfterMs?: number }

/**
 * Judges a response: 2xx is success; 3xx is a failure, as redirects are not followed (the
 * spec: update the URL instead); 410 disables the endpoint; everything else is retried.
 * `Retry-After` counts on 429 and 503, the statuses RFC 9110 gives it for.
 */
export function judge(status: number, retryAfter: string | null, nowMs: number): Verdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  if (status === 410) return { kind: 'gone' }
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(retryAfter, nowMs)
    if (retryAfterMs !== undefined) return { kind: 'retry', retryAfterMs }
  }
  return { kind: 'retry' }
}

/**
 * The wait before attempt `failures + 1`, in ms: "equal jitter", half of the step fixed
 * and half random. The fixed half keeps retries apart even with unlucky draws; the random
 * half spreads out retries that failed together. `random` returns a number in [0, 1).
 */
export function backoffMs(failures: number, random: () => number): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1))
  return Math.floor(step / 2 + (random() * step) / 2)
}

// RFC 9110 §5.6.7 HTTP-dates (IMF-fixdate, and the obsolete RFC 850 and asctime forms) all
// start with a day name; checking that keeps Date.parse from reading "1.5" as a date.
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)/

/**
 * `Retry-After` in ms from `nowMs` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date),
 * at most `MAX_RETRY_AFTER_MS`; a date in the past is 0. `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  let ms: number
  if (/^\d+$/.test(text)) ms = Number(text) * 1000
  else if (HTTP_DATE.test(text)) ms = Date.parse(text) - nowMs
  else return undefined
  if (Number.isNaN(ms)) return undefined
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms))
}
