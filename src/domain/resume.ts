import {
  awayError,
  checkResumable,
  checkSomethingToResume,
  resumedRoom,
  unknownSession,
} from '../chat/resume.ts'
import { type SignIns, userIdentity } from '../chat/sign-in.ts'
import type { ReadState, ResumeFrame } from '../protocol/frames.ts'
import type { Connection, Member, Session } from './room.ts'
import { CLOSE } from './rules.ts'

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
  /** Who may resume a signed-in session, and its sign-in moving to the resumed session. */
  readonly signIns: SignIns
  /** The member's `read` and `unread` now (src/chat/read-markers.ts). */
  readState(member: Member): ReadState
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
  checkResumable(conn.resumed, fresh.rooms.size)
  const old = host.sessions.get(frame.session)
  if (!old || old === fresh) throw unknownSession()
  checkSomethingToResume(old.rooms.size, old.removedWhileAway?.size ?? 0)
  host.signIns.checkResume(old.user && userIdentity(old.user), fresh)
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
  host.signIns.transfer(fresh, old)
  host.forget(fresh)
  old.session = fresh.session
  host.sessions.set(old.session, old)
  old.peer = conn.peer
  conn.client = old
  for (const [roomId, how] of old.removedWhileAway ?? [])
    conn.peer.send(awayError(roomId, how, frame.ref))
  old.removedWhileAway = undefined
  for (const member of old.rooms.values()) {
    const room = member.room
    room.statusChanged()
    conn.peer.subscribe(room.id)
    // The others saw an offline user come back; after a takeover, or while another tab or
    // device of the user was there, they saw no change.
    const others = member.group.some((m) => m !== member && m.client.peer !== undefined)
    if (!takeover && !others) host.presence(member)
    const { frames, recovered } = resumedRoom(
      {
        room: room.id,
        username: member.username,
        moderator: member.moderator,
        users: room.users(),
      },
      { history: room.history.all(), lastSeq: room.history.lastSeq },
      frame.last_ids?.[room.id],
      frame.ref,
      host.readState(member),
    )
    for (const f of frames) conn.peer.send(f)
    host.resumed(recovered)
  }
  if (old.rooms.size === 0) host.watchUnjoined(old)
}
