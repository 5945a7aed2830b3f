/**
 * The memory engine's read markers (the rules are in src/chat/read-markers.ts): one per
 * user key on each room, kept with the room and gone with it. A marker remembers its owner
 * (the member's ban identity: the signed-in user, or the anonymous session), so whoever
 * takes a name that someone else left starts with no marker.
 */

import {
  type FlushOutcome,
  type Mark,
  type MarkOutcome,
  type ReadMarkerStore,
  windowed,
} from '../chat/read-markers.ts'
import type { ReadMarks } from '../chat/records.ts'
import { banIdentity } from '../chat/sign-in.ts'
import type { RoomId } from '../protocol/frames.ts'
import { heldBy } from './memory-guards.ts'
import type { Member, Room } from './room.ts'

interface StoredMark {
  /** The sequence number read up to. */
  id: number
  readonly owner: unknown
  /** When the last `read` frame about it went out (undefined: never). */
  sentAt: number | undefined
  /** A trailing frame is due at `sentAt` + the window. */
  waiting: boolean
}

const marksOfRoom = new WeakMap<Room, Map<string, StoredMark>>()

function ownerOf(member: Member): unknown {
  return banIdentity(member.client, member.client)
}

/** The current members' own markers, for a snapshot. */
export function roomReadMarks(room: Room): ReadMarks {
  const byName: Record<string, number> = Object.create(null)
  for (const [key, mark] of marksOfRoom.get(room) ?? []) {
    const member = room.members.get(key)
    if (member && ownerOf(member) === mark.owner) byName[member.username] = mark.id
  }
  return { byName, members: room.members.size, history: room.history.messages() }
}

export class MemoryReadMarkers implements ReadMarkerStore {
  /** `find` throws `room_not_found`. */
  constructor(private readonly find: (id: RoomId) => Room) {}

  mark(roomId: RoomId, mark: Mark): MarkOutcome {
    const room = this.find(roomId)
    const member = room.members.get(mark.key)
    if (member === undefined || !heldBy(member, mark.session)) return { is: 'not_member' }
    if (mark.id < 1 || mark.id > room.history.lastSeq) return { is: 'beyond' }
    let marks = marksOfRoom.get(room)
    if (!marks) {
      marks = new Map()
      marksOfRoom.set(room, marks)
    }
    const owner = ownerOf(member)
    let stored = marks.get(mark.key)
    if (stored && stored.owner !== owner) stored = undefined
    if (stored && mark.id <= stored.id) return { is: 'old' }
    if (!stored) {
      stored = { id: mark.id, owner, sentAt: undefined, waiting: false }
      marks.set(mark.key, stored)
    }
    stored.id = mark.id
    if (room.members.size > mark.maxMembers) return { is: 'quiet' }
    return windowed(stored, mark.now, mark.windowMs)
  }

  flush(roomId: RoomId, key: string, now: number, windowMs: number): FlushOutcome {
    const room = this.find(roomId)
    const stored = marksOfRoom.get(room)?.get(key)
    if (!stored?.waiting || stored.sentAt === undefined) return undefined
    const member = room.members.get(key)
    if (!member || ownerOf(member) !== stored.owner) {
      stored.waiting = false
      return undefined
    }
    if (now - stored.sentAt < windowMs) return { at: stored.sentAt + windowMs }
    stored.waiting = false
    stored.sentAt = now
    return { send: stored.id }
  }
}
