/**
 * Changes to kept messages, once for both engines: who may edit, delete or react to a
 * message, what an edit and a reaction may hold, and the frames the room gets. The engine
 * applies the change in one step with its place in the room's sequence (src/chat/engine.ts,
 * Amendment), so an edit is never seen before the message it edits, and a resume replays it.
 */
import { formatId, parseId } from '../domain/history.ts'
import { userKey } from '../domain/names.ts'
import { checkContent } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type { AmendFrame, ChangeFrame, MessageId } from '../protocol/frames.ts'
import type { RoomEngine } from './engine.ts'
import type { Poster } from './messages.ts'
import {
  type Amendment,
  type AmendOutcome,
  type Maybe,
  type MemberRecord,
  type MessageRecord,
  then,
} from './records.ts'

/** Most distinct emoji one message may carry. */
export const MAX_REACTIONS = 20
/** Most usernames a message's `reactions` lists per emoji; the count stays exact. */
export const MAX_REACTION_USERS = 50

/** One emoji: a single grapheme of the Unicode emoji set (RGI), skin tones and sequences included. */
const EMOJI = /^\p{RGI_Emoji}$/v
/** Or a short name: `:thumbs_up:`, 1 to 32 letters, digits, `_` or `-`. */
const SHORT_NAME = /^:[A-Za-z0-9_-]{1,32}:$/

/** Refuses anything but one emoji or a `:short_name:`. */
export function checkEmoji(emoji: string): void {
  if (!EMOJI.test(emoji) && !SHORT_NAME.test(emoji))
    throw new ChatError(
      'invalid_message',
      '"emoji" must be one emoji or a :short_name: of 1 to 32 letters, digits, _ or -',
    )
}

/** A member changing a message, as their node knows them: a poster who may be a moderator. */
export interface Amender extends Poster {
  readonly moderator: boolean
}

function notFound(id: string): ChatError {
  return new ChatError('message_not_found', `No message "${id.slice(0, 40)}" is kept in this room`)
}

/**
 * Whether `member` sent the message `seq`: the same signed-in user; or, for an anonymous
 * sender, the anonymous member of that name who joined before it. A name is one member's at
 * a time, so that is the same session, also after a resume, and not a later newcomer who took
 * the name (their join comes after the message).
 */
export function isSender(
  record: MessageRecord,
  seq: number,
  member: Amender,
  joined: MemberRecord | undefined,
): boolean {
  if (record.userId !== undefined) return record.userId === member.userId
  return (
    member.userId === undefined &&
    joined !== undefined &&
    userKey(record.sender) === member.key &&
    joined.joinSeq < seq
  )
}

/**
 * `edit`, `delete` and `react`: checks the frame and who asks, then has the engine change
 * the message. A muted member may delete their messages but not edit or react.
 */
export function amend(
  engine: RoomEngine,
  member: Amender,
  frame: AmendFrame,
  now: number,
  maxContentChars: number,
): Maybe<void> {
  const seq = parseId(frame.id)
  if (seq === undefined || seq < 1) throw notFound(frame.id)
  const id = formatId(seq)
  if (frame.action !== 'delete' && member.mutedUntil > now)
    throw new ChatError('not_authorized', 'You are muted in this room')
  if (frame.action === 'edit') checkContent(frame.content, maxContentChars)
  if (frame.action === 'react') checkEmoji(frame.emoji)
  const read = (record: MessageRecord | undefined) =>
    then(engine.member(member.room, member.key), (joined) => ({ record, joined }))
  return then(then(engine.message(member.room, id), read), ({ record, joined }) => {
    if (!record || record.deleted) throw notFound(id)
    if (record.type === 'system')
      throw new ChatError('not_authorized', 'A system note cannot be edited, deleted or reacted to')
    const own = isSender(record, seq, member, joined)
    if (frame.action === 'edit' && !own)
      throw new ChatError('not_authorized', 'Only its sender may edit a message')
    if (frame.action === 'delete' && !own && !member.moderator)
      throw new ChatError('not_authorized', 'Only its sender or a moderator may delete a message')
    return then(engine.amend(member.room, amendmentOf(member, frame, id, now)), (out) => {
      if (typeof out === 'string') return refused(out, id)
      changed(engine, member, frame, record, id, formatId(out.seq), now)
    })
  })
}

/**
 * Tells the app's backend of an edit (`message.edited`) or a delete (`message.deleted`):
 * `username`/`user_id` are the message's sender, `by` who deleted it. Reactions send none.
 */
function changed(
  engine: RoomEngine,
  member: Amender,
  frame: AmendFrame,
  record: MessageRecord,
  id: MessageId,
  eventId: string,
  now: number,
): void {
  if (frame.action === 'react') return
  const type = frame.action === 'edit' ? 'message.edited' : 'message.deleted'
  if (!engine.events.wants(type)) return
  const data: Record<string, unknown> = {
    room: member.room,
    id,
    event_id: eventId,
    username: record.sender,
  }
  if (record.userId !== undefined) data.user_id = record.userId
  if (frame.action === 'edit') {
    data.content = frame.content
    data.edited_at = now
  } else {
    data.by = member.username
    if (member.userId !== undefined) data.by_user_id = member.userId
  }
  engine.events.emit(type, data)
}

function amendmentOf(member: Amender, frame: AmendFrame, id: MessageId, now: number): Amendment {
  const base = { key: member.key, session: member.session, id, now }
  const room = member.room
  switch (frame.action) {
    case 'edit': {
      const event: ChangeFrame = {
        type: 'message_edited',
        room,
        id,
        content: frame.content,
        edited_at: now,
        event_id: '',
      }
      return { ...base, kind: 'edit', content: frame.content, frame: event }
    }
    case 'delete':
      return {
        ...base,
        kind: 'delete',
        frame: { type: 'message_deleted', room, id, by: member.username, event_id: '' },
      }
    case 'react': {
      const event: ChangeFrame = {
        type: 'reaction',
        room,
        id,
        emoji: frame.emoji,
        username: member.username,
        on: frame.on,
        count: 0,
        event_id: '',
      }
      if (member.userId !== undefined) event.user_id = member.userId
      return {
        ...base,
        kind: 'react',
        emoji: frame.emoji,
        on: frame.on,
        username: member.username,
        maxEmoji: MAX_REACTIONS,
        maxUsers: MAX_REACTION_USERS,
        frame: event,
      }
    }
  }
}

function refused(out: AmendOutcome, id: MessageId): void {
  if (out === 'not_member') throw new ChatError('not_authorized', 'You have not joined this room')
  if (out === 'no_message') throw notFound(id)
  if (out === 'reaction_limit')
    throw new ChatError(
      'reaction_limit',
      `A message may carry at most ${MAX_REACTIONS} different reactions`,
    )
}
