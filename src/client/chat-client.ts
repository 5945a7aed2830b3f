import { ClientCore } from './client-core.ts'
import type { Outgoing } from './requests.ts'
import type {
  ChangeFrame,
  FrameOf,
  JoinedFrame,
  MessageDeletedFrame,
  MessageEditedFrame,
  MessageFrame,
  ReactionFrame,
  ServerFrame,
  StoredMessage,
} from './types.ts'

/**
 * A chat connection with its rooms.
 *
 * @example
 * const client = new ChatClient({ url: 'ws://localhost:3000/ws' })
 * client.on('message', (m) => console.log(`${m.sender}: ${m.content}`))
 * await client.connect()
 * await client.join('general', 'alice')
 * await client.send('general', 'Hello!')
 */
export class ChatClient extends ClientCore {
  /** Joins a room (by id or name); resolves with `joined` (users and recent history). */
  join(
    room: string,
    username: string,
    opts: { password?: string; token?: string } = {},
  ): Promise<JoinedFrame> {
    const credentials = { password: opts.password, token: opts.token }
    return this.request<JoinedFrame>(
      { action: 'join', room, username, password: opts.password, token: opts.token },
      ['joined'],
      { credentials },
    )
  }

  /** Creates a room and joins it as moderator; `joined` carries the `moderator_token`. */
  create(
    name: string,
    username: string,
    opts: {
      password?: string
      is_private?: boolean
      max_users?: number
      /** `signed_in`: only signed-in users may join the room. */
      members?: 'anyone' | 'signed_in'
    } = {},
  ): Promise<JoinedFrame> {
    return this.request<JoinedFrame>(
      {
        action: 'create',
        name,
        username,
        password: opts.password,
        is_private: opts.is_private,
        max_users: opts.max_users,
        members: opts.members,
      },
      ['joined'],
      { credentials: { password: opts.password } },
    )
  }

  /**
   * Opens the direct conversation with the signed-in user `userId` (made if new); resolves
   * with `joined` for its room. Only for a signed-in client (`not_authorized` otherwise).
   */
  direct(userId: string): Promise<JoinedFrame> {
    return this.request<JoinedFrame>({ action: 'direct', user_id: userId }, ['joined'])
  }

  /** The signed-in user's direct rooms, each with the other user's id. */
  async directs(): Promise<FrameOf<'directs'>['rooms']> {
    return (await this.request<FrameOf<'directs'>>({ action: 'directs' }, ['directs'])).rooms
  }

  /** Sends a message; resolves with the room's copy of it (its `id` and `ts`). */
  send(room: string, content: string): Promise<MessageFrame> {
    return this.request<MessageFrame>({ action: 'message', room, content }, [], { echoRoom: room })
  }

  /** Sends a message that replies to the kept message `id` (`message_not_found` if it is gone). */
  reply(room: string, id: string, content: string): Promise<MessageFrame> {
    return this.request<MessageFrame>({ action: 'message', room, content, reply_to: id }, [], {
      echoRoom: room,
    })
  }

  /**
   * Edits your message `id` (its sender only); resolves with the room's `message_edited`
   * for it. Rejects with `not_authorized` (not yours, or muted), `message_not_found`
   * (unknown, deleted, or no longer kept) or `invalid_message` (bad content).
   */
  edit(room: string, id: string, content: string): Promise<MessageEditedFrame> {
    return this.change<MessageEditedFrame>({ action: 'edit', room, id, content }, (f) =>
      f.type === 'message_edited' ? f : undefined,
    )
  }

  /**
   * Deletes the message `id` (yours, or any as a moderator); resolves with the room's
   * `message_deleted` for it. The history keeps a tombstone (`deleted: true`, no content).
   */
  delete(room: string, id: string): Promise<MessageDeletedFrame> {
    return this.change<MessageDeletedFrame>({ action: 'delete', room, id }, (f) =>
      f.type === 'message_deleted' ? f : undefined,
    )
  }

  /**
   * Sets (`on`) or clears your reaction `emoji` (one emoji or a `:short_name:`) on the
   * message `id`; resolves with the room's `reaction` frame of yours for it (with the new
   * `count`), also when nothing changed. `reaction_limit` past 20 different emoji.
   */
  react(room: string, id: string, emoji: string, on = true): Promise<ReactionFrame> {
    return this.change<ReactionFrame>({ action: 'react', room, id, emoji, on }, (f) =>
      f.type === 'reaction' &&
      f.emoji === emoji &&
      f.on === on &&
      f.username === this.recovery.memberships.get(f.room)?.username
        ? f
        : undefined,
    )
  }

  /** Tells the room you are typing (dropped when not open; the server throttles it). */
  typing(room: string): void {
    if (this.current === 'open') this.connection.write({ action: 'typing', room })
  }

  /**
   * Marks the room read up to the message `id` (dropped when not open). The others get a
   * `read` event (at most one per second per member); `joined` and `resumed` carry `read`
   * and `unread`. An id of no message of the room comes back as an `error` event.
   */
  read(room: string, id: string): void {
    if (this.current === 'open') this.connection.write({ action: 'read', room, id })
  }

  /** `read` by the name the chat page's contract gives it (issue 16): the same frame. */
  markRead(room: string, id: string): void {
    this.read(room, id)
  }

  async leave(room: string): Promise<void> {
    await this.request({ action: 'leave', room }, ['left'])
  }

  /** Older messages: up to `limit` (1–100, default 50) before the id `before`, oldest first. */
  async history(
    room: string,
    opts: { before?: string; limit?: number } = {},
  ): Promise<{ messages: StoredMessage[]; has_more: boolean }> {
    const frame = await this.request<FrameOf<'history'>>(
      { action: 'history', room, before: opts.before, limit: opts.limit },
      ['history'],
    )
    return { messages: frame.messages, has_more: frame.has_more }
  }

  ban(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'ban', room, username })
  }

  kick(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'kick', room, username })
  }

  unban(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'unban', room, username })
  }

  unmute(room: string, username: string): Promise<void> {
    return this.moderate({ action: 'unmute', room, username })
  }

  mute(room: string, username: string, durationMs: number): Promise<void> {
    return this.moderate({ action: 'mute', room, username, duration_ms: durationMs })
  }

  // ── Requests ─────────────────────────────────────────────────────────────────

  /**
   * A change to the message `frame.id`: the room's frame for it (`pick` tells which) settles
   * it, since the sender gets it like every member, without a ref; an error comes by ref.
   */
  private change<T extends ChangeFrame>(
    frame: Outgoing & { room: string; id: string },
    pick: (frame: ChangeFrame) => T | undefined,
  ): Promise<T> {
    const match = (f: ServerFrame) =>
      (f.type === 'message_edited' || f.type === 'message_deleted' || f.type === 'reaction') &&
      f.room === frame.room &&
      f.id === frame.id &&
      pick(f) !== undefined
    return this.request<T>(frame, [], { match })
  }

  private async moderate(frame: Outgoing): Promise<void> {
    await this.request(frame, ['moderated'])
  }
}
