/**
 * The requests the page makes for the reader on rooms: leave, kick and ban, edit, delete and
 * react, a page of older history, and direct conversations (open one, list them). Each refusal
 * is shown in plain words in the alert region (plain-errors.ts).
 */
import type { ChatClient, JoinedFrame } from '../client/index.ts'
import { asRequestError, type ErrorContext, plainError } from './plain-errors.ts'
import type { RoomList } from './room-list.ts'
import type { RoomView } from './room-view.ts'

/** What the room requests ask of the page. */
export interface RoomRequestHooks {
  client(): ChatClient | undefined
  /** The client once connected (and signed in), connecting if need be. */
  connected(): Promise<ChatClient>
  /** The view of a room the page shows, if it shows it. */
  view(room: string): RoomView | undefined
  /** The Rooms list, which holds the direct rooms. */
  rooms: RoomList
  nameOf(room: string | undefined, fallback?: string): string
  setName(room: string, name: string): void
  /** Shows the open room `room`. */
  select(room: string): void
  /** After a join: show the room, put the forms back, go to the composer. */
  entered(joined: JoinedFrame): void
  /** Shows `text` in the alert region. */
  fail(text: string): void
  clearError(): void
}

export class RoomRequests {
  constructor(private readonly hooks: RoomRequestHooks) {}

  private get client(): ChatClient | undefined {
    return this.hooks.client()
  }

  async leave(room: string): Promise<void> {
    this.hooks.clearError()
    try {
      await this.client?.leave(room)
    } catch (error) {
      const e = asRequestError(error)
      this.hooks.fail(
        plainError(e.code, e.message, { room: this.hooks.nameOf(room), action: 'leave' }),
      )
    }
  }

  /** An edit, a delete or a reaction; resolves whether the server took it. */
  async amend(
    room: string,
    action: 'edit' | 'delete' | 'react',
    request: () => Promise<unknown> | undefined,
  ): Promise<boolean> {
    this.hooks.clearError()
    try {
      await request()
      return true
    } catch (error) {
      const e = asRequestError(error)
      this.hooks.fail(plainError(e.code, e.message, { room: this.hooks.nameOf(room), action }))
      return false
    }
  }

  /** The signed-in user's direct rooms, in the room list (named by user id until known). */
  async listDirects(client: ChatClient): Promise<void> {
    try {
      for (const d of await client.directs()) {
        this.hooks.rooms.addDirect(d.room, d.user_id, this.hooks.nameOf(d.room, d.user_id))
      }
    } catch {
      // Not listed now: a direct frame or a Message button still adds them.
    }
  }

  /** Opens (or shows) the direct conversation with the signed-in user `userId`. */
  async openDirect(userId: string, name: string): Promise<void> {
    this.hooks.clearError()
    const known = this.hooks.rooms.directFor(userId)
    if (known && this.hooks.view(known)) {
      this.hooks.select(known)
      return
    }
    try {
      const client = await this.hooks.connected()
      const joined = await client.direct(userId)
      this.hooks.setName(joined.room, name)
      this.hooks.rooms.addDirect(joined.room, userId, name)
      this.hooks.entered(joined)
    } catch (error) {
      const e = asRequestError(error)
      this.hooks.fail(plainError(e.code, e.message, { username: name, action: 'direct' }))
    }
  }

  async moderate(action: 'kick' | 'ban', room: string, username: string): Promise<void> {
    this.hooks.clearError()
    try {
      await this.client?.[action](room, username)
    } catch (error) {
      const e = asRequestError(error)
      const ctx: ErrorContext = { room: this.hooks.nameOf(room), username, action: 'moderate' }
      this.hooks.fail(plainError(e.code, e.message, ctx))
    }
  }

  async loadOlder(room: string): Promise<void> {
    const view = this.hooks.view(room)
    const client = this.client
    if (!view || !client || view.loadingOlder || view.hasMore === false) return
    const before = view.oldestId
    if (before === undefined) {
      view.hasMore = false
      view.renderOlder()
      return
    }
    view.loadingOlder = true
    view.renderOlder()
    try {
      const page = await client.history(room, { before, limit: 50 })
      view.loadingOlder = false
      view.addOlder(page.messages, page.has_more)
    } catch (error) {
      view.loadingOlder = false
      view.renderOlder()
      const e = asRequestError(error)
      this.hooks.fail(plainError(e.code, e.message, { room: view.name, action: 'history' }))
    }
  }
}
