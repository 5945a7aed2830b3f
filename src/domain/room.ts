import { createHash, timingSafeEqual } from 'node:crypto'
import { RateLimited, type SessionLimits } from '../chat/limits.ts'
import type { TypingState } from '../chat/typing.ts'
import type { ChangeFrame, RoomId, StoredMessage, UserView } from '../protocol/frames.ts'
import type { Clock, TimerHandle } from './clock.ts'
import { formatId, History } from './history.ts'
import { ROOM_PASSWORD_BUCKET } from './password-check.ts'
import type { Peer } from './ports.ts'
import { SmallMap } from './small-map.ts'
import { TokenBucket } from './token-bucket.ts'

/** One user in one room. A client may be a member of several rooms, under a name in each. */
export interface Member {
  readonly client: Session
  readonly room: Room
  readonly username: string
  /** `userKey(username)`: the case-insensitive key in `room.members`. */
  readonly key: string
  readonly moderator: boolean
  /** The sequence number of the membership's join note (MemberRecord.joinSeq). */
  readonly joinSeq: number
  /** Made at their first typing frame (src/chat/typing.ts): most members never type. */
  typingState: TypingState | undefined
  /**
   * The sessions that hold this membership, one Member each, this one among them, when a
   * signed-in user's tabs or devices share it; undefined while this member is its only
   * holder (an anonymous user always), so that most members need no array; empty once the
   * membership has ended. `room.members` files the first holder. Read it through
   * `holders`, `holderCount`, `isOnline`; membership.ts changes it.
   */
  group: Member[] | undefined
}

/** The sessions that hold `member`'s membership, `member` among them (none once it ended). */
export function holders(member: Member): readonly Member[] {
  return member.group ?? [member]
}

/** How many sessions hold `member`'s membership. */
export function holderCount(member: Member): number {
  return member.group === undefined ? 1 : member.group.length
}

/** Whether any session that holds the membership is connected. */
export function isOnline(member: Member): boolean {
  const group = member.group
  if (group === undefined) return member.client.peer !== undefined
  for (const m of group) if (m.client.peer !== undefined) return true
  return false
}

export interface Ban {
  username: string
  by: string
  /** Milliseconds since the epoch. */
  at: number
  /** When a timed ban ends (ms since the epoch); none for a ban until lifted. */
  until?: number
}

/** Whether a ban is in force at `now`: on record, and not a timed ban that ended. */
export function inForce(ban: Ban | undefined, now: number): boolean {
  return ban !== undefined && (ban.until === undefined || ban.until > now)
}

/** The REST view of a room. */
export interface RoomView {
  id: RoomId
  name: string
  is_private: boolean
  max_users: number
  user_count: number
  created_at: number
  /** Present, as `signed_in`, on a room only signed-in users may join. */
  members?: 'signed_in'
}

export interface RoomInit {
  id: RoomId
  name: string
  isPrivate: boolean
  maxUsers: number
  passwordHash: string | undefined
  /** Only signed-in users may join. */
  signedIn?: boolean
  /** The signed-in user who created it. */
  createdBy?: string | undefined
  moderatorToken: string
  /** Default rooms are never deleted. */
  permanent: boolean
  /** When it was made (ms); now, when not given. */
  createdAt?: number
}

/** Joins between two flattenings of a room's cached user list (see `addMember`). */
const FLATTEN_EVERY = 16

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** A room's state. Only RoomStore changes it. */
export class Room {
  readonly id: RoomId
  readonly name: string
  readonly isPrivate: boolean
  readonly maxUsers: number
  readonly signedIn: boolean
  readonly createdBy: string | undefined
  readonly permanent: boolean
  readonly createdAt: number
  /** argon2id hash of the password (private rooms only). */
  readonly passwordHash: string | undefined
  /** SHA-256 of the moderator token; the token itself is random, so a fast hash is enough. */
  private readonly tokenHash: Buffer
  readonly members = new Map<string, Member>()
  readonly history: History
  /** Banned usernames by key. */
  readonly bans = new Map<string, Ban>()
  /**
   * Banned sessions (a Session, or `user:<sub>` for a signed-in user), with the username key
   * they were banned under.
   */
  readonly bannedClients = new Map<unknown, string>()
  /** Muted username keys, with the time the mute ends. */
  readonly mutes = new Map<string, number>()
  /** Who reacted to a kept message with what, in full (its `reactions` lists the first 50). */
  readonly reactors = new WeakMap<StoredMessage, Map<string, Set<string>>>()
  /** Wrong-password attempts against this room. */
  readonly passwordAttempts: TokenBucket
  emptyTimer: TimerHandle | undefined
  /** When the room last lost its last member (ms); undefined while it has members. */
  emptiedAt: number | undefined

  constructor(init: RoomInit, historyLimit: number, clock: Clock) {
    this.id = init.id
    this.name = init.name
    this.isPrivate = init.isPrivate
    this.maxUsers = init.maxUsers
    this.signedIn = init.signedIn === true
    this.createdBy = init.createdBy
    this.permanent = init.permanent
    this.passwordHash = init.passwordHash
    this.tokenHash = sha256(init.moderatorToken)
    this.createdAt = init.createdAt ?? clock.now()
    this.history = new History(historyLimit)
    this.passwordAttempts = new TokenBucket(
      clock,
      ROOM_PASSWORD_BUCKET.capacity,
      ROOM_PASSWORD_BUCKET.perSecond,
    )
  }

