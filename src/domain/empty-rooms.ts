import type { ChatEvents } from '../chat/events.ts'
import type { RoomId } from '../protocol/frames.ts'
import type { Announcer } from './announcer.ts'
import type { Clock } from './clock.ts'
import type { Logger } from './ports.ts'
import type { Room } from './room.ts'

/**
 * The timers that delete a room once it has stayed empty for `roomEmptyTtlMs`. Permanent
 * rooms are never scheduled; a join cancels the timer.
 */
export class EmptyRooms {
  constructor(
    private readonly rooms: Map<RoomId, Room>,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly announce: Announcer,
    private readonly logger: Logger,
    private readonly events: ChatEvents,
  ) {}

  /** Starts the room's deletion timer if it is empty, not permanent and not yet scheduled. */
  schedule(room: Room): void {
    if (room.permanent || room.members.size > 0 || room.emptyTimer !== undefined) return
    room.emptyTimer = this.clock.setTimeout(() => {
      room.emptyTimer = undefined
      if (room.members.size === 0 && this.rooms.get(room.id) === room) {
        this.announce.clearBatch(room)
        this.rooms.delete(room.id)
        this.logger.info('empty room deleted', { room: room.id })
        this.events.emit('room.deleted', { room: room.id, reason: 'empty' })
      }
    }, this.ttlMs)
  }

  /** Stops the room's deletion timer, if any. */
  cancel(room: Room): void {
    if (room.emptyTimer !== undefined) this.clock.clearTimeout(room.emptyTimer)
    room.emptyTimer = undefined
  }
}
