import type { Clock } from './clock.ts'

interface Rate {
  readonly capacity: number
  readonly perSecond: number
}

/** The distinct capacity/rate pairs in use: a handful, all derived from the config. */
const rates = new Map<string, Rate>()

function rateOf(capacity: number, perSecond: number): Rate {
  const key = `${capacity}/${perSecond}`
  let rate = rates.get(key)
  if (rate === undefined) {
    rate = { capacity, perSecond }
    rates.set(key, rate)
  }
  return rate
}

/**
 * A token bucket that refills continuously; no timers, it catches up when asked.
 * `capacity` is the burst, `perSecond` the sustained rate.
 */
export class TokenBucket {
  private tokens: number
  private updatedAt: number
  /**
   * Capacity and rate, shared by every bucket with the same two: JSC gives an object of
   * up to four fields 48 bytes and of five 64 (a getter on the class also costs the 64),
   * and every session holds a bucket or two.
   */
  private readonly rate: Rate

  constructor(
    private readonly clock: Clock,
    capacity: number,
    perSecond: number,
  ) {
    this.rate = rateOf(capacity, perSecond)
    this.tokens = capacity
    this.updatedAt = clock.now()
  }

  private refill(): void {
    const now = this.clock.now()
    if (now > this.updatedAt) {
      const tokens = this.tokens + ((now - this.updatedAt) * this.rate.perSecond) / 1000
      // Refills summed over many calls drift below the true value (2/60 per second
      // refilled in two steps over 30 s gives 0.9999999999999999): snap to the whole
      // token, or a retry at the announced time would be refused.
      const whole = Math.round(tokens)
      this.tokens = Math.min(this.rate.capacity, Math.abs(tokens - whole) < 1e-9 ? whole : tokens)
    }
    this.updatedAt = now
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.refill()
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Gives back a token taken for an attempt that turned out fine. */
  refund(): void {
    this.tokens = Math.min(this.rate.capacity, this.tokens + 1)
  }

  /** Whether a token is there, without taking it. */
  peek(): boolean {
    this.refill()
    return this.tokens >= 1
  }

  /** Whether the bucket is full (nothing to remember about its owner). */
  isFull(): boolean {
    this.refill()
    return this.tokens >= this.rate.capacity
  }

  /** Seconds until the next token, rounded up; 0 when one is there. */
  retryAfterS(): number {
    this.refill()
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.rate.perSecond)
  }
}
