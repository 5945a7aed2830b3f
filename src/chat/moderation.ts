/**
 * The moderation rules, once for both engines: who may ban, kick, unban, mute and unmute
 * whom, in which order the checks run and which error each gives, and the note each act
 * leaves in the room (its audit trail). Bans hold against the username and against the
 * banned session.
 */
import { normalizeName, userKey } from '../domain/names.ts'
import { NOTES } from '../domain/notes.ts'
import { ChatError } from '../protocol/errors.ts'
import {
  type ModerationFrame,
  type MuteFrame,
  type RoomId,
  type ServerFrame,
  withUserId,
} from '../protocol/frames.ts'
import type { Change, Guard, Write } from './change.ts'
import type { RoomEngine } from './engine.ts'
import { memberData } from './events.ts'
import type { MemberRecord, SessionHandle } from './records.ts'
import { userIdOf } from './sign-in.ts'

/** The moderator, as their own node knows them. */
export interface Actor {
  readonly room: RoomId
  readonly key: string
  readonly username: string
  readonly moderator: boolean
  /** Their session, in the engine's terms. */
  readonly session: SessionHandle
  /** The server API acting for the app's backend: no member of the room, always allowed. */
  readonly server?: boolean
}

/** The server API as a moderator of `room` (src/chat/api.ts); acts are signed "server". */
export function serverActor(room: RoomId): Actor {
  return { room, key: '', username: 'server', moderator: true, session: null, server: true }
}

/** The target was read, then changed before the act landed: read again (a few times at most). */
const MOVED = 'moved'
const ATTEMPTS = 5

/**
 * Applies one act of `mod` and sends them `moderated`, or throws the ChatError that says
 * why the act cannot be done.
 */
export async function moderate(
  engine: RoomEngine,
  mod: Actor,
  frame: ModerationFrame | MuteFrame,
  now: () => number,
  reply: (frame: ServerFrame) => void,
): Promise<void> {
  if (!mod.moderator) throw new ChatError('not_authorized', 'Only a moderator may do that')
  const name = normalizeName(frame.username, 'username')
  const key = userKey(name)
  if (key === mod.key && frame.action !== 'unban' && frame.action !== 'unmute') {
    throw new ChatError('invalid_message', `You cannot ${frame.action} yourself`)
  }
  let userId: string | undefined
  let shown = name
  let present = false
  for (let attempt = 1; ; attempt++) {
    const target = await engine.member(mod.room, key)
    const out = await engine.change(mod.room, moderationChange(mod, frame, name, target, now()))
    userId = target && userIdOf(target.identity)
    shown = target?.username ?? name
    present = target !== undefined
    if (out.failed === undefined) break
    if (out.failed !== MOVED) throw moderationError(out.failed, name)
    if (attempt === ATTEMPTS) throw new ChatError('unavailable')
  }
  if (frame.action === 'ban' || frame.action === 'kick') {
    const how = frame.action === 'ban' ? 'banned' : 'kicked'
    const data = memberData(mod.room, shown, userId, { by: mod.username })
    engine.events.emit(how === 'banned' ? 'member.banned' : 'member.kicked', data)
    if (present)
      engine.events.emit('member.left', memberData(mod.room, shown, userId, { reason: how }))
  }
  const ack: ServerFrame = { type: 'moderated', room: mod.room, action: frame.action }
  withUserId(ack, userId)
  if (frame.ref !== undefined) ack.ref = frame.ref
  reply(ack)
}

/** The change one act makes, given the target as it was read (pinned by a `same` guard). */
function moderationChange(
  mod: Actor,
  frame: ModerationFrame | MuteFrame,
  name: string,
  target: MemberRecord | undefined,
  now: number,
): Change {
  const key = userKey(name)
  const by = mod.username
  const shown = target?.username ?? name
  const guards: Guard[] = mod.server
    ? [{ is: 'live', fail: 'room_not_found' }]
    : [
        { is: 'member', key: mod.key, session: mod.session, fail: 'not_member' },
        { is: 'moderator', key: mod.key, fail: 'not_moderator' },
      ]
  const pin: Guard = { is: 'same', key, session: target?.session ?? null, fail: MOVED }
  const writes: Write[] = []
  const evict = (how: 'banned' | 'kicked'): Change['target'] => {
    writes.push({ op: 'dropMember', key, username: shown })
    return { key, how, by, until: 0 }
  }
  switch (frame.action) {
    case 'ban': {
      const until = frame.duration_ms === undefined ? undefined : now + frame.duration_ms
      writes.push({ op: 'ban', key, username: shown, by, at: now, until })
      if (!target)
        return { guards: [...guards, pin], writes, notes: [NOTES.banned(shown, by)], now }
      writes.push({ op: 'banSession', key, identity: target.identity })
      const banned = evict('banned')
      return {
        guards: [...guards, pin],
        writes,
        notes: [NOTES.banned(shown, by)],
        target: banned,
        now,
      }
    }
    case 'kick': {
      guards.push({ is: 'present', key, fail: 'no_user' }, pin)
      const kicked = evict('kicked')
      return { guards, writes, notes: [NOTES.kicked(shown, by)], target: kicked, now }
    }
    case 'unban':
      guards.push({ is: 'banned', key, fail: 'not_banned' })
      writes.push({ op: 'unban', key })
      return { guards, writes, notes: [NOTES.unbanned(name, by)], now }
    case 'mute': {
      const until = now + frame.duration_ms
      guards.push(pin)
      writes.push({ op: 'mute', key, until })
      const notes = [NOTES.muted(shown, by, frame.duration_ms)]
      return { guards, writes, notes, target: { key, how: 'muted', by, until }, now }
    }
    case 'unmute':
      guards.push({ is: 'muted', key, fail: 'not_muted' }, pin)
      writes.push({ op: 'unmute', key })
      return {
        guards,
        writes,
        notes: [NOTES.unmuted(shown, by)],
        target: { key, how: 'unmuted', by, until: 0 },
        now,
      }
  }
}

function moderationError(failed: string, name: string): ChatError {
  switch (failed) {
    case 'no_user':
      return new ChatError('invalid_message', `No user "${name}" in this room`)
    case 'not_banned':
      return new ChatError('invalid_message', `"${name}" is not banned here`)
    case 'not_muted':
      return new ChatError('invalid_message', `"${name}" is not muted here`)
    case 'not_moderator':
      return new ChatError('not_authorized', 'Only a moderator may do that')
    case 'room_not_found':
      return new ChatError('room_not_found')
    default:
      return new ChatError('not_authorized', 'You have not joined this room')
  }
}
