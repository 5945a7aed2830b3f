import { Typing } from '../chat/typing.ts'
import type { Config } from '../config.ts'
import type { ServerFrame, UserView } from '../protocol/frames.ts'
import type { Clock } from './clock.ts'
import type { RoomSink } from './ports.ts'
import { type Member, type Room, userView } from './room.ts'

type AnnouncerConfig = Pick<
  Config,
  'presenceDiffMinMembers' | 'presenceDiffIntervalMs' | 'typingTimeoutMs' | 'typingThrottleMs'
>

/**
 * Tells a room's members what the others do: joins, leaves, online/offline and typing.
 * In big rooms presence is batched into `presence_diff` frames; typing indicators expire
 * by themselves. RoomStore decides what happened; this class decides how it is said.
 */
export class Announcer {
  private readonly typist: Typing<Member>

  constructor(
    private readonly config: AnnouncerConfig,
    private readonly clock: Clock,
    private readonly sink: RoomSink,
  ) {
    this.typist = new Typing<Member>(
      config,
      clock,
      (member) => member.room.id,
      (member, frame) => this.toOthers(member, frame),
    )
  }

  /** Sends to every member of the member's room but them. */
  toOthers(member: Member, frame: ServerFrame): void {
    const peer = member.client.peer
    // A closed connection is no longer subscribed, so the room publish skips it anyway.
    if (peer) peer.publishToOthers(member.room.id, frame)
    else this.sink.publish(member.room.id, frame)
  }

  // ── Presence ─────────────────────────────────────────────────────────────────

  /** Whether this room's presence goes out batched as `presence_diff`. */
  private batched(room: Room): boolean {
    const min = this.config.presenceDiffMinMembers
    return room.presenceTimer !== undefined || (min > 0 && room.members.size >= min)
  }

  /** A member joined; call after adding them to the room, before subscribing them. */
  joined(member: Member): void {
    const room = member.room
    if (this.batched(room)) {
      room.pendingLeaves.delete(member.username)
      room.pendingJoins.set(member.key, member)
      this.scheduleFlush(room)
    } else {
      this.sink.publish(room.id, { type: 'user_joined', room: room.id, username: member.username })
    }
  }

  /** A member left; call after unsubscribing them. */
  left(member: Member): void {
    const room = member.room
    if (this.batched(room)) {
      room.pendingJoins.delete(member.key)
      room.pendingLeaves.add(member.username)
      this.scheduleFlush(room)
    } else {
      this.sink.publish(room.id, { type: 'user_left', room: room.id, username: member.username })
    }
  }

  /** A member went offline or came back. */
  presence(member: Member): void {
    const room = member.room
    if (this.batched(room)) {
      room.pendingJoins.set(member.key, member)
      this.scheduleFlush(room)
      return
    }
    this.toOthers(member, {
      type: 'presence',
      room: room.id,
      username: member.username,
      status: member.client.peer ? 'online' : 'offline',
    })
  }

  private scheduleFlush(room: Room): void {
    if (room.presenceTimer !== undefined) return
    room.presenceTimer = this.clock.setTimeout(() => {
      room.presenceTimer = undefined
      const joins: UserView[] = []
      for (const m of room.pendingJoins.values()) {
        if (room.members.get(m.key) === m) joins.push(userView(m))
      }
      const leaves = [...room.pendingLeaves]
      room.pendingJoins.clear()
      room.pendingLeaves.clear()
      if (joins.length > 0 || leaves.length > 0) {
        this.sink.publish(room.id, { type: 'presence_diff', room: room.id, joins, leaves })
      }
    }, this.config.presenceDiffIntervalMs)
  }

  /** Drops a room's pending batch and its timer (room deleted, server stopping). */
  clearBatch(room: Room): void {
    if (room.presenceTimer !== undefined) this.clock.clearTimeout(room.presenceTimer)
    room.presenceTimer = undefined
    room.pendingJoins.clear()
    room.pendingLeaves.clear()
  }

  // ── Typing (the rules are in src/chat/typing.ts) ─────────────────────────────

  /** The member typed: shown as typing to the others (never while muted). */
  typing(member: Member, mutedUntil: number): void {
    this.typist.typed(member, mutedUntil)
  }

  /** Ends a member's typing indicator, telling the others if it was showing. */
  stopTyping(member: Member): void {
    this.typist.stop(member)
  }

  /** Cancels the typing timer without telling anyone (the store is forgetting the member). */
  clearTyping(member: Member): void {
    this.typist.clear(member)
  }
}
