/**
 * A session's record in Redis (the rooms it is in, for a resume on any node) and what
 * happens to its members when its connection goes away: offline for their grace, or gone.
 */

import { goAway } from '../chat/membership.ts'
import { userIdentity } from '../chat/sign-in.ts'
import type { RoomId } from '../protocol/frames.ts'
import type { LocalSession } from './local-session.ts'
import type { NodeParts } from './node-parts.ts'
import type { RedisEngine } from './redis-engine.ts'

/** Sessions that dropped while Redis was out of reach, to be marked offline once it is back. */
const MAX_DROPPED = 100_000

/** A session that went away, and the rooms it was in. */
export interface Dropped {
  hash: string
  rooms: { room: RoomId; key: string; username: string; userId: string | undefined }[]
}

export class SessionRecords {
  private dropped = new Map<string, Dropped>()
  private droppedOverflow = false

  constructor(
    private readonly parts: NodeParts,
    private readonly engine: RedisEngine,
  ) {}

  /** Shows a dropped session's members offline (their grace starts), or removes them (no grace). */
  async markGone(d: Dropped): Promise<void> {
    try {
      const { clock, config } = this.parts
      for (const { room, key, username, userId } of d.rooms) {
        const member = { room, key, username, session: d.hash, userId }
        await goAway(this.engine, member, clock.now(), config.resumeGraceMs)
      }
      const record = this.parts.keys.session(d.hash)
      if (this.parts.config.resumeGraceMs === 0)
        await this.parts.link.call(() => this.parts.link.cmd.del(record))
      // Kept for a resume within the grace; gone by itself after it.
      else
        await this.parts.link.call(() =>
          this.parts.link.cmd.pexpire(record, this.engine.recordTtlMs),
        )
    } catch {
      // Redis is away: remember the session (bounded) and finish once it is back.
      if (this.dropped.size < MAX_DROPPED) this.dropped.set(d.hash, d)
      else this.droppedOverflow = true
    }
  }

  /** Finishes the sessions that dropped while Redis was away (the repair calls it). */
  async finishDropped(): Promise<void> {
    const dropped = [...this.dropped.values()]
    this.dropped = new Map()
    if (this.droppedOverflow)
      this.parts.logger.warn('too many sessions dropped while redis was away')
    this.droppedOverflow = false
    for (const d of dropped) await this.markGone(d)
  }

  /** Notes in the session's record (for a resume on any node) that it is in `room` as `key`. */
  async recordRoom(client: LocalSession, room: RoomId, key: string): Promise<void> {
    const fields: Record<string, string> = { [room]: key }
    if (client.banId !== client.hash) fields._id = client.banId
    // Who may resume it: the same signed-in user only (src/chat/sign-in.ts). A room id is
    // a slug and never holds a colon.
    if (client.user) fields[':user'] = userIdentity(client.user)
    await this.parts.link
      .call(() => this.parts.link.cmd.hset(this.parts.keys.session(client.hash), fields))
      .catch(() => {})
  }
}
