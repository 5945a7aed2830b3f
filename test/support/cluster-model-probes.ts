/**
 * What the store's model test reads behind the servers' backs, one small interface with a
 * version per engine: on Redis it reads the shared state; on one in-memory server it asks
 * the server (its /health) and its clients (a ping). See test/support/cluster-model.ts.
 */
import type Redis from 'ioredis'
import { Keys } from '../../src/cluster/keys.ts'
import { defaultConfig } from '../../src/config.ts'
import type { StoredMessage } from '../../src/protocol/frames.ts'
import type { ChatNode } from './cluster.ts'
import type { TestClient } from './ws-client.ts'

/** The nodes run with the default HISTORY_LIMIT: the history is the list's last that many. */
const HISTORY_LIMIT = defaultConfig().historyLimit

export interface ModelProbes {
  readonly engine: 'redis' | 'memory'
  /**
   * Whether the server has seen the close of the member's connection (they are offline);
   * `open` is how many connections the model holds open.
   */
  offline(room: string, key: string, open: number): Promise<boolean>
  /**
   * Sends every online member of `room` (their clients: `members`) a `pong` with `ref`
   * through the room's delivery path, after anything sent to the room before.
   */
  sentinel(room: string, ref: string, members: TestClient[]): Promise<void>
  /** Whether the member `key` (named `username`) is no longer in `room`. */
  gone(room: string, key: string, username: string, token: string | undefined): Promise<boolean>
  /** The room's kept history, oldest first (`token`: its moderator token, for a private room). */
  history(room: string, token: string | undefined): Promise<StoredMessage[]>
  /** The session records that outlive their session with no expiry (Redis only). */
  keptRecords(live: Set<string>): Promise<{ key: string; record: Record<string, string> }[]>
  close(): void
}

export class RedisProbes implements ModelProbes {
  readonly engine = 'redis'
  private readonly keys = new Keys('chat:')

  constructor(private readonly redis: Redis) {}

  async offline(room: string, key: string): Promise<boolean> {
    const raw = await this.redis.hget(this.keys.room(room).members, key)
    return raw !== null && (JSON.parse(raw) as { o: number }).o === 0
  }

  async gone(room: string, key: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.room(room).members, key)) === null
  }

  async history(room: string): Promise<StoredMessage[]> {
    const raw = await this.redis.lrange(this.keys.room(room).history, -HISTORY_LIMIT, -1)
    return raw.map((r) => JSON.parse(r) as StoredMessage)
  }

  async sentinel(room: string, ref: string): Promise<void> {
    // An event envelope (src/cluster/scripts.ts) that every node relays to its members.
    const pong = JSON.stringify({ type: 'pong', ref })
    await this.redis.publish(this.keys.room(room).channel, `e|0|model-test|-||${pong}`)
  }

  async keptRecords(live: Set<string>) {
    const stale = (await this.redis.keys('chat:sess:*')).filter((k) => !live.has(k))
    const ttls = await Promise.all(stale.map((k) => this.redis.pttl(k)))
    const kept = stale.filter((_, i) => (ttls[i] ?? -1) === -1)
    return Promise.all(kept.map(async (key) => ({ key, record: await this.redis.hgetall(key) })))
  }

  close(): void {
    this.redis.disconnect()
  }
}

export class MemoryProbes implements ModelProbes {
  readonly engine = 'memory'

  constructor(private readonly server: ChatNode) {}

  /** One process handles a close at once: offline once it counts no more connections than we hold. */
  async offline(_room: string, _key: string, open: number): Promise<boolean> {
    const { body } = await this.server.health()
    return Number(body.connections) <= open
  }

  /** Gone: the last note about them in the history says they left. */
  async gone(room: string, _key: string, username: string, token: string | undefined) {
    const notes = (await this.history(room, token)).filter((m) =>
      m.content?.startsWith(`${username} `),
    )
    return notes[notes.length - 1]?.content === `${username} left`
  }

  /** Every kept message, paged back 100 at a time over REST. */
  async history(room: string, token: string | undefined): Promise<StoredMessage[]> {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
    let out: StoredMessage[] = []
    let before = ''
    for (;;) {
      const url = `${this.server.httpUrl}/rooms/${room}/messages?limit=100${before}`
      const res = await fetch(url, { headers })
      if (res.status !== 200) throw new Error(`GET /rooms/${room}/messages: ${res.status}`)
      const page = (await res.json()) as { messages: StoredMessage[]; has_more: boolean }
      out = [...page.messages, ...out]
      const first = page.messages[0]
      if (!page.has_more || !first) return out
      before = `&before=${first.id}`
    }
  }

  /** One process sends in order on each socket: a ping's pong comes after all sent before it. */
  async sentinel(_room: string, ref: string, members: TestClient[]): Promise<void> {
    for (const client of members) client.send({ action: 'ping', ref })
  }

  async keptRecords() {
    return []
  }

  close(): void {}
}
