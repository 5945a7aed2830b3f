/**
 * Read markers, once for both engines (docs/protocol.md, "Read markers"). A member's marker
 * is the id of the last message they read in a room: it only moves forward, belongs to the
 * member (a signed-in user's devices share it; an anonymous one's is their session's) and
 * is kept with the room, so a signed-in user finds it again after leaving and coming back.
 * The others hear `read` at most once per member per room per second, the latest value
 * winning (a trailing frame at the end of the second); rooms above READ_MARKERS_MAX_MEMBERS
 * hear none. `joined` and `resumed` carry every member's marker and the member's `unread`.
 *
 * The engine stores the marker and decides, in one atomic step, whether a frame goes now,
 * later or not at all, so that a user's devices on several nodes share one window; the
 * rules here check the input, send the frames and run the trailing timers of this node.
 */
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import { formatId, parseId } from '../domain/history.ts'
import { userKey } from '../domain/names.ts'
import { ChatError } from '../protocol/errors.ts'
import {
  type MessageId,
  type ReadState,
  type RoomId,
  type ServerFrame,
  type StoredMessage,
  withUserId,
} from '../protocol/frames.ts'
import type { Maybe, ReadMarks, SessionHandle } from './records.ts'

/** At most one `read` frame per member per room in this long (the "one per second"). */
export const READ_WINDOW_MS = 1000

/** A marker to move forward, for {@link ReadMarkerStore.mark}. */
export interface Mark {
  readonly key: string
  readonly session: SessionHandle
  /** The sequence number read up to. */
  readonly id: number
  readonly now: number
  readonly windowMs: number
  /** Above this many members the room hears no `read` frames. */
  readonly maxMembers: number
}

/**
 * What became of a marker: `not_member` (no member `key` held by the session), `beyond`
 * (no message of the room has that id yet, or it is below 1), `old` (not after the marker;
 * ignored), or moved, telling the room `now`, `later` (at `at`, with whatever the marker
 * says then) or not at all (`quiet`: a big room, or a trailing frame is already due).
 */
export type MarkOutcome =
  | { readonly is: 'not_member' | 'beyond' | 'old' | 'now' | 'quiet' }
  | { readonly is: 'later'; readonly at: number }

/** The trailing frame of a window: send `id` now, ask again at `at`, or nothing waits. */
export type FlushOutcome = { readonly send: number } | { readonly at: number } | undefined

/** Where markers live: the memory engine's rooms, or a hash per room in Redis. */
export interface ReadMarkerStore {
  /** Moves the member's marker forward and decides about the frame, in one step. */
  mark(room: RoomId, mark: Mark): Maybe<MarkOutcome>
  /** The trailing frame of the member `key`'s window, if one waits and the window is over. */
  flush(room: RoomId, key: string, now: number, windowMs: number): Maybe<FlushOutcome>
}

/** A member reading, as their node knows them. */
export interface Reader {
  readonly room: RoomId
  readonly key: string
  readonly username: string
  /** Their user id when signed in, sent as `user_id`. */
  readonly userId: string | undefined
}

/**
 * Decides, for the memory engine, what a moved marker tells the room; the Redis engine's
 * read-mark.lua does the same. `sentAt` is when the member's last frame went out
 * (undefined: never), `waiting` whether a trailing one is due.
 */
export function windowed(
  mark: { sentAt: number | undefined; waiting: boolean },
  now: number,
  windowMs: number,
): MarkOutcome {
  if (mark.waiting && mark.sentAt !== undefined) return { is: 'later', at: mark.sentAt + windowMs }
  if (mark.sentAt === undefined || now - mark.sentAt >= windowMs) {
    mark.sentAt = now
    return { is: 'now' }
  }
  mark.waiting = true
  return { is: 'later', at: mark.sentAt + windowMs }
}

/** The `read` frame and the trailing timers of one node. */
export class ReadMarkers<R extends Reader> {
  /** Trailing frames this node will ask for, by room and user key. */
  private readonly due = new Map<string, TimerHandle>()

  constructor(
    private readonly store: ReadMarkerStore,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'readMarkersMaxMembers'>,
    /** Sends a frame to the reader's room, all but the reader's own connection. */
    private readonly tell: (reader: R, frame: ServerFrame) => void,
  ) {}

