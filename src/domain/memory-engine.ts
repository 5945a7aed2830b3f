/**
 * The memory engine (src/chat/engine.ts): the rooms of one process, changed synchronously,
 * so a change is atomic by construction. It keeps RoomStore's own objects: a member's
 * session handle is its Session.
 */
import type { Change, Guard, MemberRecord, Outcome, RoomEngine, Target } from '../chat/engine.ts'
import type { RoomId } from '../protocol/frames.ts'
import type { RoomSink } from './ports.ts'
import type { Member, Room } from './room.ts'
import type { Session } from './session.ts'

/** What the engine needs of the store: its rooms, and what happens to a member who goes. */
export interface MemoryEngineHost {
  /** The room filed under this id, if any. */
  room(id: RoomId): Room | undefined
  /** Takes a member out of its room (typing ends, unsubscribed, the others hear `user_left`). */
  drop(member: Member): void
  /** Tells a banned or kicked member, now or on resume if they are away. */
  tell(member: Member, how: 'banned' | 'kicked', by: string): void
  stopTyping(member: Member): void
}

export class MemoryEngine implements RoomEngine {
  constructor(
    private readonly host: MemoryEngineHost,
    private readonly sink: RoomSink,
  ) {}

  member(roomId: RoomId, key: string): MemberRecord | undefined {
    const m = this.host.room(roomId)?.members.get(key)
    if (!m) return undefined
    return {
      username: m.username,
      moderator: m.moderator,
      online: m.client.peer !== undefined,
      session: m.client,
      identity: m.client,
    }
  }

  change(roomId: RoomId, change: Change): Outcome {
    const room = this.host.room(roomId)
    for (const guard of change.guards) {
      if (!room || !holds(room, guard)) return { failed: guard.fail }
    }
    if (!room) return { seq: 0 }
    for (const w of change.writes) {
      switch (w.op) {
        case 'ban':
          room.bans.set(w.key, { username: w.username, by: w.by, at: w.at })
          break
        case 'banSession':
          room.bannedClients.set(w.identity as Session, w.key)
          break
        case 'unban':
          room.bans.delete(w.key)
          for (const [banned, key] of room.bannedClients)
            if (key === w.key) room.bannedClients.delete(banned)
          break
        case 'mute':
          room.mutes.set(w.key, w.until)
          break
        case 'unmute':
          room.mutes.delete(w.key)
          break
        case 'dropMember': {
          const member = room.members.get(w.key)
          if (!member) break
          const target = change.target
          if (target?.key === w.key && (target.how === 'banned' || target.how === 'kicked'))
            this.host.tell(member, target.how, target.by)
          this.host.drop(member)
          break
        }
      }
    }
    if (change.target) this.actOn(room, change.target)
    let seq = 0
    for (const content of change.notes) {
      const stored = room.append('system', 'system', content, change.now)
      seq = Number(stored.id)
      if (!change.quiet)
        this.sink.publish(room.id, {
          type: 'system',
          room: room.id,
          id: stored.id,
          content,
          ts: stored.timestamp,
        })
    }
    return { seq }
  }

  forget(roomId: RoomId, key: string, session: unknown): void {
    const member = this.host.room(roomId)?.members.get(key)
    if (member && member.client === session) this.host.drop(member)
  }

  /** A mute stops the member's typing at once (its messages are refused by the mute itself). */
  private actOn(room: Room, target: Target): void {
    const member = room.members.get(target.key)
    if (member && target.how === 'muted') this.host.stopTyping(member)
  }
}

function holds(room: Room, guard: Guard): boolean {
  switch (guard.is) {
    case 'member':
      return room.members.get(guard.key)?.client === guard.session
    case 'moderator':
      return room.members.get(guard.key)?.moderator === true
    case 'present':
      return room.members.has(guard.key)
    case 'same': {
      const m = room.members.get(guard.key)
      return guard.session === null ? m === undefined : m?.client === guard.session
    }
    case 'banned':
      return room.bans.has(guard.key)
    case 'muted':
      return room.mutes.has(guard.key)
  }
}
