/** Opaque handle of a scheduled callback. */
export type TimerHandle = unknown

/**
 * Time as the domain sees it. The store never calls `Date.now` or `setTimeout` itself, so
 * tests drive every deadline (typing, grace, empty-room expiry) with a fake clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}
