/**
 * The node's housekeeping in the cluster: its heartbeat, the deadlines of every room
 * (resume graces that end, empty rooms that expire), and the members of dead nodes.
 *
 * No single node is in charge: every node sweeps the rooms whose deadline has come (taking
 * them off the shared `due` set, so one node does each), and the per-room script is
 * conditional on the state it finds, so a room swept twice comes to no harm. A node whose
 * heartbeat is older than NODE_TTL_MS is dead; one node (under a lock) sweeps every room
 * for its members, who go offline and, after the resume grace, leave.
 */

import { emptyRoomDue } from '../chat/empty-rooms.ts'
import type { Held } from '../chat/membership.ts'
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import type { Logger } from '../domain/ports.ts'
import type { RoomId } from '../protocol/frames.ts'
import type { ClusterRooms, RoomMeta } from './cluster-rooms.ts'
import { roomKeyArgs } from './cluster-rooms.ts'
import type { Keys } from './keys.ts'
import { presenceTemplate } from './node-parts.ts'
import type { RedisLink } from './redis-link.ts'

/** Rooms taken off the due set per pass. */
const DUE_BATCH = 100
/** How often one node sweeps every room, catching deadlines a crash may have dropped. */
const FULL_SWEEP_MS = 30_000
/** A room whose state is missing this long after its creation is a leftover, and is removed. */
const ORPHAN_AGE_MS = 10_000

export class Janitor {
  private timer: TimerHandle | undefined
  private lastBeat = 0
  private lastFullSweep = 0
  private running = false
  private stopped = false
  /** Rooms in the registry at the last heartbeat, and since then as this node saw them (for /health). */
  roomCount = 0

  constructor(
    private readonly config: Config,
    private readonly keys: Keys,
    private readonly link: RedisLink,
    private readonly rooms: ClusterRooms,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onReaped: () => void,
    /** An away member's grace ran out: they leave for good (src/chat/membership.ts). */
    private readonly expire: (member: Held) => Promise<boolean>,
    /** The room's deletion as an empty room is due: true if the rule deleted it (src/chat/empty-rooms.ts). */
    private readonly deleteEmpty: (room: RoomId, now: number) => Promise<boolean>,
  ) {}

  /** How often the janitor wakes: a fraction of the shortest deadline it keeps. */
  get intervalMs(): number {
    const shortest = Math.min(
      this.config.nodeTtlMs / 2,
      this.config.resumeGraceMs || this.config.nodeTtlMs,
      this.config.roomEmptyTtlMs || this.config.nodeTtlMs,
    )
    return Math.max(50, Math.min(1000, Math.floor(shortest / 5)))
  }

  /** Heartbeats every fifth of NODE_TTL_MS: a node misses three before it is taken for dead. */
  private get beatMs(): number {
    return Math.max(100, Math.floor(this.config.nodeTtlMs / 5))
  }

  /**
   * A heartbeat older than this is a dead node. Less than NODE_TTL_MS by a heartbeat and a
   * janitor round, so that a node killed at any moment is cleaned up (its members shown
   * offline) within NODE_TTL_MS of its death, not of its last heartbeat.
   */
  private get deadAfterMs(): number {
    return Math.max(this.beatMs * 3, this.config.nodeTtlMs - this.beatMs - this.intervalMs)
  }

