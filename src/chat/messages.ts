/**
 * Chat messages, once for both engines: who may post (a member, not muted), what a
 * message may hold, and the `history` frame. Posting is the hot path: with the memory
 * engine it stays synchronous, so a message is in line before the frame handler returns.
 */
import { formatId, parseId } from '../domain/history.ts'
import { checkContent } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type { HistoryFrame, RoomId, ServerFrame, StoredMessage } from '../protocol/frames.ts'
import type { RoomEngine } from './engine.ts'
import type { Maybe, Post, PostOutcome, SessionHandle } from './records.ts'

/** A member posting, as their node knows them. */
export interface Poster {
  readonly room: RoomId
  readonly key: string
  readonly username: string
  readonly session: SessionHandle
  /** Their user id when signed in (AUTH_MODE). */
  readonly userId: string | undefined
  /** The end (ms) of their mute in the room, as their node knows it (0: none). */
  readonly mutedUntil: number
}

/** `message`: stores the message and sends it to every member, the sender included. */
export function post(
  engine: RoomEngine,
  member: Poster,
  content: string,
  now: number,
  maxContentChars: number,
  /** Ends the poster's typing indicator: a message says they stopped. */
  stopTyping: () => void,
  /** The id of the message it replies to (`reply_to`), if any. */
  replyTo?: string,
): Maybe<void> {
  if (member.mutedUntil > now) throw new ChatError('not_authorized', 'You are muted in this room')
  checkContent(content, maxContentChars)
  if (replyTo !== undefined && parseId(replyTo) === undefined)
    throw new ChatError('message_not_found', `No message "${replyTo.slice(0, 40)}" in this room`)
  stopTyping()
  const message: Post = {
    key: member.key,
    session: member.session,
    username: member.username,
    content,
    now,
    userId: member.userId,
    replyTo: replyTo === undefined ? undefined : formatId(parseId(replyTo) as number),
  }
  const out = engine.post(member.room, message)
  if (out instanceof Promise) return out.then((outcome) => posted(engine, member, message, outcome))
  posted(engine, member, message, out)
}

/** What `post` does once the engine answered: an error for a refusal, else the event. */
function posted(engine: RoomEngine, member: Poster, message: Post, outcome: PostOutcome): void {
  if (outcome === 'muted') throw new ChatError('not_authorized', 'You are muted in this room')
  if (outcome === 'not_member')
    throw new ChatError('not_authorized', 'You have not joined this room')
  if (outcome === 'no_reply')
    throw new ChatError('message_not_found', 'The message replied to is not kept in this room')
  // Nobody listens without webhooks (or with webhooks for other events): build nothing.
  if (!engine.events.wants('message.created')) return
  const stored: StoredMessage = {
    id: outcome.posted,
    type: 'text',
    sender: member.username,
    content: message.content,
    timestamp: message.now,
    room_id: member.room,
  }
  if (member.userId !== undefined) stored.user_id = member.userId
  if (message.replyTo !== undefined) stored.reply_to = message.replyTo
  engine.events.emit('message.created', { room: member.room, message: stored })
}

/**
 * `history`: a page of a room's messages, for its members, or for anyone in a public
 * room. `isMember` says whether the asker is in the room.
 */
export async function history(
  engine: RoomEngine,
  frame: HistoryFrame,
  isMember: (room: RoomId) => boolean,
  reply: (frame: ServerFrame) => void,
): Promise<void> {
  const room = await engine.room(frame.room)
  if (room.isPrivate && !isMember(room.id))
    throw new ChatError('not_authorized', 'You have not joined this room')
  const { messages, has_more } = await engine.page(room.id, frame.before, frame.limit)
  const out: ServerFrame = { type: 'history', room: room.id, messages, has_more }
  if (frame.ref !== undefined) out.ref = frame.ref
  reply(out)
}
