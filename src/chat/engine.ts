/**
 * The room engine: what the chat rules (this folder) need from wherever rooms live. Two
 * engines implement it: memory (src/domain/memory-engine.ts: one process, synchronous) and
 * Redis (src/cluster/redis-engine.ts: several nodes, one atomic script per change).
 *
 * An engine knows rooms, members, bans, mutes, sessions, history and sequence numbers; it
 * knows no chat rule. A rule reads what it needs (`member`), decides in TypeScript, and
 * hands the engine one guarded change for one room. The engine checks the change's guards
 * in order, inside its atomic step, and either applies all of it (writes, then the notes
 * appended to the history with the next sequence numbers, then everything published to
 * the room in that order) or none of it, naming the first guard that failed. A guard is
 * how a rule pins what it read (`same`) and how a race gets exactly one winner.
 *
 * The records it reads and returns are in records.ts, the guarded change in change.ts.
 */

import type { Logger } from '../domain/ports.ts'
import type { Ban, RoomView } from '../domain/room.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import type { MessageId, RoomId, UserView } from '../protocol/frames.ts'
import type { Change, Outcome } from './change.ts'
import type { ChatEvents } from './events.ts'
import type {
  Admission,
  Amendment,
  AmendOutcome,
  Creatable,
  Maybe,
  MemberRecord,
  MessageRecord,
  NewRoom,
  Page,
  Post,
  PostOutcome,
  RoomInfo,
  RoomSnapshot,
  SessionHandle,
} from './records.ts'

export interface RoomEngine {
  /** Where the rules report what happened, for the app's backend (src/chat/events.ts). */
  readonly events: ChatEvents
  /** Where the rules log what happened to rooms (a deletion). */
  readonly logger: Logger
  /** The room with this id (or a name that slugs to it); throws `room_not_found`. */
  room(id: RoomId): Maybe<RoomInfo>
  /** Whether `token` is the room's moderator token (compared in constant time). */
  checkToken(room: RoomInfo, token: string): boolean
  /**
   * Checks a private room's password against the room's shared wrong-password bucket and
   * the caller's own `buckets` (see domain/password-check.ts).
   */
  checkPassword(
    room: RoomInfo,
    password: string,
    buckets: TokenBucket[],
    address: string,
  ): Promise<boolean>
  admission(room: RoomId, key: string, identity: SessionHandle): Maybe<Admission>
  /** Whether a room `id` could be created now (a first look, before the slow hash). */
  creatable(id: RoomId, maxRooms: number): Maybe<Creatable>
  /** Creates the room if its id is free and there are fewer than `maxRooms`, in one step. */
  createRoom(room: NewRoom, maxRooms: number): Maybe<Creatable>
  /** Every room, in no particular order. */
  rooms(): Maybe<RoomInfo[]>
  /** The REST views of these rooms (with their member counts); rooms gone meanwhile are left out. */
  views(ids: RoomId[]): Maybe<RoomView[]>
  /** The room's members as its user list shows them, in the order they joined. */
  users(room: RoomId): Maybe<UserView[]>
  /** How many of each member's sessions are online, by user key (members with none left out). */
  connections(room: RoomId): Maybe<Map<string, number>>
  /** The bans in force now (a timed ban that ended is left out), in no particular order. */
  bans(room: RoomId): Maybe<Ban[]>
  /** The room now, for a member who asks to join it again. */
  snapshot(room: RoomId): Maybe<RoomSnapshot>
  /** The member `key` of the room, or undefined. */
  member(room: RoomId, key: string): Maybe<MemberRecord | undefined>
  /**
   * Stores a chat message of the member `key` held by `session`, unless they are muted
   * (an ended mute is dropped), and sends it to the room: one step, like a change.
   */
  post(room: RoomId, message: Post): Maybe<PostOutcome>
  /** The kept message with this id (a tombstone counts, as `deleted`), or undefined. */
  message(room: RoomId, id: MessageId): Maybe<MessageRecord | undefined>
  /** Applies a change to a kept message, all or nothing (see Amendment). */
  amend(room: RoomId, amendment: Amendment): Maybe<AmendOutcome>
  /** Up to `limit` messages before the id `before` (the newest without it), oldest first. */
  page(room: RoomId, before: string | undefined, limit: number | undefined): Maybe<Page>
  /** Applies a guarded change to one room, all or nothing. */
  change(room: RoomId, change: Change): Maybe<Outcome>
  /**
   * This node stops holding the member `key` of `session`, whatever the room says: for a
   * member the room had already lost (a node taken for dead was reaped meanwhile).
   */
  forget(room: RoomId, key: string, session: SessionHandle): Maybe<void>
}
