/**
 * Batched presence for big rooms, once for both engines: in a room of at least
 * PRESENCE_DIFF_MIN_MEMBERS, joins, leaves and online/offline changes that reach a node
 * within PRESENCE_DIFF_INTERVAL_MS go to its members as one `presence_diff`, each joiner as
 * the member list has them at the flush (moderator, status), none who left meanwhile. Each
 * node batches what it delivers; the room's member count comes with each join and leave.
 */
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import { userKey } from '../domain/names.ts'
import type { RoomId, UserView } from '../protocol/frames.ts'

interface Batch {
  joins: Map<string, UserView>
  leaves: Set<string>
  timer: TimerHandle
}

const PRESENCE_PREFIXES = ['{"type":"user_joined"', '{"type":"user_left"', '{"type":"presence"']

/** The room's members as the user list shows them, by user key (from the engine). */
export type MemberViews = (room: RoomId) => Promise<Map<string, UserView>>

export class PresenceBatcher {
  private readonly batches = new Map<RoomId, Batch>()

  constructor(
    private readonly config: Pick<Config, 'presenceDiffMinMembers' | 'presenceDiffIntervalMs'>,
    private readonly clock: Clock,
    private readonly publish: (room: RoomId, json: string) => void,
    /** Read at each flush, so a join says what one node says: the member as they are now. */
    private readonly views: MemberViews,
  ) {}

  /**
   * Takes a frame into the room's batch if it is a presence frame of a big room (or of a
   * room whose batch is open); false when the caller should send it as it is.
   */
  offer(room: RoomId, memberCount: number, json: string): boolean {
    const min = this.config.presenceDiffMinMembers
    let batch = this.batches.get(room)
    if (!batch && (min === 0 || memberCount < min)) return false
    if (!PRESENCE_PREFIXES.some((p) => json.startsWith(p))) return false
    const frame = JSON.parse(json) as {
      type: string
      username: string
      status?: 'online' | 'offline'
    }
    if (!batch) {
      const created: Batch = {
        joins: new Map(),
        leaves: new Set(),
        timer: this.clock.setTimeout(
          () => this.flush(room, created),
          this.config.presenceDiffIntervalMs,
        ),
      }
      this.batches.set(room, created)
      batch = created
    }
    if (frame.type === 'user_left') {
      batch.joins.delete(frame.username)
      batch.leaves.add(frame.username)
    } else {
      batch.leaves.delete(frame.username)
      batch.joins.set(frame.username, {
        username: frame.username,
        status: frame.status ?? 'online',
        moderator: false,
      })
    }
    return true
  }

  private flush(room: RoomId, batch: Batch): void {
    if (this.batches.get(room) === batch) this.batches.delete(room)
    if (batch.joins.size === 0 && batch.leaves.size === 0) return
    const send = (joins: UserView[]) =>
      this.publish(
        room,
        JSON.stringify({ type: 'presence_diff', room, joins, leaves: [...batch.leaves] }),
      )
    if (batch.joins.size === 0) {
      send([])
      return
    }
    // Each joiner as the member list has them now, none who is no longer a member; when
    // the list cannot be read (Redis away), as the frames said.
    this.views(room).then(
      (views) => {
        const joins: UserView[] = []
        for (const name of batch.joins.keys()) {
          const view = views.get(userKey(name))
          if (view) joins.push(view)
        }
        if (joins.length > 0 || batch.leaves.size > 0) send(joins)
      },
      () => send([...batch.joins.values()]),
    )
  }

  clear(room?: RoomId): void {
    for (const [id, batch] of this.batches) {
      if (room !== undefined && id !== room) continue
      this.clock.clearTimeout(batch.timer)
      this.batches.delete(id)
    }
  }
}
