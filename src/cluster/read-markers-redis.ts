/**
 * The Redis engine's read markers (the rules are in src/chat/read-markers.ts): a hash per
 * room (keys.ts `read`), moved forward and windowed by lua/read-mark.lua and
 * lua/read-flush.lua, so every node and every device of a user share one marker and one
 * window. A marker remembers its owner (`user:<id>`, or the anonymous session's ban
 * identity), so whoever takes a name that someone else left starts with no marker.
 */

import type { FlushOutcome, Mark, MarkOutcome, ReadMarkerStore } from '../chat/read-markers.ts'
import type { ReadMarks } from '../chat/records.ts'
import { userKey } from '../domain/names.ts'
import type { RoomId } from '../protocol/frames.ts'
import type { StoredMember } from './cluster-rooms.ts'
import { roomKeyArgs } from './cluster-rooms.ts'
import type { NodeParts } from './node-parts.ts'

/** A marker as the hash keeps it: sequence number, owner, last frame sent at, trailing one due. */
interface StoredMark {
  r: number
  o: string
  t?: number
  p?: 1
}

function ownerOf(m: StoredMember): string {
  return m.i !== undefined ? `user:${m.i}` : (m.b ?? m.s)
}

/**
 * The current members' own markers, from the room's member JSONs and its read hash (as
 * HGETALL answers: an object, or the flat field/value list a script returns).
 */
export function readMarksOf(
  members: readonly string[],
  hash: Record<string, string> | readonly string[] | undefined,
): ReadMarks {
  const marks = new Map<string, StoredMark>()
  if (Array.isArray(hash)) {
    for (let i = 0; i + 1 < hash.length; i += 2)
      marks.set(hash[i] as string, JSON.parse(hash[i + 1] as string) as StoredMark)
  } else if (hash) {
    for (const [key, raw] of Object.entries(hash)) marks.set(key, JSON.parse(raw) as StoredMark)
  }
  const byName: Record<string, number> = Object.create(null)
  for (const raw of members) {
    const m = JSON.parse(raw) as StoredMember
    const mark = marks.get(userKey(m.u))
    if (mark && mark.o === ownerOf(m)) byName[m.u] = mark.r
  }
  return { byName, members: members.length }
}

export class RedisReadMarkers implements ReadMarkerStore {
  constructor(private readonly parts: NodeParts) {}

  async mark(room: RoomId, mark: Mark): Promise<MarkOutcome> {
    const k = this.parts.keys.room(room)
    const [is, at] = (await this.parts.link.script('readMark', roomKeyArgs(k), [
      mark.key,
      mark.session as string,
      mark.id,
      mark.now,
      mark.windowMs,
      mark.maxMembers,
    ])) as [string, number]
    if (is === 'later') return { is, at: Number(at) }
    return { is: is as 'not_member' | 'beyond' | 'old' | 'now' | 'quiet' }
  }

  async flush(room: RoomId, key: string, now: number, windowMs: number): Promise<FlushOutcome> {
    const k = this.parts.keys.room(room)
    const [is, value] = (await this.parts.link.script('readFlush', roomKeyArgs(k), [
      key,
      now,
      windowMs,
    ])) as [string, number]
    if (is === 'send') return { send: Number(value) }
    if (is === 'later') return { at: Number(value) }
    return undefined
  }
}
