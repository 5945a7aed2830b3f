/**
 * The Lua scripts that change shared state. Each runs atomically in Redis and touches the
 * keys of one room only (one hash tag), except `register`, which touches only the registry.
 *
 * Every script that stores a message also publishes it, in the same step: the sequence
 * number, the history and the delivery order are one thing, the same on every node.
 *
 * Envelope of a room channel message: `kind|seq|origin|count|target|payload`, where
 *   kind    `s` sequenced (stored in the history, delivered in seq order, gaps filled),
 *           `e` an event (presence, typing: not stored; the origin node delivered it itself),
 *           `d` the room was deleted;
 *   seq     the message sequence (`0` for events);
 *   origin  the node that published it (`-`: every node delivers, the origin too);
 *   count   the room's member count after the change (`-`: unchanged);
 *   target  for moderation, `userkey\thow\tby\tuntil`: the node holding that member acts on it;
 *   payload one or more server frames as JSON, one per line, sent to the room in order.
 */

import amendLua from './lua/amend.lua' with { type: 'text' }
import changeLua from './lua/change.lua' with { type: 'text' }
import claimLua from './lua/claim.lua' with { type: 'text' }
import initRoomLua from './lua/init-room.lua' with { type: 'text' }
import lookupLua from './lua/lookup.lua' with { type: 'text' }
import messageLua from './lua/message.lua' with { type: 'text' }
import passwordRefundLua from './lua/password-refund.lua' with { type: 'text' }
import passwordTakeLua from './lua/password-take.lua' with { type: 'text' }
import popDueLua from './lua/pop-due.lua' with { type: 'text' }
import prelude from './lua/prelude.lua' with { type: 'text' }
import purgeLua from './lua/purge.lua' with { type: 'text' }
import readFlushLua from './lua/read-flush.lua' with { type: 'text' }
import readMarkLua from './lua/read-mark.lua' with { type: 'text' }
import registerLua from './lua/register.lua' with { type: 'text' }
import restoreLua from './lua/restore.lua' with { type: 'text' }
import roomKeys from './lua/room-keys.lua' with { type: 'text' }
import tickLua from './lua/tick.lua' with { type: 'text' }

/**
 * Helpers prepended to every script, and HISTORY_SLACK: how far past HISTORY_LIMIT a
 * room's history list may grow before it is trimmed.
 */
const PRELUDE = `\n${prelude}`

/** Keys of the per-room scripts, in order: state, members, history, bans, bansess, mutes, grace, extra, read. */
const ROOM_KEYS = 9
const ROOM_LOCALS = `\n${roomKeys}`

export interface ScriptSpec {
  numberOfKeys: number
  lua: string
}

function roomScript(body: string): ScriptSpec {
  return { numberOfKeys: ROOM_KEYS, lua: PRELUDE + ROOM_LOCALS + body }
}

/**
 * The registry: creates a room's entry if the id is free and the cluster holds fewer than
 * MAX_ROOMS. ARGV: id, meta JSON, max rooms, force (1: default rooms, no limit).
 * Returns `ok`, `exists` or `limit`.
 */
export const register: ScriptSpec = {
  numberOfKeys: 1,
  lua: `\n${registerLua}`,
}

/**
 * Starts a room's state afresh (a new room), or only where it is missing (mode `ensure`:
 * default rooms and rooms re-registered after Redis lost its data). The sequence never
 * starts below `floor`, so message ids do not go backwards.
 * ARGV: mode (`fresh`|`ensure`), epoch, floor, now, permanent (1|0). Returns 1 if written.
 */
export const initRoom = roomScript(`\n${initRoomLua}`)

/**
 * Stores and publishes a chat message: the hot path, kept lean (the member's session is
 * matched in its stored JSON without decoding it). ARGV: key, session, history limit, the
 * stored message JSON and the frame JSON (each with 0x01 for the id), now, channel,
 * origin, the id of the message replied to (or ''). Returns {code, seq}: `ok`, `not_member`, `muted` or `no_reply`.
 */
export const message = roomScript(`\n${messageLua}`)

/**
 * A change to a kept message (src/chat/engine.ts, Amendment): the message's latest state
 * written back in its place in the history, the change logged after it and published.
 * ARGV: key, session, message id, kind (`edit`|`delete`|`react`), the new text or the emoji,
 * the frame JSON (0x01 for the change's id, 0x03 for a reaction's count), now, channel,
 * origin, history limit, most emoji, most users listed per emoji, username, on (1|0).
 * Returns {code, seq, count}: `ok`, `not_member`, `no_message` or `reaction_limit`.
 */
