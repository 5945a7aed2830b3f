import { ChatError } from '../protocol/errors.ts'
import type { ResumeFrame, ServerFrame } from '../protocol/frames.ts'
import { parseId } from './history.ts'
import type { Member } from './room.ts'
import { CLOSE, replayFrame } from './rules.ts'
import type { Connection, Session } from './session.ts'

/** What a resume needs of the store's sessions and connections; RoomStore provides it. */
export interface ResumeHost {
  /** Live and away sessions by their token. */
  readonly sessions: Map<string, Session>
  /** Every open connection. */
  readonly connections: Iterable<Connection>
  stopTyping(member: Member): void
  /** Tells the member's room that they are online again. */
  presence(member: Member): void
  /** Cancels the session's resume grace timer. */
  clearGrace(client: Session): void
  /** Drops a session: its timers, its typing and its token. */
  forget(client: Session): void
  /** A `resumed` frame went out (for the metrics). */
  resumed(recovered: boolean): void
  /** Closes the connection if it joins no room in time. */
  watchUnjoined(client: Session): void
}

/**
 * `resume`: this connection takes over the session named by the token (its own fresh
 * session `fresh` is dropped). For each room the client gets `resumed`, then every message
 * after its `last_ids` entry, in order, before anything new; `recovered: false` where
 * some fell out of the kept history. The token is spent: next time the client uses the
 * session of this connection's `welcome`.
 */
export function resumeSession(
  host: ResumeHost,
  conn: Connection,
  fresh: Session,
  frame: ResumeFrame,
): void {
  if (conn.resumed || fresh.rooms.size > 0) {
    throw new ChatError('invalid_message', 'Resume must come before any join, once per connection')
  }
  const old = host.sessions.get(frame.session)
  if (!old || old === fresh) throw new ChatError('not_authorized', 'Unknown or expired session')
  conn.resumed = true
  // A session whose old connection still looks open (a half-dead socket) is taken over.
  const takeover = old.peer !== undefined
  if (old.peer) {
    for (const member of old.rooms.values()) host.stopTyping(member)
    const previous = old.peer
    old.peer = undefined
    for (const c of host.connections) if (c.client === old) c.client = undefined
    previous.close(CLOSE.replaced, 'Session resumed on another connection')
  }
  host.clearGrace(old)
  host.sessions.delete(old.session)
  host.forget(fresh)
  old.session = fresh.session
  host.sessions.set(old.session, old)
  old.peer = conn.peer
  conn.client = old
  for (const [roomId, how] of old.removedWhileAway ?? []) {
    const err: ServerFrame = {
      type: 'error',
      code: how === 'deleted' ? 'room_not_found' : 'not_authorized',
      message: awayMessage(how),
      room: roomId,
    }
    if (frame.ref !== undefined) err.ref = frame.ref
    conn.peer.send(err)
  }
  old.removedWhileAway = undefined
  for (const member of old.rooms.values()) {
    const room = member.room
    room.statusChanged()
    conn.peer.subscribe(room.id)
    // The others saw an offline user come back; after a takeover they saw no change.
    if (!takeover) host.presence(member)
    const lastId = frame.last_ids?.[room.id]
    const seen = lastId === undefined ? 0 : (parseId(lastId) ?? 0)
    const { messages, complete } = room.history.since(seen)
    const resumed: ServerFrame = {
      type: 'resumed',
      room: room.id,
      username: member.username,
      moderator: member.moderator,
      recovered: complete,
      users: room.users(),
    }
    if (frame.ref !== undefined) resumed.ref = frame.ref
    conn.peer.send(resumed)
    host.resumed(complete)
    for (const m of messages) conn.peer.send(replayFrame(m))
  }
  if (old.rooms.size === 0) host.watchUnjoined(old)
}

/** Why a room is gone from a session that was away. */
function awayMessage(how: 'banned' | 'kicked' | 'deleted'): string {
  return how === 'banned'
    ? 'You were banned from this room'
    : how === 'kicked'
      ? 'You were kicked from this room'
      : 'The room was deleted'
}
