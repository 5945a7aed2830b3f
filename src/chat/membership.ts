/**
 * Who is in which room, once for both engines: joining (the order of the checks and the
 * error each gives), creating a room and joining it, and leaving (a `leave` frame, or a
 * session that went away with no resume grace).
 */
import { grantsRoom, type Identity, moderatesRoom } from '../auth/tokens.ts'
import { normalizeName, userKey } from '../domain/names.ts'
import { NOTES } from '../domain/notes.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'
import {
  type CreateFrame,
  type JoinFrame,
  joinedJson,
  type Ref,
  type RoomId,
  type ServerFrame,
} from '../protocol/frames.ts'
import type { Guard } from './change.ts'
import { isDirectRoom, otherUser } from './direct-ids.ts'
import type { RoomEngine } from './engine.ts'
import { type LeaveReason, memberData } from './events.ts'
import { readStateJson } from './read-markers.ts'
import type { Maybe, RoomInfo, RoomSnapshot, SessionHandle } from './records.ts'

/** A member of a room, as the node that holds them knows them. */
export interface Held {
  readonly room: RoomId
  readonly key: string
  readonly username: string
  readonly session: SessionHandle
  /** Their user id when signed in (for the `member.left` event). */
  readonly userId?: string | undefined
}

/** A session asking to join, as its node knows it. */
export interface Joiner {
  readonly session: SessionHandle
  /** The session's identity for bans (the same across its resumes; the user id when signed in). */
  readonly identity: SessionHandle
  /** The signed-in user (AUTH_MODE), if any. */
  readonly user: Identity | undefined
  readonly address: string
  /**
   * The session's and the address's own wrong-password buckets. Asked for only when a
   * password is checked: made on first use, they cost a join without one nothing.
   */
  passwordBuckets(): TokenBucket[]
  /** The member this session already is in `room`, if any. */
  memberOf(room: RoomId): { key: string; username: string; moderator: boolean } | undefined
  /** The connection still serves this session (it did not close while we waited). */
  live(): boolean
  /** Sends a frame that is already JSON to the joiner. */
  reply(json: string): void
  /** READ_MARKERS_MAX_MEMBERS: above it, `joined.read` holds only the joiner's own marker. */
  readonly readMarkersMaxMembers: number
}

/** The `read` and `unread` of a `joined` for `username`. */
function readOf(who: Joiner, snapshot: RoomSnapshot, username: string) {
  const { read, history } = snapshot
  return readStateJson(read, username, who.user?.id, history, who.readMarkersMaxMembers)
}

/** `join`: admits the session under `username`, checking bans, token, password, name and size. */
export async function join(
  engine: RoomEngine,
  who: Joiner,
  frame: JoinFrame,
  now: () => number,
): Promise<void> {
  needName(who, frame.username)
  const room = await engine.room(frame.room)
  // A direct room lets in its two users only, whatever password or token is given.
  const direct = isDirectRoom(room.id)
  if (direct) otherUser(room.id, who.user)
  if (room.signedIn && !who.user)
    throw new ChatError('not_authorized', 'Only signed-in users may join this room')
  const username = nameOf(who, frame.username)
  const key = userKey(username)
  const current = who.memberOf(room.id)
  if (current) {
    if (current.key !== key)
      throw new ChatError('invalid_message', `Already in this room as "${current.username}"`)
    const snapshot = await engine.snapshot(room.id)
    const json = joinedJson(
      room.id,
      current.username,
      current.moderator,
      snapshot.users,
      snapshot.history,
      frame.ref,
      undefined,
      readOf(who, snapshot, current.username),
    )
    who.reply(json)
    return
  }
  // Another connection of a signed-in member: the same member, already admitted.
  if (who.user && (await engine.member(room.id, key))?.userId === who.user.id) {
    await admit(engine, who, room, username, false, frame.ref, undefined, now)
    return
  }
  // A signed-in user may moderate the room, or enter it without its password, by their grants.
  // Its creator (by user id, on every device) too.
  // A direct room has no moderator.
  if (direct) {
    await admit(engine, who, room, username, false, frame.ref, undefined, now)
    return
  }
  let moderator =
    who.user !== undefined && (moderatesRoom(who.user, room.id) || room.createdBy === who.user.id)
  const granted = who.user !== undefined && grantsRoom(who.user, room.id)
  if (frame.token !== undefined || (room.isPrivate && !granted)) {
    // Refuse what the join itself would refuse before a password is spent on it.
    const admission = frame.token === undefined && frame.password !== undefined
    const seen = await engine.admission(room.id, key, who.identity)
    if (seen.banned) throw new ChatError('not_authorized', 'You are banned from this room')
    if (admission && seen.taken) throw new ChatError('username_taken')
    if (admission && seen.count >= room.maxUsers) throw new ChatError('room_full')
  }
  if (frame.token !== undefined) {
    if (!engine.checkToken(room, frame.token))
      throw new ChatError('not_authorized', 'Wrong moderator token')
    moderator = true
  } else if (room.isPrivate && !granted) {
    if (frame.password === undefined)
      throw new ChatError('not_authorized', 'This room needs a password')
    const ok = await engine.checkPassword(room, frame.password, who.passwordBuckets(), who.address)
    if (!ok) throw new ChatError('not_authorized', 'Wrong password')
    if (!who.live()) return
  }
  await admit(engine, who, room, username, moderator, frame.ref, undefined, now)
}

