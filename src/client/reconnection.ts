/**
 * What the client does to come back after a dropped connection: when to try again, and
 * how to get its rooms back — resume the old session with the last message id seen per
 * room, or, if the server no longer knows it, join each room again — delivering what was
 * missed exactly once.
 */
import { backoffDelay } from './backoff.ts'
import { compareIds, follows } from './message-id.ts'
import type { Credentials, Outgoing, Pending, Requests } from './requests.ts'
import type {
  ChangeFrame,
  ChatRequestError,
  ErrorFrame,
  FrameOf,
  JoinedFrame,
  MessageFrame,
  ReconnectedInfo,
  RoomMembership,
  StoredMessage,
  SystemFrame,
} from './types.ts'

/** The server's close codes the client treats specially (docs/protocol.md, "Close codes"). */
export const CLOSE = {
  /** Not signed in, or the token expired (AUTH_MODE). */
  unauthenticated: 4401,
  /** Flooding or over the per-address cap: come back, but not right away. */
  policy: 1008,
  /** In no room for too long: connect again when needed. */
  idle: 4000,
  /** The session was resumed on another connection: this one must not come back. */
  replaced: 4001,
  /** The app's backend disconnected the user: do not come back on your own. */
  forbidden: 4403,
} as const

/** How long to wait before the next connection attempt after a close with `code`. */
export function reconnectDelay(
  code: number,
  attempt: number,
  shutdownHintMs: number | undefined,
  delays: { minDelayMs: number; maxDelayMs: number; random: () => number },
): number {
  // The server spread its clients' returns itself: honour its delay exactly.
  if (shutdownHintMs !== undefined) return shutdownHintMs
  if (code === CLOSE.policy) return delays.maxDelayMs
  return backoffDelay(attempt, delays.minDelayMs, delays.maxDelayMs, delays.random)
}

/** A stored message as the live frame it was sent as (what a resume replays); none if deleted. */
function liveFrame(m: StoredMessage): (MessageFrame | SystemFrame)[] {
  if (m.deleted) return []
  const content = m.content ?? ''
  if (m.type !== 'text')
    return [{ type: 'system', room: m.room_id, id: m.id, content, ts: m.timestamp }]
  const frame: MessageFrame = {
    type: 'message',
    room: m.room_id,
    id: m.id,
    sender: m.sender,
    content,
    ts: m.timestamp,
  }
  // The client bundle takes nothing of the server's code: this mirrors src/domain/rules.ts.
  if (m.user_id !== undefined) frame.user_id = m.user_id
  if (m.reply_to !== undefined) frame.reply_to = m.reply_to
  if (m.edited_at !== undefined) frame.edited_at = m.edited_at
  if (m.reactions !== undefined) frame.reactions = m.reactions
  return [frame]
}

/** The rooms the client is in, and how it gets them back on a new connection. */
export class RoomRecovery {
  readonly memberships = new Map<string, RoomMembership>()
  private readonly credentials = new Map<string, Credentials>()
  /** Per room, whether the last re-join's history reached back to what we had seen. */
  private readonly rejoinRecovered = new Map<string, boolean>()
  /** Per room, the id of the newest message or note seen (`lastId` may be a change's). */
  private readonly newestMessage = new Map<string, string>()
  /** The `session` of the current connection's `welcome`. */
  session: string | undefined
  /** The session the server files our rooms under: the one to resume. */
  private resumeToken: string | undefined
  /** While a resume is under way: its ref and what the server answered to it. */
  private resuming:
    | { ref: string; failed: boolean; answered: Set<string>; recovered: boolean }
    | undefined

  constructor(
    private readonly requests: Requests,
    /** Writes a frame on the current connection (if any). */
    private readonly write: (frame: Outgoing) => void,
  ) {}

  /** The connection is gone: a resume under way on it is over. */
  detach(): void {
    this.resuming = undefined
  }

  /** In no room any more (or closed): nothing to keep. */
  forgetRooms(): void {
    this.memberships.clear()
    this.credentials.clear()
    this.newestMessage.clear()
  }

  /** Closed for good: forget everything. */
  reset(): void {
    this.forgetRooms()
    this.rejoinRecovered.clear()
  }

  forgetRoom(room: string): void {
    this.memberships.delete(room)
    this.credentials.delete(room)
    this.rejoinRecovered.delete(room)
    this.newestMessage.delete(room)
  }

  /**
   * After a reconnect: resume the old session with the last id seen per room, or, if the
   * server no longer knows it, join each room again. Resolves once every room is settled;
   * rejects if the connection failed on the way.
   */
  async restore(): Promise<ReconnectedInfo> {
    let recovered = true
    let resumed = false
    let missing = [...this.memberships.keys()]
    if (missing.length > 0 && this.resumeToken !== undefined) {
      const state = {
        ref: this.requests.ref(),
        failed: false,
        answered: new Set<string>(),
        recovered: true,
      }
      this.resuming = state
      const lastIds = Object.fromEntries(
        [...this.memberships.values()].flatMap((m) =>
          m.lastId === undefined ? [] : [[m.room, m.lastId]],
        ),
      )
      this.write({
        action: 'resume',
        session: this.resumeToken,
        last_ids: lastIds,
        ref: state.ref,
      })
      // The server answers frames in order: the pong to a ping sent behind the resume
      // comes after every `resumed` and every replayed message.
      await this.requests.internal({ action: 'ping' }, ['pong'])
      if (this.resuming === state) this.resuming = undefined
      if (!state.failed) {
        resumed = true
        recovered = state.recovered
        missing = missing.filter((room) => this.memberships.has(room) && !state.answered.has(room))
      } else missing = [...this.memberships.keys()]
    }
    const results = await Promise.all(missing.map((room) => this.rejoin(room)))
    if (results.includes(false)) recovered = false
    return { recovered, resumed }
  }

