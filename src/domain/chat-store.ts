/**
 * What the transports need from a store, whichever it is: `RoomStore` (one process, all in
 * memory, synchronous where it can be) or `ClusterStore` (state shared through Redis, so
 * most frames await a round trip). The REST and WS adapters hold a ChatStore and do not know
 * which one they have; a frame handler may return a promise, and the WS adapter then keeps
 * that connection's later frames waiting behind it. `message` is the exception: a store
 * puts the message in line before it returns (later frames of the connection cannot
 * overtake it), so its promise holds nothing up and only carries the answer.
 */

import type { ServerApi } from '../chat/server-api.ts'
import type {
  Action,
  AmendFrame,
  AuthFrame,
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
  ResumeFrame,
  RoomId,
  StoredMessage,
  UserView,
} from '../protocol/frames.ts'
import type { Peer } from './ports.ts'
import type { RoomView } from './room.ts'
import type { CreateRoomInput, RoomCredentials } from './rules.ts'

/** A connection as the transports hold it; each store keeps its own state behind it. */
export interface ConnectionHandle {
  readonly peer: Peer
}

/** `GET /health`: `degraded` while a cluster node cannot reach Redis (or has not registered yet). */
export interface HealthView {
  status: 'ok' | 'draining' | 'degraded'
  node: string
  uptime_s: number
  rooms: number
  connections: number
}

type Maybe<T> = T | Promise<T>

export interface ChatStore {
  readonly isDraining: boolean
  health(): Maybe<HealthView>

  // Connections
  checkUpgrade(address: string): void
  connect(peer: Peer): ConnectionHandle
  disconnect(conn: ConnectionHandle): void
  countFrame(conn: ConnectionHandle): void
  penalize(conn: ConnectionHandle): void

  // Sign-in
  auth(conn: ConnectionHandle, frame: AuthFrame): Promise<void>
  /** Throws `unauthenticated` when AUTH_MODE=required and the connection has not signed in. */
  checkSignedIn(conn: ConnectionHandle, action: Action): void

  // Frames
  join(conn: ConnectionHandle, frame: JoinFrame): Promise<void>
  create(conn: ConnectionHandle, frame: CreateFrame): Promise<void>
  message(conn: ConnectionHandle, frame: MessageFrame): Maybe<void>
  /** `edit`, `delete`, `react`. */
  amend(conn: ConnectionHandle, frame: AmendFrame): Maybe<void>
  typing(conn: ConnectionHandle, room: RoomId): Maybe<void>
  leave(conn: ConnectionHandle, room: RoomId, ref: Ref | undefined): Maybe<void>
  /** `read`: the member's read marker moves forward (src/chat/read-markers.ts). */
  read(conn: ConnectionHandle, frame: ReadFrame): Maybe<void>
  history(conn: ConnectionHandle, frame: HistoryFrame): Maybe<void>
  moderate(conn: ConnectionHandle, frame: ModerationFrame | MuteFrame): Maybe<void>
  resume(conn: ConnectionHandle, frame: ResumeFrame): Maybe<void>
  /** `direct`: joins the direct room of the user and `user_id` (src/chat/direct.ts). */
  direct(conn: ConnectionHandle, frame: DirectFrame): Promise<void>
  /** `directs`: the user's direct rooms. */
  directs(conn: ConnectionHandle, frame: DirectsFrame): Maybe<void>

  // REST views
  listRooms(
    q: string | undefined,
    limit?: number,
    cursor?: string,
  ): Maybe<{ rooms: RoomView[]; next_cursor: string | null }>
  /** Creates a room for `POST /rooms`: its view and the moderator token, shown only here. */
  createRoomView(
    input: CreateRoomInput,
    address: string,
  ): Promise<RoomView & { moderator_token: string }>
  roomDetails(id: RoomId): Maybe<RoomView & { users?: UserView[] }>
  messagesFor(
    id: RoomId,
    credentials: RoomCredentials,
    address: string,
    before?: string,
    limit?: number,
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }>
  bansOf(
    id: RoomId,
    token: string | undefined,
  ): Maybe<{ bans: { username: string; by: string; at: number }[] }>

  /** The server API (src/chat/server-api.ts; /api/… with API_KEY). */
  readonly api: ServerApi

  // Lifecycle
  /** Refuses new connections and rooms, tells every client to come back later, closes them. */
  drain(): void
  openConnections(): number
  /** Counts for logs and tests: rooms (cluster-wide), open connections, sessions here. */
  stats(): { rooms: number; connections: number; sessions: number; members: number }
  /** The resume token of a connection's session (for a short hash in logs), if it has one. */
  sessionOf(conn: ConnectionHandle): string | undefined
  /** Clears timers and, in a cluster, finishes what is in flight and leaves the cluster. */
  close(): Maybe<void>
}
