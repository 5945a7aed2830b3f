import type { Identity } from '../auth/tokens.ts'
import { type Amender, amend } from '../chat/amend.ts'
import { type DirectBook, listDirects, noticeDirect, openDirect } from '../chat/direct.ts'
import { isDirectRoom } from '../chat/direct-ids.ts'
import {
  create,
  type Held,
  type Joiner,
  join,
  leave,
  revoke,
  revokedBy,
} from '../chat/membership.ts'
import { history, type Poster, post } from '../chat/messages.ts'
import { moderate } from '../chat/moderation.ts'
import type { Reader, ReadMarkers } from '../chat/read-markers.ts'
import { type CreationContext, createRoom } from '../chat/rooms.ts'
import { banIdentity } from '../chat/sign-in.ts'
import type {
  AmendFrame,
  CreateFrame,
  DirectFrame,
  DirectsFrame,
  HistoryFrame,
  JoinFrame,
  MessageFrame,
  ModerationFrame,
  MuteFrame,
  ReadFrame,
  Ref,
  RoomId,
} from '../protocol/frames.ts'
import type { Announcer } from './announcer.ts'
import type { FrameHandlers } from './chat-store.ts'
import type { Guard } from './guard.ts'
import type { Membership } from './membership.ts'
import type { MemoryEngine } from './memory-engine.ts'
import type { Connection, Member, Session } from './room.ts'
import type { Sessions } from './sessions.ts'

/** What the frame handlers use of RoomStore's parts. */
export interface MemoryFrameParts {
  engine: MemoryEngine
  sessions: Sessions
  membership: Membership
  announce: Announcer
  guard: Guard
  creation: CreationContext
  /** Each user's direct rooms, and their notices (src/chat/direct.ts). */
  directs: DirectBook
  maxContentChars: number
  readMarkersMaxMembers: number
  readers: ReadMarkers<MemoryReader>
  now: () => number
}

/** A reader of a room, with the member record the `read` frames go out from. */
export interface MemoryReader extends Reader {
  readonly member: Member
}

/**
 * The chat frames of one process (join, create, message, typing, leave, history and
 * moderation): each finds the connection's session, charges its rate limit and calls the
 * rule in src/chat over the memory engine. RoomStore hands the frames here.
 */
export class MemoryFrames implements FrameHandlers<Connection> {
  private readonly engine: MemoryEngine
  private readonly sessions: Sessions
  private readonly membership: Membership
  private readonly announce: Announcer
  private readonly guard: Guard
  private readonly creation: CreationContext
  private readonly directs: DirectBook
  private readonly maxContentChars: number
  private readonly readMarkersMaxMembers: number
  private readonly readers: ReadMarkers<MemoryReader>
  private readonly now: () => number

  constructor(parts: MemoryFrameParts) {
    this.engine = parts.engine
    this.sessions = parts.sessions
    this.membership = parts.membership
    this.announce = parts.announce
    this.guard = parts.guard
    this.creation = parts.creation
    this.directs = parts.directs
    this.maxContentChars = parts.maxContentChars
    this.readMarkersMaxMembers = parts.readMarkersMaxMembers
    this.readers = parts.readers
    this.now = parts.now
  }

  /** `join`: admits the client under `username`, checking bans, token, password, size and name. */
  join(conn: Connection, frame: JoinFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    return join(this.engine, this.joiner(conn, client), frame, this.now)
  }

  /** `create`: creates a room and joins its creator as moderator. */
  create(conn: Connection, frame: CreateFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    return create(
      this.engine,
      this.joiner(conn, client),
      frame,
      () => createRoom(this.engine, this.creation, frame, client.address, client.user?.id),
      this.now,
    )
  }

  /** `direct`: joins the direct room of the user and `user_id`, made first if new. */
  direct(conn: Connection, frame: DirectFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const ctx = {
      book: this.directs,
      creation: this.creation,
      join: (who: Joiner, f: JoinFrame) => join(this.engine, who, f, this.now),
    }
    return openDirect(this.engine, ctx, this.joiner(conn, client), frame)
  }

  /** `directs`: the user's direct rooms. */
  listDirects(conn: Connection, frame: DirectsFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    return listDirects(this.engine, this.directs, client.user, frame, (f) => client.peer?.send(f))
  }