export const amend = roomScript(`\n${amendLua}`)

/**
 * Reads one kept message for the rules to decide on a change to it. ARGV: message id,
 * history limit. Returns {} or {entry JSON}.
 */
export const lookup = roomScript(`\n${lookupLua}`)

/**
 * Resume: the member of session `old` is taken over by session `new` on `node`, online.
 * ARGV: key, old session, new session, node, channel, the `presence online` frame (0x01
 * for the name), history limit. Returns {code, was online, old node, username, moderator,
 * seq, members, history, mute end}; code `ok` or `gone`.
 */
export const claim = roomScript(`\n${claimLua}`)

/**
 * A node puts back a member it still serves (after Redis lost its data, or after this
 * node was taken for dead). ARGV: room, key, username, node, session, moderator, the
 * `presence online` frame, channel, ban identity, the `user_joined` frame. Returns `ok`,
 * `taken` (someone else holds the name now) or `room_not_found`.
 */
export const restore = roomScript(`\n${restoreLua}`)

/**
 * One guarded change to one room (src/chat/engine.ts, built by redis-engine.ts). ARGV: the
 * change as JSON {guards, writes, notes: [{stored, frame}], target}, history limit, now,
 * channel, origin. Returns {code, seq, count, dropped session, dropped member online}: code
 * `ok`, or the `fail` of the first guard that did not hold (then nothing was written).
 */
export const applyChange = roomScript(`\n${changeLua}`)

/**
 * The janitor's pass over one room: members of dead nodes go offline (their grace starts),
 * members whose grace ended are named (the janitor makes them leave, by the rules), and an
 * empty room says since when it has been empty (the rules decide whether it goes). ARGV:
 * the `presence offline` frame, now, channel, dead nodes (comma-separated), grace ms.
 * Returns {code, next grace deadline or -1, emptied since or -1 (it has members), then key,
 * session, username, user id of each member whose grace ended}; code `ok`, `deleting` or
 * `gone`.
 */
export const tick = roomScript(`\n${tickLua}`)

/** Deletes a room marked for deletion: its keys go, its channel hears `d`. ARGV: channel. */
export const purge = roomScript(`\n${purgeLua}`)

/**
 * Takes one token from a room's wrong-password bucket (the TokenBucket of one node, kept in
 * a hash shared by every node): refilled at `per second` since the last take, up to
 * `capacity`; the key goes once the bucket would be full again. ARGV: capacity, per
 * second, now (ms, the rules' clock). Returns 1 if a token was taken, else 0.
 */
export const passwordTake: ScriptSpec = {
  numberOfKeys: 1,
  lua: `\n${passwordTakeLua}`,
}

/** Gives back a token taken for a right password. ARGV: capacity. Returns 1 if the bucket is there. */
export const passwordRefund: ScriptSpec = {
  numberOfKeys: 1,
  lua: `\n${passwordRefundLua}`,
}

/** Pops the rooms whose deadline has come. ARGV: now, how many. */
export const popDue: ScriptSpec = {
  numberOfKeys: 1,
  lua: `\n${popDueLua}`,
}

/**
 * A read marker moves forward (src/chat/read-markers.ts). ARGV: key, session, id (a
 * sequence number), now, window ms, most members for a broadcast. Returns {code, at}: code
 * `not_member`, `beyond` (no such message yet), `old` (not after the marker), or, moved,
 * `now` (tell the room now), `later` (at `at`, the end of the window) or `quiet`.
 */
export const readMark = roomScript(`\n${readMarkLua}`)

/**
 * The trailing `read` of a window. ARGV: key, now, window ms. Returns {`send`, id} (tell
 * the room now), {`later`, at} or {`none`}.
 */
export const readFlush = roomScript(`\n${readFlushLua}`)

export const SCRIPTS = {
  register,
  initRoom,
  message,
  amend,
  lookup,
  claim,
  restore,
  applyChange,
  tick,
  purge,
  passwordTake,
  passwordRefund,
  popDue,
  readMark,
  readFlush,
} as const

export type ScriptName = keyof typeof SCRIPTS
