import type { Idempotency } from '../chat/api.ts'
import type { Clock } from './clock.ts'

/** Keys kept at most; past it the oldest go first (a key is kept 24 h otherwise). */
const MAX_KEYS = 100_000

/** The server API's idempotency keys in one process (src/chat/api.ts). */
export class MemoryIdempotency implements Idempotency {
  private readonly keys = new Map<string, { value: string; until: number }>()

  constructor(private readonly clock: Clock) {}

  claim(key: string, ttlMs: number): boolean {
    const now = this.clock.now()
    const seen = this.keys.get(key)
    if (seen && seen.until > now) return false
    this.keys.delete(key)
    if (this.keys.size >= MAX_KEYS) {
      const oldest = this.keys.keys().next().value
      if (oldest !== undefined) this.keys.delete(oldest)
    }
    this.keys.set(key, { value: '', until: now + ttlMs })
    return true
  }

  get(key: string): string | undefined {
    return this.keys.get(key)?.value
  }

  set(key: string, value: string, ttlMs: number): void {
    this.keys.set(key, { value, until: this.clock.now() + ttlMs })
  }

  release(key: string): void {
    this.keys.delete(key)
  }
}
