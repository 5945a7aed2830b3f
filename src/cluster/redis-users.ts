import { disconnectHere, type UserControl } from '../chat/users.ts'
import type { Clock } from '../domain/clock.ts'
import type { Keys } from './keys.ts'
import type { LocalSession } from './local-session.ts'
import type { RedisLink } from './redis-link.ts'

/** What a node's channel carries for `disconnect`: `disconnect|{"user","reason"}`. */
const DISCONNECT = 'disconnect|'

/**
 * Acting on a user on every node (src/chat/users.ts): a block is a key holding its end (by
 * the rules' clock; the key expires then too), read by every node's sign-in; a disconnect is done here and sent to the other live nodes
 * on their own channels (pub/sub: a node that is away at that moment misses it).
 */
export class RedisUsers implements UserControl {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: Keys,
    private readonly nodeId: string,
    private readonly clock: Clock,
    /** This node's sessions that have a connection now. */
    private readonly local: () => Iterable<LocalSession | undefined>,
  ) {}

  async block(userId: string, ms: number): Promise<void> {
    const until = this.clock.now() + ms
    await this.link.call(() => this.link.cmd.set(this.keys.block(userId), until, 'PX', ms))
  }

  async blocked(userId: string): Promise<boolean> {
    const until = await this.link.call(() => this.link.cmd.get(this.keys.block(userId)))
    return until !== null && Number(until) > this.clock.now()
  }

  async disconnect(userId: string, reason: string): Promise<void> {
    disconnectHere(this.local(), userId, reason)
    const nodes = await this.link.call(() => this.link.cmd.zrange(this.keys.nodes, 0, -1))
    const text = DISCONNECT + JSON.stringify({ user: userId, reason })
    for (const node of nodes) {
      if (node === this.nodeId) continue
      await this.link.call(() => this.link.cmd.publish(this.keys.nodeChannel(node), text))
    }
  }

  /** A message on this node's own channel: true if it was a disconnect (done here). */
  onNodeMessage(text: string): boolean {
    if (!text.startsWith(DISCONNECT)) return false
    const { user, reason } = JSON.parse(text.slice(DISCONNECT.length)) as {
      user: string
      reason: string
    }
    disconnectHere(this.local(), user, reason)
    return true
  }
}
