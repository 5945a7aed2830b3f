import { type DirectBook, tellHere } from '../chat/direct.ts'
import type { RoomId, ServerFrame, UserId } from '../protocol/frames.ts'
import type { Keys } from './keys.ts'
import type { LocalSession } from './local-session.ts'
import type { RedisLink } from './redis-link.ts'

/** What a node's channel carries for a notice: `direct|{"user","frame"}`. */
const DIRECT = 'direct|'

/**
 * The direct rooms of each user on every node (src/chat/direct.ts): a hash per user (room
 * id → the other user's id; `HSETNX` picks the one winner of a notice); a notice is sent
 * here and to the other live nodes on their own channels, as a disconnect is
 * (src/cluster/redis-users.ts; a node that is away at that moment misses it).
 */
export class RedisDirectBook implements DirectBook {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: Keys,
    private readonly nodeId: string,
    /** This node's sessions that have a connection now. */
    private readonly local: () => Iterable<LocalSession | undefined>,
  ) {}

  async add(owner: UserId, room: RoomId, other: UserId): Promise<boolean> {
    const key = this.keys.direct(owner)
    return (await this.link.call(() => this.link.cmd.hsetnx(key, room, other))) === 1
  }

  async remove(owner: UserId, room: RoomId): Promise<void> {
    await this.link.call(() => this.link.cmd.hdel(this.keys.direct(owner), room))
  }

  async list(owner: UserId): Promise<Map<RoomId, UserId>> {
    const all = await this.link.call(() => this.link.cmd.hgetall(this.keys.direct(owner)))
    return new Map(Object.entries(all))
  }

  async tell(userId: UserId, frame: ServerFrame): Promise<void> {
    tellHere(this.local(), userId, frame)
    const nodes = await this.link.call(() => this.link.cmd.zrange(this.keys.nodes, 0, -1))
    const text = DIRECT + JSON.stringify({ user: userId, frame })
    for (const node of nodes) {
      if (node === this.nodeId) continue
      await this.link.call(() => this.link.cmd.publish(this.keys.nodeChannel(node), text))
    }
  }

  /** A message on this node's own channel: true if it was a notice (sent here). */
  onNodeMessage(text: string): boolean {
    if (!text.startsWith(DIRECT)) return false
    const { user, frame } = JSON.parse(text.slice(DIRECT.length)) as {
      user: UserId
      frame: ServerFrame
    }
    tellHere(this.local(), user, frame)
    return true
  }
}
