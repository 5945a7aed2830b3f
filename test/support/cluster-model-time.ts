/**
 * The passing of time in the cluster model (see test/support/cluster-model.ts): real time
 * cannot be faked in child processes, so the model lets every deadline that comes near
 * pass and waits until the cluster has acted on it before it goes on.
 */

import { ModelBase } from './cluster-model-base.ts'
import {
  CATCH_UP_MS,
  EMPTY_TTL_MS,
  GRACE_MS,
  GUARD_MS,
  type RoomModel,
  type Session,
  until,
} from './cluster-model-state.ts'

export class ModelTime extends ModelBase {
  /**
   * Lets every deadline that is near (within GUARD_MS) pass and waits until the cluster
   * has acted on it, applying it to the model: graces that end, empty rooms deleted, short
   * mutes that end. Afterwards no deadline falls within the next step.
   */
  async settle(): Promise<void> {
    for (;;) {
      const now = Date.now()
      const events: { at: number; run: () => Promise<void> }[] = []
      for (const s of this.sessions) {
        if (s.awaySince === undefined || s.expired) continue
        const at = s.awaySince + GRACE_MS
        if (now >= at - GUARD_MS) events.push({ at, run: () => this.expire(s, at) })
      }
      for (const room of this.rooms.values()) {
        if (!room.exists) continue
        if (!room.permanent && room.members.size === 0 && room.emptySince !== undefined) {
          const at = room.emptySince + EMPTY_TTL_MS
          if (now >= at - GUARD_MS) events.push({ at, run: () => this.deleteRoom(room) })
        }
        for (const mute of room.mutes.values()) {
          // Muted until somewhere between from + ms and to + ms: wait until surely over.
          const end = mute.to + mute.ms + 50
          if (now >= mute.from + mute.ms - GUARD_MS && now < end)
            events.push({ at: end, run: () => Bun.sleep(Math.max(0, end - Date.now())) })
        }
      }
      if (events.length === 0) return
      events.sort((a, b) => a.at - b.at)
      await events[0]?.run()
    }
  }

  /** A session's grace ends: its members leave every room (after the server has done it). */
  protected async expire(session: Session, at: number): Promise<void> {
    const members = [...session.rooms.values()]
    if (members.length === 0) {
      // Nothing to see in the rooms: only the token dies.
      await Bun.sleep(Math.max(0, at + 200 - Date.now()))
    }
    for (const m of members) {
      await until(
        `${m.username}'s grace to end in ${m.room.id}`,
        async () => {
          const raw = await this.redis.hget(this.keys.room(m.room.id).members, m.key)
          return raw === null
        },
        GRACE_MS + CATCH_UP_MS,
      )
    }
    session.expired = true
    session.removed.clear()
    for (const m of members) {
      this.remove(m, `${m.username} left`, at)
      this.broadcast(m.room, `user_left|${m.room.id}|${m.username}`)
    }
    this.log.push(`   (grace of session ${session.id} ended)`)
    this.outcome('time', 'grace ended')
  }

  protected async deleteRoom(room: RoomModel): Promise<void> {
    await this.until(
      `empty room ${room.id} to be deleted`,
      async () => {
        for (const n of this.nodes) {
          if ((await fetch(`${n.httpUrl}/rooms/${room.id}`)).status !== 404) return false
        }
        return true
      },
      EMPTY_TTL_MS + CATCH_UP_MS,
    )
    room.reset()
    this.log.push(`   (empty room ${room.id} deleted)`)
    this.outcome('time', 'empty room deleted')
  }
}
