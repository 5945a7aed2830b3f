/**
 * Parsing of inbound frames: the shape of each client frame (frames.ts has the types;
 * src/protocol/client-frame-schemas.ts the same as schemas, proved equal by a property test).
 */
import type { ClientFrame, MessageId, Ref, RoomId } from './frames.ts'

/** Thrown by {@link parseClientFrame}; the `ref` is kept so the error can echo it. */
export class FrameError extends Error {
  constructor(
    message: string,
    readonly ref: Ref | undefined,
    readonly room: RoomId | undefined,
  ) {
    super(message)
  }
}

/** The longest `ref` a client frame may carry, in characters. */
export const MAX_REF_LENGTH = 64
/** The longest string field of a client frame, in characters, unless the field says otherwise. */
export const MAX_FIELD_LENGTH = 4096

type Obj = Record<string, unknown>

function str(f: Obj, key: string, required: true, max?: number): string
function str(f: Obj, key: string, required: false, max?: number): string | undefined
function str(f: Obj, key: string, required: boolean, max = MAX_FIELD_LENGTH): string | undefined {
  const v = f[key]
  if (v === undefined && !required) return undefined
  if (typeof v !== 'string') throw new TypeError(`"${key}" must be a string`)
  if (longer(v, max)) throw new TypeError(`"${key}" is too long`)
  return v
}

/**
 * Whether `s` has more than `max` characters, counted in code points as JSON Schema's
 * `maxLength` counts them (the AsyncAPI document states these limits). No string has more
 * code points than UTF-16 units, so only a long one is split.
 */
function longer(s: string, max: number): boolean {
  if (s.length <= max) return false
  let n = 0
  for (const _ of s) if (++n > max) return true
  return false
}

function int(f: Obj, key: string, min: number, max: number): number | undefined {
  const v = f[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`"${key}" must be an integer from ${min} to ${max}`)
  }
  return v
}

/** A required message id: a string of up to 64 characters, or a number turned into one. */
function requiredId(f: Obj, key: string): MessageId {
  const v = f[key]
  return typeof v === 'number' ? String(v) : str(f, key, true, 64)
}

function bool(f: Obj, key: string): boolean | undefined {
  const v = f[key]
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') throw new TypeError(`"${key}" must be true or false`)
  return v
}

/** A message id: its string, or a number (as clients that parse ids send it) turned into one. */
function messageId(f: Obj, key: string): MessageId | undefined {
  const v = f[key]
  return typeof v === 'number' ? String(v) : str(f, key, false)
}

function lastIds(f: Obj): Record<RoomId, MessageId> | undefined {
  const v = f.last_ids
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError('"last_ids" must be an object')
  // A null-prototype copy: a parsed "__proto__" key stays a plain key.
  const out: Record<RoomId, MessageId> = Object.create(null)
  let n = 0
  for (const [room, id] of Object.entries(v)) {
    if (++n > 1000) throw new TypeError('"last_ids" names too many rooms')
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError('"last_ids" values must be message ids')
    }
    out[room] = String(id)
  }
  return out
}

/**
 * Checks one inbound frame (already JSON-parsed) against the protocol and returns it
 * typed. Throws {@link FrameError} with a message naming the offending field. Only
 * shape is checked here; names, lengths and permissions are the store's rules.
 */
export function parseClientFrame(raw: unknown): ClientFrame {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FrameError('A frame must be a JSON object', undefined, undefined)
  }
  const f = raw as Obj
  let ref: Ref | undefined
  const r = f.ref
  if (typeof r === 'string' && !longer(r, MAX_REF_LENGTH)) ref = r
  else if (typeof r === 'number' && Number.isFinite(r)) ref = r
  else if (r !== undefined) {
    throw new FrameError(
      `"ref" must be a string of at most ${MAX_REF_LENGTH} characters`,
      undefined,
      undefined,
    )
  }
  const room = typeof f.room === 'string' ? f.room : undefined
  try {
    // The chat message is nearly every frame: its small parser stays apart from the big
    // switch, so the optimizing JIT compiles (and recompiles) only what the hot path runs.
    const frame = f.action === 'message' ? parseMessage(f) : parseAction(f)
    if (ref !== undefined) frame.ref = ref
    return frame
  } catch (e) {
    throw new FrameError((e as Error).message, ref, room)
  }
}

function parseMessage(f: Obj): ClientFrame {
  // No field cap on content: the store counts its characters (code points) against
  // MAX_CONTENT_CHARS, which may exceed 4096, and 4000 emoji are 8000 UTF-16 units.
  // The frame size limit already bounds it.
  return {
    action: 'message',
    room: str(f, 'room', true),
    content: str(f, 'content', true, Number.POSITIVE_INFINITY),
    reply_to: str(f, 'reply_to', false),
  }
}

function parseAction(f: Obj): ClientFrame {
  switch (f.action) {
    case 'message':
      return parseMessage(f)
    case 'typing':
    case 'leave':
      return { action: f.action, room: str(f, 'room', true) }
    case 'read': {
      // An id as a string, or as a number (as in `last_ids`).
      return { action: 'read', room: str(f, 'room', true), id: requiredId(f, 'id') }
    }
    case 'ping':
      return { action: 'ping' }
    case 'auth':
      // No field cap: a token over 8 KB is refused as `invalid_token` by the sign-in rules.
      return { action: 'auth', token: str(f, 'token', true, Number.POSITIVE_INFINITY) }
    case 'join':
      return {
        action: 'join',
        room: str(f, 'room', true),
        username: str(f, 'username', false),
        password: str(f, 'password', false),
        token: str(f, 'token', false),
      }
    case 'create':
      return {
        action: 'create',
        name: str(f, 'name', true),
        username: str(f, 'username', false),
        max_users: int(f, 'max_users', 1, 1_000_000),
        is_private: bool(f, 'is_private'),
        password: str(f, 'password', false),
        members: str(f, 'members', false),
      }
    case 'history':
      return {
        action: 'history',
        room: str(f, 'room', true),
        before: messageId(f, 'before'),
        limit: int(f, 'limit', 1, 100),
      }
    case 'resume':
      return { action: 'resume', session: str(f, 'session', true), last_ids: lastIds(f) }
    case 'ban':
    case 'kick':
    case 'unban':
    case 'unmute':
      return { action: f.action, room: str(f, 'room', true), username: str(f, 'username', true) }
    case 'mute': {
      const duration = int(f, 'duration_ms', 1, 7 * 24 * 3600 * 1000)
      if (duration === undefined) throw new TypeError('"duration_ms" is required')
      return {
        action: 'mute',
        room: str(f, 'room', true),
        username: str(f, 'username', true),
        duration_ms: duration,
      }
    }
    case 'edit':
      return {
        action: 'edit',
        room: str(f, 'room', true),
        id: requiredId(f, 'id'),
        content: str(f, 'content', true, Number.POSITIVE_INFINITY),
      }
    case 'delete':
      return { action: 'delete', room: str(f, 'room', true), id: requiredId(f, 'id') }
    case 'react': {
      const on = bool(f, 'on')
      if (on === undefined) throw new TypeError('"on" is required')
      return {
        action: 'react',
        room: str(f, 'room', true),
        id: requiredId(f, 'id'),
        emoji: str(f, 'emoji', true, 64),
        on,
      }
    }
    case 'direct':
      return { action: 'direct', user_id: str(f, 'user_id', true) }
    case 'directs':
      return { action: 'directs' }
    case undefined:
      throw new TypeError('"action" is required')
    default:
      throw new TypeError(`Unknown action ${JSON.stringify(String(f.action)).slice(0, 40)}`)
  }
}