  /** Joins a room again under the same name; false if refused (the room is then dropped). */
  private async rejoin(room: string): Promise<boolean> {
    const membership = this.memberships.get(room)
    if (!membership) return true
    const credentials = this.credentials.get(room) ?? {}
    try {
      await this.requests.internal(
        { action: 'join', room, username: membership.username, ...credentials },
        ['joined'],
        true,
      )
      return this.rejoinRecovered.get(room) ?? true
    } catch (error) {
      const code = (error as ChatRequestError).code
      if (code === 'timeout' || code === 'disconnected' || code === 'closed') throw error
      this.forgetRoom(room)
      return false
    }
  }

  /** Whether a message or system note is new in its room; records it as the last seen. */
  firstSight(frame: MessageFrame | SystemFrame): boolean {
    if (!this.firstOf(frame.room, frame.id)) return false
    this.newestMessage.set(frame.room, frame.id)
    return true
  }

  /**
   * Whether a change (edit, delete, reaction) is new in its room: its `event_id` is of the
   * same sequence as message ids, so one seen already (a resume's overlap) is dropped.
   */
  firstChange(frame: ChangeFrame): boolean {
    return this.firstOf(frame.room, frame.event_id)
  }

  /** Whether `id` is past the last id seen in `room`; records it as the last seen. */
  private firstOf(room: string, id: string): boolean {
    const membership = this.memberships.get(room)
    if (!membership) return true
    if (membership.lastId !== undefined && compareIds(id, membership.lastId) <= 0) return false
    membership.lastId = id
    return true
  }

  /**
   * Files the room (`p` is the request it answers, if any). For a room we were already in
   * (joined again after the session was lost), returns the messages in its history we had
   * not seen, to deliver after it.
   */
  onJoined(frame: JoinedFrame, p: Pending | undefined): (MessageFrame | SystemFrame)[] {
    this.resumeToken = this.session
    if (p?.credentials) {
      this.credentials.set(frame.room, {
        password: p.credentials.password,
        token: p.credentials.token ?? frame.moderator_token,
      })
    }
    const known = this.memberships.get(frame.room)
    const knownNewest = this.newestMessage.get(frame.room)
    const newest = frame.history.at(-1)?.id
    const membership: RoomMembership = {
      room: frame.room,
      username: frame.username,
      moderator: frame.moderator,
      lastId: newest,
    }
    this.memberships.set(frame.room, membership)
    if (newest === undefined) this.newestMessage.delete(frame.room)
    else this.newestMessage.set(frame.room, newest)
    if (!known) return []
    // What we saw last may be a change (an `event_id`), newer than any message kept: the
    // newest *message* we saw tells whether the room is the one we knew.
    const seen = known.lastId
    if (seen === undefined) {
      membership.lastId = undefined
      this.rejoinRecovered.set(frame.room, true)
      return frame.history.flatMap(liveFrame)
    }
    if (
      newest === undefined ||
      (knownNewest !== undefined && compareIds(newest, knownNewest) < 0)
    ) {
      // The room is newer than what we saw (the server restarted): its sequence began
      // again, so all of it is new, and what came after `seen` in the old one is gone.
      membership.lastId = undefined
      this.rejoinRecovered.set(frame.room, false)
      return frame.history.flatMap(liveFrame)
    }
    // The history is the latest state (the `joined` event carries it: edits, deletes and
    // reactions made while away are in it); only messages past `seen` are new.
    const unseen = frame.history.filter((m) => compareIds(m.id, seen) > 0)
    const first = frame.history[0]
    this.rejoinRecovered.set(frame.room, first === undefined || follows(first.id, seen))
    // The unseen messages are delivered after `joined`, each moving `lastId` on.
    membership.lastId = seen
    return unseen.flatMap(liveFrame)
  }

  onResumed(frame: FrameOf<'resumed'>): void {
    this.resumeToken = this.session
    const known = this.memberships.get(frame.room)
    this.memberships.set(frame.room, {
      room: frame.room,
      username: frame.username,
      moderator: frame.moderator,
      lastId: known?.lastId,
    })
    const resuming = this.resuming
    if (resuming && String(frame.ref) === resuming.ref) {
      resuming.answered.add(frame.room)
      if (!frame.recovered) resuming.recovered = false
    }
  }

  /**
   * An error answering the resume under way: true when consumed (no event), false when it
   * reaches the `error` event; undefined when `ref` is not the resume's.
   */
  onResumeError(frame: ErrorFrame, ref: string): boolean | undefined {
    const resuming = this.resuming
    if (!resuming || ref !== resuming.ref) return undefined
    if (frame.room !== undefined) {
      // Removed while away (banned, kicked, or the room was deleted): tell the consumer.
      this.forgetRoom(frame.room)
      resuming.answered.add(frame.room)
      return false
    }
    // Unknown or expired session: the rooms are joined again instead.
    resuming.failed = true
    this.resumeToken = undefined
    return true
  }
}
