import { PresenceBatcher } from '../chat/presence.ts'
import { Typing } from '../chat/typing.ts'
import type { Config } from '../config.ts'
import { type RoomId, type ServerFrame, type UserView, withUserId } from '../protocol/frames.ts'
import type { Clock } from './clock.ts'
import type { RoomSink } from './ports.ts'
import { isOnline, type Member, type Room } from './room.ts'

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
  private readonly batcher: PresenceBatcher

  constructor(
    config: AnnouncerConfig,
    clock: Clock,
    private readonly sink: RoomSink,
    /** The members of a room as the user list shows them, by user key. */
    views: (room: RoomId) => Map<string, UserView>,
  ) {
    this.batcher = new PresenceBatcher(
      config,
      clock,
      (room, json) => sink.publishJson(room, json),
      async (room) => views(room),
    )
    this.typist = new Typing<Member>(
      config,
      clock,
      (member) => member.room.id,
      (member, frame) => this.toOthers(member, withUserId(frame, member.client.user?.id)),
    )
  }

  /** Sends to every member of the member's room but them. */
  toOthers(member: Member, frame: ServerFrame): void {
    const peer = member.client.peer
    // A closed connection is no longer subscribed, so the room publish skips it anyway.
    if (peer) peer.publishToOthers(member.room.id, frame)
    else this.sink.publish(member.room.id, frame)
  }

  // ── Presence (batching in big rooms: src/chat/presence.ts) ──────────────────

  /** A member joined; call after adding them to the room, before subscribing them. */
  joined(member: Member): void {
    const room = member.room
    const frame: ServerFrame = { type: 'user_joined', room: room.id, username: member.username }
    this.presence(room, withUserId(frame, member.client.user?.id))
  }

  /** A member left; call after unsubscribing them. */
  left(member: Member): void {
    const room = member.room
    const frame: ServerFrame = { type: 'user_left', room: room.id, username: member.username }
    this.presence(room, withUserId(frame, member.client.user?.id))
  }

  /** A member went offline or came back: the others hear of it. */
  status(member: Member): void {
    const room = member.room
    const frame: ServerFrame = {
      type: 'presence',
      room: room.id,
      username: member.username,
      status: isOnline(member) ? 'online' : 'offline',
    }
    withUserId(frame, member.client.user?.id)
    if (!this.batcher.offer(room.id, room.members.size, JSON.stringify(frame)))
      this.toOthers(member, frame)
  }

  private presence(room: Room, frame: ServerFrame): void {
    const json = JSON.stringify(frame)
    if (!this.batcher.offer(room.id, room.members.size, json)) this.sink.publishJson(room.id, json)
  }

  /** Drops a room's pending batch and its timer (room deleted, server stopping). */
  clearBatch(room: Room): void {
    this.batcher.clear(room.id)
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
