import { ChatError } from '../protocol/errors.ts'
import type { Clock } from './clock.ts'
import { TokenBucket } from './token-bucket.ts'

export interface GuardLimits {
  maxConnectionsPerIp: number
  roomCreatePerMin: number
}

/** Per-address maps are swept of idle entries once they hold this many. */
const SWEEP_AT = 10_000

/**
 * Limits per client address: open connections, room creation and wrong passwords.
 * Buckets that are full again are forgotten, so the maps stay small.
 */
export class Guard {
  private readonly connections = new Map<string, number>()
  private readonly creations = new Map<string, TokenBucket>()
  private readonly passwords = new Map<string, TokenBucket>()

  constructor(
    private readonly clock: Clock,
    private readonly limits: GuardLimits,
  ) {}

  /** Throws `rate_limited` when the address already has its maximum of open connections. */
  checkConnection(address: string): void {
    if ((this.connections.get(address) ?? 0) >= this.limits.maxConnectionsPerIp) {
      throw new ChatError('rate_limited', 'Too many open connections from your address')
    }
  }

  /** Counts an opened connection; false when it is over the cap (a race past the check). */
  connectionOpened(address: string): boolean {
    const n = (this.connections.get(address) ?? 0) + 1
    this.connections.set(address, n)
    return n <= this.limits.maxConnectionsPerIp
  }

  connectionClosed(address: string): void {
    const n = (this.connections.get(address) ?? 1) - 1
    if (n <= 0) this.connections.delete(address)
    else this.connections.set(address, n)
  }

  /** Takes one room creation for the address or throws `rate_limited` with a retry time. */
  takeRoomCreation(address: string): void {
    const perMin = this.limits.roomCreatePerMin
    const bucket = this.bucket(
      this.creations,
      address,
      () => new TokenBucket(this.clock, perMin, perMin / 60),
    )
    if (!bucket.take()) {
      throw new ChatError(
        'rate_limited',
        'Too many rooms created from your address',
        bucket.retryAfterS(),
      )
    }
  }

  /** The wrong-password bucket of an address. */
  passwordBucket(address: string): TokenBucket {
    return this.bucket(this.passwords, address, () => new TokenBucket(this.clock, 20, 1))
  }

  private bucket(map: Map<string, TokenBucket>, key: string, make: () => TokenBucket): TokenBucket {
    let bucket = map.get(key)
    if (!bucket) {
      if (map.size >= SWEEP_AT) {
        for (const [k, b] of map) if (b.isFull()) map.delete(k)
      }
      bucket = make()
      map.set(key, bucket)
    }
    return bucket
  }
}