/** `create`: creates a room (see the engine's room creation) and joins its creator as moderator. */
export async function create(
  engine: RoomEngine,
  who: Joiner,
  frame: CreateFrame,
  createRoom: () => Promise<{ room: RoomInfo; token: string }>,
  now: () => number,
): Promise<void> {
  needName(who, frame.username)
  const username = nameOf(who, frame.username)
  const { room, token } = await createRoom()
  if (!who.live()) return
  await admit(engine, who, room, username, true, frame.ref, token, now)
}

/**
 * The name a joiner gets: a signed-in user's from their token (a `username` in the frame
 * is ignored), anyone else's from the frame.
 */
function nameOf(who: Joiner, username: string | undefined): string {
  return who.user ? who.user.name : normalizeName(username ?? '', 'username')
}

/** A frame without a `username` from someone not signed in is malformed. */
function needName(who: Joiner, username: string | undefined): void {
  if (!who.user && username === undefined)
    throw new ChatError('invalid_message', '"username" must be a string')
}

/**
 * The last checks and the join itself, in one atomic step: one winner for a name or a seat.
 * A signed-in user who is a member already (another tab, device or node) becomes one more
 * holder of that membership instead: no `user_joined`, no note, the same name and rights.
 */
async function admit(
  engine: RoomEngine,
  who: Joiner,
  room: RoomInfo,
  username: string,
  moderator: boolean,
  ref: Ref | undefined,
  token: string | undefined,
  now: () => number,
): Promise<void> {
  const key = userKey(username)
  const { session, identity } = who
  const userId = who.user?.id
  for (let attempt = 1; ; attempt++) {
    const same = userId === undefined ? undefined : await engine.member(room.id, key)
    const joins = same?.userId === undefined || same.userId !== userId
    const shown = joins ? username : same.username
    const rights = joins ? moderator : same.moderator
    const greet = (snapshot: RoomSnapshot) => {
      const { users, history } = snapshot
      const read = readOf(who, snapshot, shown)
      who.reply(joinedJson(room.id, shown, rights, users, history, ref, token, read))
    }
    const out = await engine.change(
      room.id,
      joins
        ? {
            guards: [
              { is: 'live', fail: 'room_not_found' },
              { is: 'notBanned', key, identity, fail: 'banned' },
              { is: 'notHeldBy', key, session, fail: 'again' },
              { is: 'absent', key, fail: 'username_taken' },
              { is: 'seat', max: room.maxUsers, fail: 'room_full' },
            ],
            writes: [{ op: 'putMember', key, username, moderator, session, identity, userId }],
            notes: [NOTES.joined(username)],
            quiet: true,
            greet,
            now: now(),
          }
        : {
            guards: [
              { is: 'live', fail: 'room_not_found' },
              { is: 'notBanned', key, identity, fail: 'banned' },
              { is: 'notHeldBy', key, session, fail: 'again' },
              { is: 'sameUser', key, userId: userId as string, fail: 'moved' },
            ],
            writes: [{ op: 'hold', key, session, identity }],
            notes: [],
            greet,
            now: now(),
          },
    )
    if (out.failed === undefined) {
      if (joins) engine.events.emit('member.joined', memberData(room.id, username, userId))
      return
    }
    if (out.failed === 'moved' && attempt < 3) continue
    if (out.failed === 'again' && attempt === 1) {
      // The room has this session under the name and this node does not (an answer lost
      // on the way back): that membership is stale; it leaves, and the join goes on.
      const stale = await engine.member(room.id, key)
      if (stale)
        await leaveRoom(engine, { room: room.id, key, username: stale.username, session }, now())
      continue
    }
    switch (out.failed) {
      case 'banned':
        throw new ChatError('not_authorized', 'You are banned from this room')
      case 'room_full':
        throw new ChatError('room_full')
      case 'room_not_found':
        throw new ChatError('room_not_found')
      default:
        throw new ChatError('username_taken')
    }
  }
}