  /** The session of `conn` as the join rules see it. */
  private joiner(conn: Connection, client: Session): Joiner {
    return {
      session: client,
      identity: banIdentity(client, client),
      user: client.user,
      address: client.address,
      passwordBuckets: () => [client.passwordAttempts, this.guard.passwordBucket(client.address)],
      memberOf: (room) => client.rooms.get(room),
      live: () => conn.client === client && client.peer === conn,
      reply: (json) => client.peer?.sendJson(json),
      readMarkersMaxMembers: this.readMarkersMaxMembers,
    }
  }

  /** `message`: stores the message and sends it to every member, the sender included. */
  message(conn: Connection, frame: MessageFrame): void {
    const client = this.sessions.clientOf(conn)
    // Count before the membership check, or messages to a room one is not in would flood freely.
    this.sessions.limit(client, client.messages)
    const member = this.membership.memberOf(client, frame.room)
    const poster = posterOf(client, member)
    post(
      this.engine,
      poster,
      frame.content,
      this.now(),
      this.maxContentChars,
      () => this.announce.stopTyping(member),
      frame.reply_to,
    )
    if (isDirectRoom(poster.room))
      noticeDirect(this.engine, this.directs, poster.room, poster).catch((e) =>
        this.creation.logger.error('direct notice failed', { room: poster.room, error: String(e) }),
      )
  }

  /** `edit`, `delete`, `react`: a change to a kept message, counted as a message. */
  amend(conn: Connection, frame: AmendFrame): void {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.messages)
    const member = this.membership.memberOf(client, frame.room)
    const amender: Amender = { ...posterOf(client, member), moderator: member.moderator }
    amend(this.engine, amender, frame, this.now(), this.maxContentChars)
  }

  /** `typing`: shows the member as typing to the others; throttled, never answered with an error. */
  typing(conn: Connection, roomId: RoomId): void {
    const client = this.sessions.clientOf(conn)
    if (!this.sessions.limit(client, client.frames, true)) return
    const member = this.membership.memberOf(client, roomId)
    this.announce.typing(member, member.room.mutes.get(member.key) ?? 0)
  }

  /** `read`: moves the member's read marker forward; the others hear `read` (coalesced). */
  read(conn: Connection, frame: ReadFrame): void {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const member = this.membership.memberOf(client, frame.room)
    const reader: MemoryReader = {
      room: member.room.id,
      key: member.key,
      username: member.username,
      userId: client.user?.id,
      member,
    }
    this.readers.read(reader, client, frame.id)
  }

  /** `leave`: the member leaves the room and gets `left`. */
  leave(conn: Connection, roomId: RoomId, ref: Ref | undefined): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const member = this.membership.memberOf(client, roomId)
    return leave(this.engine, this.held(member), ref, this.now(), (left) => client.peer?.send(left))
  }

  /** A refreshed sign-in: the rooms its new grants no longer allow are left (`access_revoked`). */
  async refreshed(client: Session, old: Identity, next: Identity): Promise<void> {
    for (const member of [...client.rooms.values()]) {
      if (!revokedBy(old, next, member.room, member.moderator)) continue
      await revoke(this.engine, this.held(member), this.now(), (left) => client.peer?.send(left))
    }
  }

  /** A member as the rules see them; the memory engine's session handle is the Session. */
  held(member: Member): Held & { moderator: boolean } {
    return {
      room: member.room.id,
      key: member.key,
      username: member.username,
      moderator: member.moderator,
      session: member.client,
      userId: member.client.user?.id,
    }
  }

  /** `history`: a page of a room's messages, for its members or for anyone in a public room. */
  history(conn: Connection, frame: HistoryFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    return history(
      this.engine,
      frame,
      (room) => client.rooms.has(room),
      (reply) => client.peer?.send(reply),
    )
  }

  /** `ban`, `kick`, `unban`, `mute`, `unmute` from a moderator of the room. */
  moderate(conn: Connection, frame: ModerationFrame | MuteFrame): Promise<void> {
    const client = this.sessions.clientOf(conn)
    this.sessions.limit(client, client.frames)
    const mod = this.membership.memberOf(client, frame.room)
    return moderate(
      this.engine,
      {
        room: mod.room.id,
        key: mod.key,
        username: mod.username,
        moderator: mod.moderator,
        session: client,
      },
      frame,
      this.now,
      (ack) => client.peer?.send(ack),
    )
  }
}

/** The member of a session, as the message rules see a poster. */
function posterOf(client: Session, member: Member): Poster {
  return {
    room: member.room.id,
    key: member.key,
    username: member.username,
    session: client,
    userId: client.user?.id,
    mutedUntil: member.room.mutes.get(member.key) ?? 0,
  }
}
