import { ChatError } from '../protocol/errors.ts'
import type { ModerationFrame, MuteFrame } from '../protocol/frames.ts'
import { normalizeName, userKey } from './names.ts'
import { NOTES } from './notes.ts'
import type { Member, Room } from './room.ts'

/** What a moderation act may do to the world; RoomStore provides it. */
export interface ModerationEffects {
  now(): number
  /** Removes `target` from its room, telling them (`banned`/`kicked`) and the room (`note`). */
  evict(target: Member, how: 'banned' | 'kicked', by: string, note: string): void
  /** Stores a system message and sends it to the whole room. */
  note(room: Room, text: string): void
  stopTyping(member: Member): void
}

/**
 * The moderation rules: applies one act by the moderator `mod` in their room, or throws a
 * ChatError for an act that cannot be done. Every act leaves a system message, the room's
 * audit trail. Bans hold against the username and against the banned session.
 */
export function applyModeration(
  fx: ModerationEffects,
  mod: Member,
  frame: ModerationFrame | MuteFrame,
): void {
  const room = mod.room
  const name = normalizeName(frame.username, 'username')
  const key = userKey(name)
  const target = room.members.get(key)
  const shown = target?.username ?? name
  const by = mod.username
  if (key === mod.key && frame.action !== 'unban' && frame.action !== 'unmute') {
    throw new ChatError('invalid_message', `You cannot ${frame.action} yourself`)
  }
  switch (frame.action) {
    case 'ban': {
      room.bans.set(key, { username: shown, by, at: fx.now() })
      const note = NOTES.banned(shown, by)
      if (target) {
        room.bannedClients.set(target.client, key)
        fx.evict(target, 'banned', by, note)
      } else fx.note(room, note)
      return
    }
    case 'kick': {
      if (!target) throw new ChatError('invalid_message', `No user "${name}" in this room`)
      fx.evict(target, 'kicked', by, NOTES.kicked(target.username, by))
      return
    }
    case 'unban': {
      if (!room.bans.delete(key))
        throw new ChatError('invalid_message', `"${name}" is not banned here`)
      for (const [banned, bannedKey] of room.bannedClients) {
        if (bannedKey === key) room.bannedClients.delete(banned)
      }
      fx.note(room, NOTES.unbanned(name, by))
      return
    }
    case 'mute': {
      room.mutes.set(key, fx.now() + frame.duration_ms)
      if (target) fx.stopTyping(target)
      fx.note(room, NOTES.muted(shown, by, frame.duration_ms))
      return
    }
    case 'unmute': {
      if (!room.mutes.delete(key))
        throw new ChatError('invalid_message', `"${name}" is not muted here`)
      fx.note(room, NOTES.unmuted(shown, by))
      return
    }
  }
}
