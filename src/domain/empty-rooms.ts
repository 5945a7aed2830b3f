import { emptyRoomDue } from '../chat/empty-rooms.ts'
import type { Clock } from './clock.ts'
import type { Room } from './room.ts'

/**
 * The memory engine's timers for the empty-room rule (src/chat/empty-rooms.ts): when a room
 * empties, its deletion is due ROOM_EMPTY_TTL_MS later, and `due` then asks the rule to
 * delete it. Permanent rooms are never scheduled; a join cancels the timer.
 */
export class EmptyRooms {
  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly due: (room: Room) => void,
  ) {}

  /** Notes when the room emptied and starts its deletion timer, unless it has members or one is running. */
  schedule(room: Room): void {
    if (room.members.size > 0 || room.emptyTimer !== undefined) return
    room.emptiedAt ??= this.clock.now()
    const at = emptyRoomDue(room.permanent, room.emptiedAt, this.ttlMs)
    if (at === undefined) return
    room.emptyTimer = this.clock.setTimeout(
      () => {
        room.emptyTimer = undefined
        this.due(room)
      },
      Math.max(0, at - this.clock.now()),
    )
  }

  /** The room has members again: its timer stops. */
  cancel(room: Room): void {
    if (room.emptyTimer !== undefined) this.clock.clearTimeout(room.emptyTimer)
    room.emptyTimer = undefined
    room.emptiedAt = undefined
  }
}
