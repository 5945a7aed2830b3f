/**
 * A change as the `change` script takes it (src/cluster/lua/change.lua): each write with the
 * JSON it stores and the frame it sends, each note as its stored message and its frame, all
 * built here, with the byte 0x01 where the script puts the id it assigns and 0x02 where it
 * puts a member's user id.
 */
import type { PostedNote, Write } from '../chat/change.ts'
import type { Ban } from '../domain/room.ts'
import {
  type RoomId,
  type ServerFrame,
  type StoredMessage,
  withUserId,
} from '../protocol/frames.ts'
import type { StoredHolder, StoredMember } from './cluster-rooms.ts'
import { presenceTemplate } from './node-parts.ts'

/** Where the script writes a note's id: JSON never holds a raw 0x01, so it cannot clash. */
export const ID_MARK = '\x01'
/** Where the script puts a reaction's count, in the frame of a change to a message. */
export const COUNT_MARK = '\x03'

/** `json` of an object whose `id` was ID_MARK, with the mark left raw for the script. */
export function marked(json: string): string {
  return json.replace('"id":"\\u0001"', `"id":"${ID_MARK}"`)
}

/** The writes of a change, for the script. */
export function scriptWrites(room: RoomId, writes: Write[], nodeId: string) {
  return writes.map((w) => {
    switch (w.op) {
      case 'ban': {
        const ban: Ban = { username: w.username, by: w.by, at: w.at }
        if (w.until !== undefined) ban.until = w.until
        return { op: w.op, key: w.key, value: JSON.stringify(ban) }
      }
      case 'putMember': {
        const joined: ServerFrame = { type: 'user_joined', room, username: w.username }
        withUserId(joined, w.userId)
        const stored: Omit<StoredMember, 'j'> = {
          u: w.username,
          n: nodeId,
          s: w.session as string,
          b: w.identity as string,
          m: w.moderator ? 1 : 0,
          o: 1,
        }
        if (w.userId !== undefined) stored.i = w.userId
        return {
          op: w.op,
          key: w.key,
          value: JSON.stringify(stored),
          line: JSON.stringify(joined),
        }
      }
      case 'hold': {
        const held: StoredHolder = {
          s: w.session as string,
          n: nodeId,
          b: w.identity as string,
          o: 1,
        }
        const line = presenceTemplate(room, 'online')
        return { op: w.op, key: w.key, value: JSON.stringify(held), line }
      }
      case 'away':
        return {
          op: w.op,
          key: w.key,
          session: w.session,
          until: w.until,
          line: presenceTemplate(room, 'offline'),
        }
      case 'release':
        return {
          op: w.op,
          key: w.key,
          session: w.session,
          line: presenceTemplate(room, 'offline'),
        }
      case 'dropMember': {
        // 0x02: where the script puts the member's user id (lua/prelude.lua's withUser).
        const left = JSON.stringify({ type: 'user_left', room, username: w.username })
        return { op: w.op, key: w.key, line: `${left.slice(0, -1)}\x02}` }
      }
      default:
        return w
    }
  })
}

/** The notes of a change, for the script: a `quiet` change stores them without sending. */
export function scriptNotes(
  room: RoomId,
  notes: (string | PostedNote)[],
  now: number,
  quiet: boolean,
) {
  return notes.map((note) => {
    if (typeof note !== 'string') {
      const stored: StoredMessage = {
        id: ID_MARK,
        type: 'text',
        sender: note.sender,
        content: note.content,
        timestamp: now,
        room_id: room,
      }
      if (note.userId !== undefined) stored.user_id = note.userId
      const frame: ServerFrame = {
        type: 'message',
        room,
        id: ID_MARK,
        sender: note.sender,
        content: note.content,
        ts: now,
      }
      return {
        stored: marked(JSON.stringify(stored)),
        frame: marked(JSON.stringify(withUserId(frame, note.userId))),
      }
    }
    const content = note
    const stored: StoredMessage = {
      id: ID_MARK,
      type: 'system',
      sender: 'system',
      content,
      timestamp: now,
      room_id: room,
    }
    const frame: ServerFrame = { type: 'system', room, id: ID_MARK, content, ts: now }
    return {
      stored: marked(JSON.stringify(stored)),
      frame: quiet ? '' : marked(JSON.stringify(frame)),
    }
  })
}
