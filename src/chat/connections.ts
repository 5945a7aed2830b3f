/**
 * The rules of a connection's life, once for both engines: `welcome` (or a close when its
 * address has too many), the close of a connection that joins no room in time, and the
 * goodbye of a server shutting down, the live session of a connection and its frame
 * budget. Connections always live on one node.
 */
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import type { Guard } from '../domain/guard.ts'
import type { Logger, Peer } from '../domain/ports.ts'
import { CLOSE, type Limited, takeFrame } from '../domain/rules.ts'
import type { TokenBucket } from '../domain/token-bucket.ts'
import { ChatError } from '../protocol/errors.ts'

/** A session as these rules see it. */
export interface Holder {
  peer: Peer | undefined
  readonly rooms: { readonly size: number }
  unjoinedTimer: TimerHandle | undefined
}

/**
 * A new connection from `peer.address`: counted against the address's cap (closed with
 * 1008 past it, false), else greeted with its session token (true).
 */
export function welcome(
  peer: Peer,
  guard: Guard,
  token: string,
  config: Pick<Config, 'resumeGraceMs'>,
): boolean {
  if (!guard.connectionOpened(peer.address)) {
    peer.close(CLOSE.policy, 'Too many connections from your address')
    return false
  }
  peer.send({ type: 'welcome', session: token, resume_within_ms: config.resumeGraceMs })
  return true
}

/** Closes a connection in no room after UNJOINED_TIMEOUT_MS, so that idle sockets do not pile up. */
export class Unjoined {
  constructor(
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'unjoinedTimeoutMs'>,
  ) {}

  watch(holder: Holder): void {
    this.clear(holder)
    holder.unjoinedTimer = this.clock.setTimeout(() => {
      holder.unjoinedTimer = undefined
      if (holder.rooms.size === 0) holder.peer?.close(CLOSE.unjoined, 'No room joined in time')
    }, this.config.unjoinedTimeoutMs)
  }

  clear(holder: Holder): void {
    if (holder.unjoinedTimer !== undefined) this.clock.clearTimeout(holder.unjoinedTimer)
    holder.unjoinedTimer = undefined
  }
}

/**
 * Shutdown: tells every client to come back after a random delay (spread so that they do
 * not all return at once) and closes it with 1001.
 */
export function sayGoodbye(
  peers: Iterable<Peer>,
  config: Pick<Config, 'shutdownReconnectSpreadMs'>,
): void {
  for (const peer of peers) {
    const reconnect = 1000 + Math.floor(Math.random() * config.shutdownReconnectSpreadMs)
    peer.send({ type: 'shutdown', reconnect_in_ms: reconnect })
    peer.close(CLOSE.goingAway, 'Server shutting down')
  }
}

/**
 * A connection and the session it serves (none once closed or taken over): the transport's
 * Peer, with the store's type on `client`.
 */
export interface Link<S extends Limited & { readonly frames: TokenBucket }> extends Peer {
  client: S | undefined
}

/** The sessions among `sessions` that have a connection now (not away in their grace). */
export function connected<S extends { readonly peer: Peer | undefined }>(
  sessions: Iterable<S>,
): S[] {
  const out: S[] = []
  for (const session of sessions) if (session.peer) out.push(session)
  return out
}

/** The live session of a connection; `not_authorized` once it closed or was taken over. */
export function liveSession<S extends Limited & { readonly frames: TokenBucket }>(
  conn: Link<S>,
): S {
  const client = conn.client
  if (!client || client.peer !== conn) throw new ChatError('not_authorized', 'Connection closed')
  return client
}

/** Rate-limits a frame that is not a chat message or typing frame. */
export function countFrame<S extends Limited & { readonly frames: TokenBucket }>(
  conn: Link<S>,
  logger: Logger,
): void {
  const client = liveSession(conn)
  takeFrame(client, client.frames, logger)
}

/** Charges a malformed frame to the connection's frame budget, without an error of its own. */
export function penalize<S extends Limited & { readonly frames: TokenBucket }>(
  conn: Link<S>,
  logger: Logger,
): void {
  const client = conn.client
  if (client && client.peer === conn) takeFrame(client, client.frames, logger, true)
}

/**
 * A connection closed: its address counts one connection fewer, and the session it served
 * (if it still did: not taken over meanwhile) is returned without a connection.
 */
export function release<
  S extends Limited & { readonly frames: TokenBucket; peer: Peer | undefined },
>(conn: Link<S>, guard: Guard): S | undefined {
  guard.connectionClosed(conn.address)
  const client = conn.client
  conn.client = undefined
  if (!client || client.peer !== conn) return undefined
  client.peer = undefined
  return client
}
