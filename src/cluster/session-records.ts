/**
 * A session's record in Redis (the rooms it is in, for a resume on any node) and what
 * happens to its members when its connection goes away: offline for their grace, or gone.
 */
import { NOTES, template } from '../domain/notes.ts'
import type { RoomId } from '../protocol/frames.ts'
import { roomKeyArgs } from './cluster-rooms.ts'
import type { LocalSession } from './local-session.ts'
import { type NodeParts, presenceJson } from './node-parts.ts'

/** Sessions that dropped while Redis was out of reach, to be marked offline once it is back. */
const MAX_DROPPED = 100_000

/** A session that went away, and the rooms it was in. */
export interface Dropped {
  hash: string
  rooms: { room: RoomId; key: string; username: string }[]
}

/**
 * Runs the leave script: the member `key` of session `hash` leaves `room` for good.
 * Returns {code, seq, count}: `ok` (with the leave's sequence and the members left) or `gone`.
 */
export async function leaveRoom(
  parts: NodeParts,
  room: RoomId,
  key: string,
  hash: string,
): Promise<[string, number, number]> {
  const k = parts.keys.room(room)
  return (await parts.link.script('leave', roomKeyArgs(k), [
    room,
    key,
    hash,
    parts.config.historyLimit,
    parts.clock.now(),
    k.channel,
    parts.config.nodeId,
    template(NOTES.left),
  ])) as [string, number, number]
}

export class SessionRecords {
  private dropped = new Map<string, Dropped>()
  private droppedOverflow = false

  constructor(
    private readonly parts: NodeParts,
    /** One frame to this node's members of a room. */
    private readonly publishLocal: (room: RoomId, json: string) => void,
  ) {}

  /** How long the record of a session that went away is kept: its grace, and a second. */
  get ttlMs(): number {
    return this.parts.config.resumeGraceMs + 1000
  }

  /** Shows a dropped session's members offline (their grace starts), or removes them (no grace). */
  async markGone(d: Dropped): Promise<void> {
    try {
      for (const { room, key, username } of d.rooms) {
        const k = this.parts.keys.room(room)
        if (this.parts.config.resumeGraceMs === 0) {
          const out = await leaveRoom(this.parts, room, key, d.hash)
          if (out[0] === 'ok' && out[2] === 0) await this.expireEmpty(room)
          continue
        }
        const deadline = this.parts.clock.now() + this.parts.config.resumeGraceMs
        const changed = await this.parts.link.script('offline', roomKeyArgs(k), [
          room,
          key,
          d.hash,
          this.parts.config.nodeId,
          deadline,
          k.channel,
        ])
        if (changed === 1) {
          // The script told the other nodes; this node tells its own members.
          this.publishLocal(room, presenceJson(room, username, 'offline'))
          await this.parts.link.call(() =>
            this.parts.link.cmd.zadd(this.parts.keys.due, 'LT', deadline, room),
          )
        }
      }
      const record = this.parts.keys.session(d.hash)
      if (this.parts.config.resumeGraceMs === 0)
        await this.parts.link.call(() => this.parts.link.cmd.del(record))
      // Kept for a resume within the grace; gone by itself after it.
      else await this.parts.link.call(() => this.parts.link.cmd.pexpire(record, this.ttlMs))
    } catch {
      // Redis is away: remember the session (bounded) and finish once it is back.
      if (this.dropped.size < MAX_DROPPED) this.dropped.set(d.hash, d)
      else this.droppedOverflow = true
    }
  }

  /** The room is empty now: its deletion is due ROOM_EMPTY_TTL_MS from now (the janitor checks). */
  async expireEmpty(room: RoomId): Promise<void> {
    const at = this.parts.clock.now() + this.parts.config.roomEmptyTtlMs
    await this.parts.link
      .call(() => this.parts.link.cmd.zadd(this.parts.keys.due, 'LT', at, room))
      .catch(() => {})
  }

  /** Finishes the sessions that dropped while Redis was away (the repair calls it). */
  async finishDropped(): Promise<void> {
    const dropped = [...this.dropped.values()]
    this.dropped = new Map()
    if (this.droppedOverflow)
      this.parts.logger.warn('too many sessions dropped while redis was away')
    this.droppedOverflow = false
    for (const d of dropped) await this.markGone(d)
  }

  /** Notes in the session's record (for a resume on any node) that it is in `room` as `key`. */
  async recordRoom(client: LocalSession, room: RoomId, key: string): Promise<void> {
    const fields: Record<string, string> = { [room]: key }
    if (client.banId !== client.hash) fields._id = client.banId
    await this.parts.link
      .call(() => this.parts.link.cmd.hset(this.parts.keys.session(client.hash), fields))
      .catch(() => {})
  }
}
