/**
 * The events about one room the page shows, applied to that room's view (room-view.ts):
 * messages and notes, changes to messages, read markers, members, presence, typing and a
 * resume. The page (chat-page.ts) wires them, and hears back what it shows across rooms.
 */
import type { ChangeFrame, ChatClient, UserView } from '../client/index.ts'
import { fromLive } from './message-item.ts'
import type { RoomView } from './room-view.ts'

/** What the room events need of the page. */
export interface RoomEventHooks {
  /** The view of a room the page shows, if it shows it. */
  view(room: string): RoomView | undefined
  /** The room's unread count may have changed (and it may be the open room, now read). */
  seen(view: RoomView): void
  /** Presence or typing changed: the status line is redrawn. */
  statusChanged(): void
  /** Someone joined or left: the Rooms list's counts are refreshed soon. */
  membersChanged(): void
}

/** Applies `client`'s events about one room to its view. */
export function listenToRooms(client: ChatClient, hooks: RoomEventHooks): void {
  client.on('message', (f) => {
    const view = hooks.view(f.room)
    if (!view) return
    view.setTyping(f.sender, false)
    if (view.add(fromLive(f))) hooks.seen(view)
    hooks.statusChanged()
  })
  const changed = (f: ChangeFrame) => {
    const view = hooks.view(f.room)
    if (!view) return
    view.applyChange(f)
    // A deleted message is no longer unread.
    if (f.type === 'message_deleted') hooks.seen(view)
  }
  client.on('read', (f) => {
    const view = hooks.view(f.room)
    if (!view) return
    // The reader's own other tabs move their marker too.
    view.setMark(f.username, f.id)
    hooks.seen(view)
  })
  client.on('message_edited', changed)
  client.on('message_deleted', changed)
  client.on('reaction', changed)
  client.on('system', (f) => {
    hooks.view(f.room)?.add({ id: f.id, system: true, sender: '', content: f.content, ts: f.ts })
  })
  client.on('user_joined', (f) => {
    const view = hooks.view(f.room)
    if (!view) return
    const user: UserView = { username: f.username, status: 'online', moderator: false }
    if (f.user_id !== undefined) user.user_id = f.user_id
    view.upsertMember(user)
    view.addNote(`${f.username} joined`)
    hooks.membersChanged()
  })
  client.on('user_left', (f) => {
    const view = hooks.view(f.room)
    if (!view?.isMember(f.username)) return
    view.removeMember(f.username)
    view.addNote(`${f.username} left`)
    hooks.statusChanged()
    hooks.membersChanged()
  })
  client.on('presence', (f) => {
    hooks.view(f.room)?.setStatus(f.username, f.status)
    hooks.statusChanged()
  })
  client.on('presence_diff', (f) => {
    const view = hooks.view(f.room)
    if (!view) return
    for (const name of f.leaves) view.removeMember(name)
    for (const user of f.joins) view.upsertMember(user)
    hooks.statusChanged()
  })
  client.on('typing', (f) => {
    hooks.view(f.room)?.setTyping(f.username, f.active)
    hooks.statusChanged()
  })
  client.on('resumed', (f) => {
    const view = hooks.view(f.room)
    if (!view) return
    view.setMembers(f.users)
    view.applyResumed(f.read, f.unread)
    hooks.seen(view)
    if (!f.recovered) view.addNote('Some messages from while you were away are no longer kept.')
  })
}