  /**
   * `read`: moves the reader's marker to `id` (an older one is ignored). `invalid_message`
   * when `id` is no message id at all, `message_not_found` when it names no message of the
   * room yet, `not_authorized` when they are not a member.
   */
  read(reader: R, session: SessionHandle, id: MessageId): Maybe<void> {
    const seq = parseId(id)
    if (seq === undefined) throw new ChatError('invalid_message', '"id" must be a message id')
    const out = this.store.mark(reader.room, {
      key: reader.key,
      session,
      id: seq,
      now: this.clock.now(),
      windowMs: READ_WINDOW_MS,
      maxMembers: this.config.readMarkersMaxMembers,
    })
    return out instanceof Promise
      ? out.then((o) => this.marked(reader, seq, o))
      : this.marked(reader, seq, out)
  }

  private marked(reader: R, seq: number, out: MarkOutcome): void {
    switch (out.is) {
      case 'not_member':
        throw new ChatError('not_authorized', 'You have not joined this room')
      case 'beyond':
        throw new ChatError('message_not_found', `No message "${formatId(seq)}" in this room`)
      case 'now':
        this.tell(reader, readFrame(reader, seq))
        return
      case 'later':
        this.schedule(reader, out.at)
        return
      default:
        return
    }
  }

  private schedule(reader: R, at: number): void {
    const slot = `${reader.room}\t${reader.key}`
    if (this.due.has(slot)) return
    const wait = Math.max(0, at - this.clock.now())
    this.due.set(
      slot,
      this.clock.setTimeout(() => {
        this.due.delete(slot)
        void this.flush(reader)
      }, wait),
    )
  }

  private async flush(reader: R): Promise<void> {
    try {
      const out = await this.store.flush(reader.room, reader.key, this.clock.now(), READ_WINDOW_MS)
      if (out === undefined) return
      if ('send' in out) this.tell(reader, readFrame(reader, out.send))
      else this.schedule(reader, out.at)
    } catch {
      // The room is gone, or Redis is: the marker itself is stored; only this frame is lost
      // (a client catches up with `joined` or `resumed`).
    }
  }

  /** Cancels this node's trailing timers (the store is closing). */
  close(): void {
    for (const handle of this.due.values()) this.clock.clearTimeout(handle)
    this.due.clear()
  }
}

function readFrame(reader: Reader, seq: number): ServerFrame {
  const frame: ServerFrame = {
    type: 'read',
    room: reader.room,
    username: reader.username,
    id: formatId(seq),
  }
  return withUserId(frame, reader.userId)
}

/**
 * `read` and `unread` of a `joined` or `resumed` for the member `username`: every member's
 * marker (only their own in a room above `maxMembers`), and the kept text messages of
 * others after their own marker (all of them when they have none yet).
 */
export function readState(
  marks: ReadMarks,
  username: string,
  userId: string | undefined,
  history: readonly StoredMessage[],
  maxMembers: number,
): ReadState {
  const read: Record<string, MessageId> = Object.create(null)
  const own = marks.byName[username] ?? 0
  if (marks.members <= maxMembers)
    for (const [name, seq] of Object.entries(marks.byName)) read[name] = formatId(seq)
  else if (own > 0) read[username] = formatId(own)
  const key = userKey(username)
  let unread = 0
  for (let i = history.length - 1; i >= 0; i--) {
    const m = history[i] as StoredMessage
    if ((parseId(m.id) ?? 0) <= own) break
    const mine = (userId !== undefined && m.user_id === userId) || userKey(m.sender) === key
    if (m.type === 'text' && !m.deleted && !mine) unread++
  }
  return { read, unread }
}

/** {@link readState} over a history that is still JSON (as a RoomSnapshot holds it). */
export function readStateJson(
  marks: ReadMarks,
  username: string,
  userId: string | undefined,
  historyJson: string,
  maxMembers: number,
): ReadState {
  const history = marks.history ?? (JSON.parse(historyJson) as StoredMessage[])
  return readState(marks, username, userId, history, maxMembers)
}
