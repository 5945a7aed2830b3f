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
  type Member,
  type RoomModel,
  type Session,
  until,
} from './cluster-model-state.ts'

/** Graces ending within this of each other may end on the server in either order. */
const GRACE_TIE_MS = 500

export class ModelTime extends ModelBase {
  /**
   * Lets every deadline that is near (within GUARD_MS) pass and waits until the cluster
   * has acted on it, applying it to the model: graces that end, empty rooms deleted, short
   * mutes that end. Afterwards no deadline falls within the next step.
   */
  async settle(): Promise<void> {
    for (;;) {
      const now = Date.now()
      const events: { at: number; run: () => Promise<void>; grace?: Session }[] = []
      for (const s of this.sessions) {
        if (s.awaySince === undefined || s.expired) continue
        const at = s.awaySince + GRACE_MS
        if (now >= at - GUARD_MS) events.push({ at, run: () => this.expire([s], at), grace: s })
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
      const first = events[0] as (typeof events)[number]
      // Graces that end close together were started by drops that different nodes (or one
      // node's close events) handled in no fixed order: they end together, in the server's.
      const together = first.grace
        ? events.filter((e) => e.grace && e.at - first.at <= GRACE_TIE_MS)
        : []
      if (together.length > 1) {
        await this.expire(
          together.map((e) => e.grace as Session),
          first.at,
        )
        continue
      }
      await first.run()
    }
  }

  /**
   * Sessions' graces end: their members leave every room (after the server has done it).
   * Several sessions' notes in one room go into the model in the order the server wrote
   * them (their drops had no order between them).
   */
  protected async expire(sessions: Session[], at: number): Promise<void> {
    const members = sessions.flatMap((s) => [...s.rooms.values()])
    if (members.length === 0) {
      // Nothing to see in the rooms: only the tokens die.
      await Bun.sleep(Math.max(0, at + 200 - Date.now()))
    }
    for (const m of members) {
      await until(
        `${m.username}'s grace to end in ${m.room.id}`,
        () => this.probes.gone(m.room.id, m.key, m.username, m.room.token),
        GRACE_MS + CATCH_UP_MS,
      )
    }
    if (sessions.length > 1) {
      const position = new Map<Member, number>()
      for (const roomId of new Set(members.map((m) => m.room.id))) {
        const stored = await this.probes.history(roomId, this.room(roomId).token)
        stored.forEach(({ content }, i) => {
          for (const m of members)
            if (m.room.id === roomId && content === `${m.username} left`) position.set(m, i)
        })
      }
      members.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0))
    }
    for (const session of sessions) {
      session.expired = true
      session.removed.clear()
    }
    for (const m of members) {
      this.remove(m, `${m.username} left`, (m.session.awaySince ?? at - GRACE_MS) + GRACE_MS)
      this.broadcast(m.room, `user_left|${m.room.id}|${m.username}`)
    }
    for (const session of sessions) {
      this.log.push(`   (grace of session ${session.id} ended)`)
      this.outcome('time', 'grace ended')
    }
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
