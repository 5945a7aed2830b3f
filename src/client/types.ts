/**
 * The public types of the chat client. Only type imports from the protocol: this file
 * (like the whole of src/client/) must bundle for the browser without any server code.
 */
import type { ErrorCode } from '../protocol/errors.ts'
import type {
  MessageId,
  PresenceStatus,
  ReactionView,
  RoomId,
  ServerFrame,
  StoredMessage,
  UserView,
} from '../protocol/frames.ts'

export type {
  ErrorCode,
  MessageId,
  PresenceStatus,
  ReactionView,
  RoomId,
  ServerFrame,
  StoredMessage,
  UserView,
}

/** The `type` of a frame the server sends. */
export type ServerFrameType = ServerFrame['type']

/** The server frame whose `type` is `T`. */
export type FrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>

/** The reply to `join` and `create` (`moderator_token` only after `create`). */
export type JoinedFrame = FrameOf<'joined'>
/** A chat message as delivered live (and replayed after a resume). */
export type MessageFrame = FrameOf<'message'>
/** A moderation note as delivered live (and a replayed join/leave note after a resume). */
export type SystemFrame = FrameOf<'system'>
export type ErrorFrame = FrameOf<'error'>
/** A kept message's new text (`edit`); `event_id` is its place in the room's sequence. */
export type MessageEditedFrame = FrameOf<'message_edited'>
/** A kept message was deleted by its sender or a moderator (`by`); the history keeps a tombstone. */
export type MessageDeletedFrame = FrameOf<'message_deleted'>
/** A reaction set (`on`) or cleared on a kept message; `count` is the emoji's new total. */
export type ReactionFrame = FrameOf<'reaction'>
/** A change to a kept message: an edit, a delete or a reaction. */
export type ChangeFrame = MessageEditedFrame | MessageDeletedFrame | ReactionFrame
/** Another member's read marker moved (they read the room up to `id`). */
export type ReadFrame = FrameOf<'read'>
/** Another signed-in user started a direct conversation with you (their first message). */
export type DirectFrame = FrameOf<'direct'>

/**
 * What a UI shows: `connecting` until the first `welcome`, `open` while requests go out at
 * once, `reconnecting` after a drop until the rooms are back, `closed` after `close()` or
 * a close the client must not undo (4001: the session moved to another connection).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** Payload of the `reconnected` event, after the rooms are back on a new connection. */
export interface ReconnectedInfo {
  /**
   * False when some messages could not be delivered: the gap reached past the server's
   * kept history, or a room could not be re-joined. Tell the user something is missing.
   */
  recovered: boolean
  /** True when the server resumed the session; false when the rooms were joined anew. */
  resumed: boolean
}

/** Payload of the `disconnect` event: a connection ended. */
export interface DisconnectInfo {
  /** The WebSocket close code (1006 when the client gave up on a silent connection). */
  code: number
  reason: string
  /** Whether the client will connect again by itself. */
  reconnect: boolean
}

/** Every event and its payload: one per server frame type, plus the client's own. */
export type ChatClientEvents = { [K in ServerFrameType]: FrameOf<K> } & {
  /** The connection state changed. */
  state: ConnectionState
  /** A dropped connection was replaced and its rooms are back. */
  reconnected: ReconnectedInfo
  /** A connection closed (the state event tells what the client does next). */
  disconnect: DisconnectInfo
}

export type ChatEventName = keyof ChatClientEvents

export type ChatEventHandler<E extends ChatEventName> = (payload: ChatClientEvents[E]) => void

/** A room the client is in, as the server last confirmed it. */
export interface RoomMembership {
  /** The room's id (a `join` by name is filed under the id the server answered). */
  room: RoomId
  username: string
  moderator: boolean
  /**
   * The highest id seen in the room: a message's or system note's `id`, or a change's
   * `event_id` (the same sequence). Only later messages and changes are delivered, and a
   * resume asks for what came after it.
   */
  lastId?: MessageId
}

/** Timers the client uses; inject a fake one in tests. */
export interface ClientClock {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface ChatClientOptions {
  /** The WebSocket endpoint, `ws://host:port/ws` or `wss://…`. */
  url: string
  /** The WebSocket class; default the global one. */
  WebSocket?: typeof WebSocket
  /**
   * Reconnect delays: before retry n, a random wait in [0, min(maxDelayMs, minDelayMs·2ⁿ))
   * ("full jitter"). Defaults 500 ms and 15 s.
   */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number }
  /** How long a request waits for its reply before it rejects with `timeout`. Default 10 s. */
  requestTimeoutMs?: number
  /**
   * A `ping` goes out this often while open; a connection silent for two intervals is
   * given up and replaced. Default 20 s; 0 turns it off.
   */
  heartbeatIntervalMs?: number
  /** Timers (default the global setTimeout/clearTimeout). */
  clock?: ClientClock
  /** Source of jitter in [0, 1) (default Math.random). */
  random?: () => number
  /**
   * Sign-in (AUTH_MODE): a fixed token, or `getToken` for a fresh one at every connection
   * and before the current one expires. Either signs in before anything else is sent, a
   * resume after a reconnect included; a rejected `getToken` stops the client.
   */
  token?: string
  getToken?: () => Promise<string>
  /** How long before the token's expiry `getToken` is asked for the next. Default 60 s. */
  refreshBeforeMs?: number
  /** Milliseconds since the epoch, for the refresh schedule (default Date.now). */
  now?: () => number
}

/** Codes of rejections the client makes itself (the others are the server's ErrorCode). */
export type ClientErrorCode =
  /** No reply within `requestTimeoutMs`. */
  | 'timeout'
  /** The connection dropped after the request went out: it may or may not have been done. */
  | 'disconnected'
  /** The client is closed (`close()`, or the server replaced this connection). */
  | 'closed'

/** The rejection of every request promise. */
export class ChatRequestError extends Error {
  override readonly name = 'ChatRequestError'

  constructor(
    /** The server's error code, or one of the client's own. */
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** The room the error is about, when the server named one. */
    readonly room?: RoomId,
  ) {
    super(message)
  }
}
