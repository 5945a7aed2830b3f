import type { Clock } from '../domain/clock.ts'

/**
 * Waits `ms` on `clock`; resolves early, and clears its timer, when `signal` aborts, so a
 * stopped sender leaves no timer behind. Never rejects.
 */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const wake = () => {
      clock.clearTimeout(timer)
      signal.removeEventListener('abort', wake)
      resolve()
    }
    const timer = clock.setTimeout(wake, ms)
    signal.addEventListener('abort', wake)
  })
}
