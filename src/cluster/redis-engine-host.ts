/** What the Redis engine (redis-engine.ts) needs of its node, and what a join hands back to it. */
import type { RoomId } from '../protocol/frames.ts'

/** What the engine needs of its node. */
export interface RedisEngineHost {
  /** Redis work that the store's `close` waits for. */
  track(p: Promise<unknown>): void
  /**
   * Takes the member of session `hash` out of `room` on this node, if it is held here,
   * once the room's stream has delivered `after` here.
   */
  dropHere(room: RoomId, hash: string, after: number): Promise<void>
  /** Gets this node ready to deliver the room's stream to a member about to join here. */
  beforeJoin(room: RoomId): Promise<JoinTicket>
  /**
   * The session `hash` joined `room` at `seq` (or the join failed: `joined` undefined):
   * this node takes them in, greets them and delivers the room's stream after `seq`.
   */
  afterJoin(ticket: JoinTicket, joined: Joined | undefined): void
}

/** What a node holds for a join in flight (its room's feed), given back to `afterJoin`. */
export type JoinTicket = unknown

export interface Joined {
  hash: string
  key: string
  username: string
  moderator: boolean
  seq: number
  /** The end (ms) of a mute given to the name before, 0 for none. */
  mutedUntil: number
  greet: () => void
}
