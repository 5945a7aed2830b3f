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
import type { StoreViews } from '../chat/views.ts'
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
} from '../protocol/frames.ts'
import type { Peer } from './ports.ts'

/**
 * A connection as the transports hold it: their own Peer, which each store's `connect`
 * makes its record of the connection (see Peer).
 */
export type ConnectionHandle = Peer

/**
 * A node's handlers of the chat frames, one per action (memory-frames.ts for one process,
 * cluster-frames.ts for a cluster node), each following the rules in src/chat.
 */
export interface FrameHandlers<C> {
  /** `join`: admits the client under `username`, checking bans, token, password, size and name. */
  join(conn: C, frame: JoinFrame): Promise<void>
  /** `create`: creates a room and joins its creator as moderator. */
  create(conn: C, frame: CreateFrame): Promise<void>
  /** `message`: stores the message and sends it to every member, the sender included. */
  message(conn: C, frame: MessageFrame): Maybe<void>
  /** `edit`, `delete`, `react`: a change to a kept message (src/chat/amend.ts). */
  amend(conn: C, frame: AmendFrame): Maybe<void>
  /** `typing`: shows the member as typing to the others; throttled, never an error for that. */
  typing(conn: C, room: RoomId): Maybe<void>
  /** `leave`: the member leaves the room and gets `left`. */
  leave(conn: C, room: RoomId, ref: Ref | undefined): Maybe<void>
  /** `read`: the member's read marker moves forward (src/chat/read-markers.ts). */
  read(conn: C, frame: ReadFrame): Maybe<void>
  /** `history`: a page of a room's messages, for its members or anyone in a public room. */
  history(conn: C, frame: HistoryFrame): Maybe<void>
  /** `ban`, `kick`, `unban`, `mute`, `unmute` from a moderator of the room. */
  moderate(conn: C, frame: ModerationFrame | MuteFrame): Maybe<void>
  /** `direct`: joins the direct room of the user and `user_id` (src/chat/direct.ts). */
  direct(conn: C, frame: DirectFrame): Promise<void>
  /** `directs`: the user's direct rooms. */
  listDirects(conn: C, frame: DirectsFrame): Maybe<void>
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

/**
 * What the transports call. The REST views and REST room creation are StoreViews'
 * (src/chat/views.ts), the same in both stores.
 */
export interface ChatStore
  extends Pick<
    StoreViews,
    'listRooms' | 'createRoomView' | 'roomDetails' | 'messagesFor' | 'bansOf'
  > {
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
  /** The handlers of the chat frames (memory-frames.ts, cluster-frames.ts). */
  readonly frames: FrameHandlers<ConnectionHandle>
  resume(conn: ConnectionHandle, frame: ResumeFrame): Maybe<void>

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