  /** Whether `token` is this room's moderator token (constant-time compare). */
  checkToken(token: string): boolean {
    return timingSafeEqual(sha256(token), this.tokenHash)
  }

  /** Stores a message and returns it. */
  append(
    type: StoredMessage['type'],
    sender: string,
    content: string,
    now: number,
    userId?: string,
    replyTo?: string,
  ): StoredMessage {
    const message: StoredMessage = {
      id: formatId(this.history.nextSeq()),
      type,
      sender,
      content,
      timestamp: now,
      room_id: this.id,
    }
    if (userId !== undefined) message.user_id = userId
    if (replyTo !== undefined) message.reply_to = replyTo
    this.history.push(message)
    this.historyJsonCache = undefined
    return message
  }

  /** Logs a change to a message (its frame gets the change's place in the sequence). */
  logChange(event: (eventId: string) => ChangeFrame): ChangeFrame {
    const seq = this.history.nextSeq()
    const frame = event(formatId(seq))
    this.history.push({ seq, event: frame })
    this.historyJsonCache = undefined
    return frame
  }

  /** A kept message changed in place (edited, deleted, reacted to). */
  messageChanged(): void {
    this.historyJsonCache = undefined
  }

  users(): UserView[] {
    const out: UserView[] = []
    for (const m of this.members.values()) out.push(userView(m))
    return out
  }

  // Every `joined` carries the user list and the history. Serialized once and kept until
  // they change, a join costs a string copy instead of a JSON.stringify of the whole room
  // (in a join storm of N users, that is what keeps the server's work near-linear).
  private usersJsonCache: string | undefined
  private historyJsonCache: string | undefined

  /** `users()` as JSON, cached. */
  usersJson(): string {
    this.usersJsonCache ??= JSON.stringify(this.users())
    return this.usersJsonCache
  }

  /** `history.messages()` as JSON, cached. */
  historyJson(): string {
    this.historyJsonCache ??= JSON.stringify(this.history.messages())
    return this.historyJsonCache
  }

  addMember(member: Member): void {
    this.members.set(member.key, member)
    const cached = this.usersJsonCache
    // A new key goes last in the Map, so the cached list grows by one entry at its end.
    if (cached !== undefined) {
      const entry = JSON.stringify(userView(member))
      const next = cached === '[]' ? `[${entry}]` : `${cached.slice(0, -1)},${entry}]`
      // JSC keeps a string built by concatenation as a rope that holds on to every piece:
      // ~76 bytes per member for as long as the room lives. normalize() (NFC, a no-op on this
      // text: names are NFC, the rest is ASCII) makes it one flat string and lets the pieces
      // go; done every FLATTEN_EVERY joins, its scan of the list costs little.
      this.usersJsonCache = this.members.size % FLATTEN_EVERY === 0 ? next.normalize('NFC') : next
    }
  }

  removeMember(member: Member): void {
    this.members.delete(member.key)
    this.usersJsonCache = undefined
  }

  /** A member went offline or came back: their entry in the user list changed. */
  statusChanged(): void {
    this.usersJsonCache = undefined
  }

  view(): RoomView {
    const view: RoomView = {
      id: this.id,
      name: this.name,
      is_private: this.isPrivate,
      max_users: this.maxUsers,
      user_count: this.members.size,
      created_at: this.createdAt,
    }
    if (this.signedIn) view.members = 'signed_in'
    return view
  }
}

export function userView(m: Member): UserView {
  const view: UserView = {
    username: m.username,
    status: isOnline(m) ? 'online' : 'offline',
    moderator: m.moderator,
  }
  const user = m.client.user
  if (user) view.user_id = user.id
  return view
}

/**
 * One user's session: their memberships, limits (src/chat/limits.ts) and resume token. It
 * outlives its connection by the resume grace, and a resuming connection takes it over.
 */
export class Session extends RateLimited {
  /** The live connection; undefined while the user is away (offline, in grace). */
  peer: Peer | undefined
  /** The token a new connection presents to take this session over. */
  session: string
  /** Most sessions are in one room: a SmallMap keeps that one without a hash table. */
  readonly rooms: Map<RoomId, Member> = new SmallMap()
  graceTimer: TimerHandle | undefined
  unjoinedTimer: TimerHandle | undefined

  constructor(peer: Peer, session: string, clock: Clock, limits: SessionLimits) {
    super(clock, limits)
    this.peer = peer
    this.session = session
  }

  /** The connection's address (for per-address limits and logs), while connected. */
  get address(): string {
    return this.peer?.address ?? 'unknown'
  }
}

/**
 * One WebSocket connection: the transport's Peer, whose `client` is the session it serves
 * (after a resume, the session it took over). See Peer for why it is one object.
 */
export interface Connection extends Peer {
  client: Session | undefined
}
