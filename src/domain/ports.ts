/**
 * What the domain needs from the outside world. The WebSocket adapter implements Peer
 * and RoomSink on Bun's sockets and topics; tests may implement them in memory.
 */
import type { RoomId, ServerFrame } from '../protocol/frames.ts'

/**
 * One client connection, as the store sees it. The transport's object is also the store's
 * record of the connection (one object per connection, not two: memory per idle
 * connection is a benchmark target): `client` and `resumed` are the store's, set by its
 * `connect` and written by it alone; a transport starts them as undefined and false.
 */
export interface Peer {
  /** The client's address, for per-address limits. */
  readonly address: string
  /** The session this connection serves (the store's type); undefined once closed. */
  client: unknown
  /** Whether this connection has resumed a session (a connection resumes once). */
  resumed: boolean
  /** Sends one frame to this connection only. */
  send(frame: ServerFrame): void
  /** Sends a frame that is already JSON (built by a protocol helper such as `joinedJson`). */
  sendJson(json: string): void
  /** Starts receiving the room's broadcasts; false when the connection is already closed. */
  subscribe(room: RoomId): boolean
  unsubscribe(room: RoomId): void
  /** Sends a frame to every other subscriber of the room (not to this connection). */
  publishToOthers(room: RoomId, frame: ServerFrame): void
  /** Closes the connection with a WebSocket close code and a short reason. */
  close(code: number, reason: string): void
}

/** The one fan-out path: sends a frame to every subscriber of a room on this server. */
export interface RoomSink {
  publish(room: RoomId, frame: ServerFrame): void
  /** The same for a frame that is already JSON (the Redis engine relays frames as text). */
  publishJson(room: RoomId, json: string): void
}

/** Password hashing; async so that a slow hash does not hold up other rooms. */
export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(password: string, hash: string): Promise<boolean>
}

export type LogFields = Record<string, unknown>

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** Whether lines of this level are written; lets callers skip building costly fields. */
  enabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean
}

/** Counters the store feeds (the server's Prometheus metrics); optional, `noMetrics` does nothing. */
export interface Metrics {
  /** A `resumed` frame was sent for one room; `recovered` false when missed messages were lost. */
  resumed(recovered: boolean): void
}

export const noMetrics: Metrics = { resumed: () => {} }
