/**
 * The memory engine's changes to kept messages (src/chat/engine.ts, Amendment): the message
 * rewritten in its latest state in the room's history, the change logged after it.
 */
import type { Amendment, MessageRecord } from '../chat/records.ts'
import type { ChangeFrame, MessageId, StoredMessage } from '../protocol/frames.ts'
import type { Room } from './room.ts'

/** The kept message with this id as the rules read it, or undefined. */
export function messageRecord(room: Room, id: MessageId): MessageRecord | undefined {
  const m = room.history.find(id)
  if (!m) return undefined
  return {
    type: m.type,
    deleted: m.deleted === true,
    userId: m.user_id,
    sender: m.sender,
  }
}

/**
 * Applies `a` to its message and logs it: the frame the room gets (its `event_id` and a
 * reaction's `count` filled in), or why not (the message is gone, or too many emoji).
 */
export function changeMessage(
  room: Room,
  a: Amendment,
): { frame: ChangeFrame; count: number } | 'no_message' | 'reaction_limit' {
  const m = room.history.find(a.id)
  if (!m || m.deleted || m.type === 'system') return 'no_message'
  let count = 0
  switch (a.kind) {
    case 'edit':
      m.content = a.content
      m.edited_at = a.now
      break
    case 'delete':
      tombstone(m)
      room.reactors.delete(m)
      break
    case 'react': {
      const after = react(room, m, a)
      if (after === 'reaction_limit') return after
      count = after
      break
    }
  }
  room.messageChanged()
  const frame = room.logChange((eventId) =>
    a.frame.type === 'reaction'
      ? { ...a.frame, event_id: eventId, count }
      : { ...a.frame, event_id: eventId },
  )
  return { frame, count }
}

/** A deleted message keeps its place, sender and time, nothing of what it said. */
function tombstone(m: StoredMessage): void {
  delete m.content
  delete m.edited_at
  delete m.reactions
  delete m.reply_to
  m.deleted = true
}

/** Sets or clears one reaction of `a.username` on `m`; the emoji's count after, or the limit. */
function react(
  room: Room,
  m: StoredMessage,
  a: Extract<Amendment, { kind: 'react' }>,
): number | 'reaction_limit' {
  let byEmoji = room.reactors.get(m)
  if (!byEmoji) {
    byEmoji = new Map()
    room.reactors.set(m, byEmoji)
  }
  let users = byEmoji.get(a.emoji)
  if (a.on) {
    if (!users) {
      if (byEmoji.size >= a.maxEmoji) return 'reaction_limit'
      users = new Set()
      byEmoji.set(a.emoji, users)
    }
    users.add(a.username)
  } else if (users) {
    users.delete(a.username)
    if (users.size === 0) byEmoji.delete(a.emoji)
  }
  const count = users?.size ?? 0
  const reactions = m.reactions ?? {}
  if (count > 0)
    reactions[a.emoji] = { count, users: [...(users as Set<string>)].slice(0, a.maxUsers) }
  else delete reactions[a.emoji]
  if (Object.keys(reactions).length > 0) m.reactions = reactions
  else delete m.reactions
  return count
}
