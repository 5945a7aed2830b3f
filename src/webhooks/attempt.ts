/** One delivery attempt: a POST with a deadline, judged by `judge`. */
import type { Clock } from '../domain/clock.ts'
import { judge, type Verdict } from './retry.ts'

/** The part of `fetch` the sender uses; tests and the app may inject their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

/** What one attempt came to: the receiver's verdict and status, or no answer at all. */
export type AttemptResult =
  | (Verdict & { status: number })
  | { kind: 'retry'; error: 'timeout' | 'network' }

export interface AttemptDeps {
  fetch: FetchLike
  clock: Clock
  /** The whole exchange, up to the response headers, must take no longer than this. */
  timeoutMs: number
  /** Aborts the attempt when the sender stops (drain deadline, 410). */
  stop: AbortSignal
}

/**
 * POSTs `body` once. Never throws: a network error or timeout is a result like any other.
 * The response body is not read, only cancelled, so a receiver cannot make us buffer it.
 */
export async function attempt(
  url: string,
  init: { headers: Headers; body: string },
  deps: AttemptDeps,
): Promise<AttemptResult> {
  const abort = new AbortController()
  let timedOut = false
  // The deadline runs on the injected clock (not AbortSignal.timeout) so tests can reach it.
  const timer = deps.clock.setTimeout(() => {
    timedOut = true
    abort.abort()
  }, deps.timeoutMs)
  // Cleared at once on stop, not when fetch gets round to rejecting: a stopped sender
  // leaves no timer behind.
  const onStop = () => {
    deps.clock.clearTimeout(timer)
    abort.abort()
  }
  deps.stop.addEventListener('abort', onStop)
  try {
    const response = await deps.fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      // A 3xx is a failure: following it would POST to wherever the receiver points.
      redirect: 'manual',
      signal: abort.signal,
    })
    await response.body?.cancel().catch(() => {})
    const verdict = judge(response.status, response.headers.get('retry-after'), deps.clock.now())
    return { ...verdict, status: response.status }
  } catch {
    // The error's text may hold the URL (and any token in it), so only its kind is kept.
    return { kind: 'retry', error: timedOut ? 'timeout' : 'network' }
  } finally {
    deps.clock.clearTimeout(timer)
    deps.stop.removeEventListener('abort', onStop)
  }
}
