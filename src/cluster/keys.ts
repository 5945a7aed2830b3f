/**
 * Every Redis key and channel the cluster uses, built in one place. A room's keys share the
 * hash tag `{<room id>}`, so each per-room script touches one slot (ready for Redis Cluster);
 * the registry, node list and session records are keys of their own.
 */
import { createHash } from 'node:crypto'
import type { RoomId } from '../protocol/frames.ts'

/** The keys of one room, in the order the scripts take them. */
export interface RoomKeys {
  /** Hash: epoch, seq (last message sequence), emptied (ms), deleting (ms). */
  state: string
  /**
   * Hash: user key → member JSON `{u, n, s, b, m, o, j, i, d, x}` (cluster-rooms.ts
   * StoredMember: the first session that holds it on the record, the others in `x`).
   */
  members: string
  /**
   * List: stored message JSON, oldest first; the last HISTORY_LIMIT are the history (up to
   * 64 more wait to be trimmed: HISTORY_SLACK in lua/prelude.lua).
   */
  history: string
  /** Hash: user key → ban JSON `{username, by, at}`. */
  bans: string
  /** Hash: session hash → user key it was banned under. */
  bannedSessions: string
  /** Hash: user key → mute end (ms). */
  mutes: string
  /** Sorted set: user key → end of their resume grace (ms). */
  grace: string
  /**
   * Hash: what the room keeps about a kept message apart from the history (which is shown as
   * is): `r<seq>` its reactions in full (JSON `[[emoji, [username, …]], …]`). Trimmed with
   * the history.
   */
  extra: string
  /**
   * Hash: user key → read marker JSON `{r, o, t, p}`: the last-read sequence number, its
   * owner (`user:<id>`, or the anonymous session's ban identity), when the last `read`
   * frame went out (ms), and 1 while a trailing one waits (src/chat/read-markers.ts).
   */
  read: string
  /** Hash: the room's wrong-password bucket (tokens, at), shared by every node. */
  passwords: string
  /** Pub/sub channel of the room's events. */
  channel: string
}

export class Keys {
  /** Hash: room id → room meta JSON. */
  readonly registry: string
  /** Sorted set: node id → last heartbeat (ms). */
  readonly nodes: string
  /** Sorted set: room id → next deadline (grace end, empty-room expiry). */
  readonly due: string
  /** Random id written once per Redis data set: a new one means Redis lost its data. */
  readonly epoch: string

  constructor(readonly prefix: string) {
    this.registry = `${prefix}rooms`
    this.nodes = `${prefix}nodes`
    this.due = `${prefix}due`
    this.epoch = `${prefix}epoch`
  }

  room(id: RoomId): RoomKeys {
    const p = `${this.prefix}{${id}}:`
    return {
      state: `${p}state`,
      members: `${p}members`,
      history: `${p}history`,
      bans: `${p}bans`,
      bannedSessions: `${p}bansess`,
      mutes: `${p}mutes`,
      grace: `${p}grace`,
      extra: `${p}msgx`,
      read: `${p}read`,
      passwords: `${p}pw`,
      channel: `${p}ch`,
    }
  }

  /** Hash: room id → user key, the rooms of one session (by the session token's hash). */
  session(sessionHash: string): string {
    return `${this.prefix}sess:${sessionHash}`
  }

  /** A node's own channel: takeovers of its sessions, and the deafness probe. */
  nodeChannel(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`
  }

  /** The server API's result for an idempotency key (src/chat/api.ts). */
  idempotency(key: string): string {
    return `${this.prefix}idem:${key}`
  }

  /** Set while the user's tokens are refused (`POST /api/users/{id}/disconnect` with block_ms). */
  block(userId: string): string {
    return `${this.prefix}block:${userId}`
  }

  /** Hash: direct room id → the other user's id, the direct rooms of one user (src/chat/direct.ts). */
  direct(userId: string): string {
    return `${this.prefix}direct:${userId}`
  }

  /** A lock that one node at a time holds (`SET NX PX`). */
  lock(name: string): string {
    return `${this.prefix}lock:${name}`
  }

  /** The room id of a room channel, or undefined for another channel. */
  roomOfChannel(channel: string): RoomId | undefined {
    const p = `${this.prefix}{`
    if (!channel.startsWith(p) || !channel.endsWith('}:ch')) return undefined
    return channel.slice(p.length, -4)
  }
}

/**
 * A session token's hash, as stored in Redis and logged. The token itself is a bearer secret
 * (it resumes the session), so it never leaves the node that issued it.
 */
export function sessionHash(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 32)
}
