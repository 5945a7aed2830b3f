/**
 * The memory store's half of `resume` (the rules are src/chat/resume.ts): the session named
 * by the token is an object of this process, and it moves whole to the resuming connection
 * (its rooms, its rate limits, its ban identity); the connection's own fresh session is dropped.
 */
import type { Maybe } from '../chat/records.ts'
import { type ClaimedRoom, type ResumePort, resume } from '../chat/resume.ts'
import { type SignIns, userIdentity } from '../chat/sign-in.ts'
import type { ReadState, ResumeFrame } from '../protocol/frames.ts'
import { type Connection, isOnline, type Member, type Session } from './room.ts'
import { CLOSE } from './rules.ts'

/** What a resume needs of the store's sessions and connections; Sessions provides it. */
export interface ResumeHost {
  /** Live and away sessions by their token. */
  readonly sessions: Map<string, Session>
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

/** A room of the resumed session, with its membership here. */
interface HeldRoom extends ClaimedRoom {
  readonly member: Member
}

/** `resume` for `conn`, whose own session is `fresh` (see src/chat/resume.ts); synchronous. */
export function resumeSession(
  host: ResumeHost,
  conn: Connection,
  fresh: Session,
  frame: ResumeFrame,
): Maybe<void> {
  return resume(resumePort(host, conn, fresh), conn, fresh.rooms.size, frame, (user) =>
    host.signIns.checkResume(user, fresh),
  )
}

function resumePort(host: ResumeHost, conn: Connection, fresh: Session): ResumePort<HeldRoom> {
  const named = (token: string): Session | undefined => {
    const old = host.sessions.get(token)
    return old === fresh ? undefined : old
  }
  return {
    find: (token) => {
      const old = named(token)
      return (
        old && {
          user: old.user && userIdentity(old.user),
          rooms: old.rooms.size,
          lost: old.removedWhileAway?.size ?? 0,
        }
      )
    },
    claim: (token) => {
      const old = named(token) as Session
      // As the rooms saw them before: online if this hold still looked connected or another was.
      const wasOnline = new Map([...old.rooms.values()].map((m) => [m, isOnline(m)]))
      if (old.peer) {
        // A half-dead socket that still looks open: taken over.
        for (const member of old.rooms.values()) host.stopTyping(member)
        const previous = old.peer
        old.peer = undefined
        // The old connection is the store's record too (see Peer): it serves nobody now.
        previous.client = undefined
        previous.close(CLOSE.replaced, 'Session resumed on another connection')
      }
      host.clearGrace(old)
      host.sessions.delete(old.session)
      host.signIns.transfer(fresh, old)
      host.forget(fresh)
      old.session = fresh.session
      host.sessions.set(old.session, old)
      old.peer = conn
      conn.client = old
      const lost = [...(old.removedWhileAway ?? [])]
      old.removedWhileAway = undefined
      const rooms = [...old.rooms.values()].map((member): HeldRoom => {
        const room = member.room
        room.statusChanged()
        return {
          member,
          room: room.id,
          username: member.username,
          moderator: member.moderator,
          wasOnline: wasOnline.get(member) ?? false,
          users: room.users(),
          kept: { history: room.history.all(), lastSeq: room.history.lastSeq },
          read: host.readState(member),
        }
      })
      return { rooms, lost }
    },
    live: () => true,
    send: (frame) => conn.send(frame),
    enter: (room, announce) => {
      conn.subscribe(room.room)
      if (announce) host.presence(room.member)
    },
    admitted: () => {},
    resumed: (recovered) => host.resumed(recovered),
    settled: (rooms) => {
      if (rooms === 0 && conn.client) host.watchUnjoined(conn.client)
    },
  }
}