/**
 * The session stops being in `room`: the member leaves for good (the others hear
 * `user_left`, the history keeps "X left"), or, when other sessions of the user still hold
 * the membership, only this session goes (nobody hears anything). True if the room still
 * had them.
 */
export async function leaveRoom(
  engine: RoomEngine,
  member: Held,
  now: number,
  reason: LeaveReason = 'left',
): Promise<boolean> {
  return part(engine, member, now, reason, [])
}

/**
 * The connection of a session in `room` went away: the session is away for its resume
 * grace (`graceMs`), offline unless another session of the user is online, and may resume
 * until then; without a grace it leaves at once, as when a grace runs out.
 */
export function goAway(
  engine: RoomEngine,
  member: Held,
  now: number,
  graceMs: number,
): Maybe<unknown> {
  if (graceMs === 0) return part(engine, member, now, 'expired', [])
  const { key, session } = member
  return engine.change(member.room, {
    guards: [{ is: 'member', key, session, fail: 'gone' }],
    writes: [{ op: 'away', key, session, until: now + graceMs }],
    notes: [],
    now,
  })
}

/**
 * The resume grace of an away session ran out: it leaves its rooms as with a leave, unless
 * it came back meanwhile. True if it left.
 */
export async function expireGrace(engine: RoomEngine, member: Held, now: number): Promise<boolean> {
  const { key, session } = member
  return part(engine, member, now, 'expired', [{ is: 'away', key, session, fail: 'back' }])
}

/** A session parts from a membership: the member leaves if it held it alone, else it lets go. */
async function part(
  engine: RoomEngine,
  member: Held,
  now: number,
  reason: LeaveReason,
  extra: Guard[],
): Promise<boolean> {
  const { room, key, username, session } = member
  for (let attempt = 1; attempt <= 3; attempt++) {
    const held: Guard = { is: 'member', key, session, fail: 'gone' }
    const out = await engine.change(room, {
      guards: [held, ...extra, { is: 'alone', key, session, fail: 'shared' }],
      writes: [{ op: 'dropMember', key, username }],
      notes: [NOTES.left(username)],
      quiet: true,
      now,
    })
    if (out.failed === undefined) {
      engine.events.emit('member.left', memberData(room, username, member.userId, { reason }))
      return true
    }
    if (out.failed === 'shared') {
      const released = await engine.change(room, {
        guards: [held, ...extra, { is: 'shared', key, session, fail: 'alone' }],
        writes: [{ op: 'release', key, session }],
        notes: [],
        now,
      })
      if (released.failed === undefined) return true
      if (released.failed === 'alone') continue
      out.failed = released.failed
    }
    if (out.failed === 'gone') await engine.forget(room, key, session)
    return false
  }
  return false
}

/** `leave`: the member leaves and gets `left`, after everything the room sent before. */
export async function leave(
  engine: RoomEngine,
  member: Held,
  ref: Ref | undefined,
  now: number,
  reply: (frame: ServerFrame) => void,
): Promise<void> {
  await leaveRoom(engine, member, now)
  const left: ServerFrame = { type: 'left', room: member.room }
  if (ref !== undefined) left.ref = ref
  reply(left)
}

/**
 * Whether a refreshed sign-in takes the member's access to `room` away: a private room the
 * old token granted and the new one does not (they came in by the grant, without the
 * password), or a room the old token let them moderate and the new one does not (their
 * membership carries the moderator right; they may join again as they now may).
 */
export function revokedBy(
  old: Identity,
  next: Identity,
  room: { readonly id: RoomId; readonly isPrivate: boolean },
  moderator: boolean,
): boolean {
  const lostRoom = room.isPrivate && grantsRoom(old, room.id) && !grantsRoom(next, room.id)
  const lostModerator = moderator && moderatesRoom(old, room.id) && !moderatesRoom(next, room.id)
  return lostRoom || lostModerator
}

/** A refresh took the member's access away: they leave, told `left` with `access_revoked`. */
export async function revoke(
  engine: RoomEngine,
  member: Held,
  now: number,
  reply: (frame: ServerFrame) => void,
): Promise<void> {
  await leaveRoom(engine, member, now, 'access_revoked')
  reply({ type: 'left', room: member.room, reason: 'access_revoked' })
}