  start(): void {
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      void this.pass().finally(() => this.schedule())
    }, this.intervalMs)
  }

  /**
   * Announces this node as alive now. If the node was missing from the list although it
   * had announced itself before, the others took it for dead (a long pause, a partition)
   * and its members went offline: `onReaped` puts them back.
   */
  async heartbeat(): Promise<void> {
    const now = this.clock.now()
    const added = await this.link.call(() =>
      this.link.cmd.zadd(this.keys.nodes, now, this.config.nodeId),
    )
    const wasKnown = this.lastBeat > 0
    this.lastBeat = now
    this.roomCount = await this.rooms.count()
    if (added === 1 && wasKnown) {
      this.logger.warn('this node was taken for dead: restoring its members')
      this.onReaped()
    }
  }

  /** Takes this node out of the node list (a clean shutdown: nobody needs to reap it). */
  async leave(): Promise<void> {
    await this.link.call(() => this.link.cmd.zrem(this.keys.nodes, this.config.nodeId))
  }

  private async pass(): Promise<void> {
    if (this.running || !this.link.isUp) return
    this.running = true
    try {
      const now = this.clock.now()
      if (now - this.lastBeat >= this.beatMs) await this.heartbeat()
      await this.reapDeadNodes()
      if (now - this.lastFullSweep >= FULL_SWEEP_MS) {
        this.lastFullSweep = now
        if (await this.lock('sweep', FULL_SWEEP_MS)) await this.sweepAll([])
      }
      await this.sweepDue()
    } catch (e) {
      this.logger.debug('janitor pass failed', { error: (e as Error).message })
    } finally {
      this.running = false
    }
  }

  private async lock(name: string, ms: number): Promise<boolean> {
    const ok = await this.link.call(() =>
      this.link.cmd.set(this.keys.lock(name), this.config.nodeId, 'PX', ms, 'NX'),
    )
    return ok === 'OK'
  }

  private async reapDeadNodes(): Promise<void> {
    const cutoff = this.clock.now() - this.deadAfterMs
    const dead = (
      await this.link.call(() => this.link.cmd.zrangebyscore(this.keys.nodes, '-inf', cutoff))
    ).filter((n) => n !== this.config.nodeId)
    if (dead.length === 0) return
    const mine: string[] = []
    for (const node of dead)
      if (await this.lock(`reap:${node}`, this.config.nodeTtlMs)) mine.push(node)
    if (mine.length === 0) return
    this.logger.warn('nodes dead: their members go offline', { dead: mine })
    await this.sweepAll(mine)
    await this.link.call(() => this.link.cmd.zrem(this.keys.nodes, ...mine))
  }

  private async sweepDue(): Promise<void> {
    const ids = (await this.link.script(
      'popDue',
      [this.keys.due],
      [this.clock.now(), DUE_BATCH],
    )) as string[]
    if (ids.length === 0) return
    const metas = await this.link.call(() => this.link.cmd.hmget(this.keys.registry, ...ids))
    for (const raw of metas) if (raw) await this.tick(JSON.parse(raw) as RoomMeta, [])
  }

  private async sweepAll(dead: string[]): Promise<void> {
    for (const meta of await this.rooms.all()) await this.tick(meta, dead)
  }

  /** Runs the room's tick script and acts on what it says. */
  private async tick(meta: RoomMeta, dead: string[]): Promise<void> {
    const k = this.keys.room(meta.id)
    const now = this.clock.now()
    const out = (await this.link.script('tick', roomKeyArgs(k), [
      presenceTemplate(meta.id, 'offline'),
      now,
      k.channel,
      dead.join(','),
      this.config.resumeGraceMs,
    ])) as [string, number, number, ...string[]]
    const [code, graceNext, emptied, ...due] = out
    for (let i = 0; i + 4 <= due.length; i += 4) {
      const [key, session, username, user] = due.slice(i, i + 4) as [string, string, string, string]
      const member = { room: meta.id, key, username, session, userId: user || undefined }
      if (!(await this.expire(member))) continue
      // The session is away (its grace ran out here): its record goes soon after.
      const record = this.keys.session(session)
      await this.link.call(() => this.link.cmd.hdel(record, meta.id))
      await this.link.call(() => this.link.cmd.pexpire(record, 1000, 'LT'))
    }
    // `deleting`: a room deleted (through the server API, or as empty) whose node stopped
    // before the purge; `gone`: a leftover whose state never came.
    if (code === 'deleting' || (code === 'gone' && now - meta.created_at > ORPHAN_AGE_MS)) {
      await this.link.call(() => this.link.cmd.hdel(this.keys.registry, meta.id))
      await this.link.script('purge', roomKeyArgs(k), [k.channel])
      this.roomCount = Math.max(0, this.roomCount - 1)
      this.logger.info('deleted room purged', { room: meta.id })
      return
    }
    if (code !== 'ok') return
    let next = graceNext
    const emptyAt = emptyRoomDue(
      meta.permanent,
      emptied >= 0 ? emptied : undefined,
      this.config.roomEmptyTtlMs,
    )
    if (emptyAt !== undefined && emptyAt <= now) {
      if (await this.deleteEmpty(meta.id, now)) {
        this.roomCount = Math.max(0, this.roomCount - 1)
        return
      }
    } else if (emptyAt !== undefined && (next < 0 || emptyAt < next)) next = emptyAt
    if (next >= 0) {
      await this.link.call(() => this.link.cmd.zadd(this.keys.due, 'LT', next, meta.id))
    }
  }
}
