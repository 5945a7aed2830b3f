/**
 * What a node does on every (re)connection to Redis before it takes frames that change
 * shared state again: registering, and putting back what Redis may have lost.
 */

import { defaultRooms } from '../chat/rooms.ts'
import { banIdentity } from '../chat/sign-in.ts'
import { randomToken } from '../domain/rules.ts'
import { withUserId } from '../protocol/frames.ts'
import { roomKeyArgs } from './cluster-rooms.ts'
import type { Delivery } from './delivery.ts'
import { type NodeParts, presenceJson } from './node-parts.ts'
import type { SessionRecords } from './session-records.ts'

/** How far sequences jump after Redis lost its data (see `floorMargin`). */
const LOST_DATA_SEQ_MARGIN = 1000

export class Repair {
  /** This node is registered in Redis and repaired since it last reconnected. */
  registered = false
  /** Resolves the first time this node has registered (see `ready`). */
  readonly firstRegistered = Promise.withResolvers<void>()
  /** The repair under way, if any. */
  repairing: Promise<void> | undefined
  private epoch: string | undefined
  /**
   * After Redis lost its data, sequences restart above what any node had: each node puts
   * its rooms back at its last id plus this margin, more than the few messages by which
   * two nodes can differ, so that no id is ever given twice or goes backwards.
   */
  private floorMargin = 0

  constructor(
    private readonly parts: NodeParts,
    private readonly delivery: Delivery,
    private readonly records: SessionRecords,
    /** Registers this node in the node list. */
    private readonly heartbeat: () => Promise<void>,
  ) {}

  /**
   * Runs on every (re)connection to Redis: registers this node, puts back the default
   * rooms, the rooms and members this node serves (Redis may have come back empty, or
   * other nodes may have taken this node for dead), finishes the sessions that dropped
   * meanwhile, and brings every room's feed up to date from the shared history.
   */
  run(): void {
    const run = async () => {
      try {
        await this.heartbeat()
        await this.checkEpoch()
        // The rooms this node serves first: their sequences go back above what was sent.
        await this.restoreMembers()
        for (const room of defaultRooms(this.parts.config, this.parts.clock.now()))
          await this.parts.rooms.ensure(this.parts.rooms.metaOf(room, true), 0)
        await this.records.finishDropped()
        for (const feed of this.delivery.feeds.values()) {
          feed.syncing = true
          await this.delivery.sync(feed)
        }
        // Again, so /health counts the rooms just put back.
        await this.heartbeat()
        this.registered = true
        this.firstRegistered.resolve()
        this.parts.logger.info('node registered', { node: this.parts.config.nodeId })
      } catch (e) {
        this.parts.logger.warn('cluster repair failed; retrying', { error: (e as Error).message })
        this.parts.clock.setTimeout(() => {
          if (this.parts.link.isUp && !this.registered) this.run()
        }, 500)
      } finally {
        this.repairing = undefined
      }
    }
    if (this.repairing) return
    this.repairing = run()
  }

  private async checkEpoch(): Promise<void> {
    const cmd = this.parts.link.cmd
    await this.parts.link.call(() => cmd.set(this.parts.keys.epoch, randomToken(), 'NX'))
    const epoch = (await this.parts.link.call(() => cmd.get(this.parts.keys.epoch))) ?? ''
    this.floorMargin = 0
    if (this.epoch !== undefined && this.epoch !== epoch) {
      this.floorMargin = LOST_DATA_SEQ_MARGIN
      this.parts.logger.warn('redis lost its data: re-registering rooms and members', {
        node: this.parts.config.nodeId,
      })
    }
    this.epoch = epoch
  }

  private async restoreMembers(): Promise<void> {
    for (const [room, map] of this.delivery.locals) {
      const feed = this.delivery.feeds.get(room)
      // Redis may have lost the registry entry: put the room back as this node knew it.
      const meta = feed?.meta ?? (await this.parts.rooms.meta(room).catch(() => undefined))
      if (meta) await this.parts.rooms.ensure(meta, (feed?.lastSeq ?? 0) + this.floorMargin)
      const k = this.parts.keys.room(room)
      const held = [...map].flatMap(([key, clients]) => [...clients].map((c) => [key, c] as const))
      for (const [key, client] of held) {
        const member = client.rooms.get(room)
        if (!member) continue
        const result = await this.parts.link.script('restore', roomKeyArgs(k), [
          room,
          key,
          member.username,
          this.parts.config.nodeId,
          client.hash,
          member.moderator ? 1 : 0,
          presenceJson(room, member.username, 'online', member.userId),
          k.channel,
          banIdentity(client, client.banId),
          JSON.stringify(
            withUserId({ type: 'user_joined', room, username: member.username }, member.userId),
          ),
          member.userId ?? '',
        ])
        if (result === 'ok') {
          await this.records.recordRoom(client, room, key)
          continue
        }
        client.peer?.send({
          type: 'error',
          code: result === 'taken' ? 'username_taken' : 'room_not_found',
          message: 'You lost your place in this room while the server was unavailable',
          room,
        })
        this.delivery.dropLocal(client, member)
      }
    }
  }
}
