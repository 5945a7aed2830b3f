import type { Idempotency } from '../chat/api.ts'
import type { Keys } from './keys.ts'
import type { RedisLink } from './redis-link.ts'

/** The server API's idempotency keys in Redis, shared by every node (src/chat/api.ts). */
export class RedisIdempotency implements Idempotency {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: Keys,
  ) {}

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const k = this.keys.idempotency(key)
    return (await this.link.call(() => this.link.cmd.set(k, '', 'PX', ttlMs, 'NX'))) === 'OK'
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.link.call(() => this.link.cmd.get(this.keys.idempotency(key)))) ?? undefined
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.link.call(() => this.link.cmd.set(this.keys.idempotency(key), value, 'PX', ttlMs))
  }

  async release(key: string): Promise<void> {
    await this.link.call(() => this.link.cmd.del(this.keys.idempotency(key)))
  }
}
