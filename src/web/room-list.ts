/**
 * The room list: the public rooms, `GET /rooms` fetched every few seconds (and soon after a
 * join or a leave), then the signed-in user's direct conversations (REST does not list them:
 * they come from `direct` frames and from opening one), rendered in place so that a focused
 * room button keeps its focus.
 */
import { el } from './dom.ts'

/** How often the list (with its user counts) is fetched again while the page is visible. */
const POLL_MS = 3000

/** A room as `GET /rooms` lists it (the fields the page reads). */
export interface PublicRoom {
  id: string
  name: string
  user_count: number
}

/** What the list asks of the page. */
export interface RoomListHooks {
  /** The room's button was clicked. */
  open(room: PublicRoom): void
  /** A direct conversation's button was clicked. */
  openDirect(room: string, userId: string, name: string): void
  /** The list told a room's name. */
  named(room: PublicRoom): void
  /** Whether the page is in the room, and which room is open. */
  joined(id: string): boolean
  current(): string | undefined
}

interface Item {
  li: HTMLLIElement
  count: HTMLSpanElement
  unread: HTMLSpanElement
}

export class RoomList {
  private readonly items = new Map<string, Item>()
  /** Direct conversations by room id, with the other user's id. */
  private readonly directs = new Map<string, Item & { userId: string }>()
  private lastRooms: PublicRoom[] = []
  /** Unread counts of the rooms the page is in (from their read markers), by room id. */
  private readonly unread = new Map<string, number>()
  private soonTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly list: HTMLUListElement,
    private readonly empty: HTMLElement,
    private readonly hooks: RoomListHooks,
  ) {
    void this.refresh()
    setInterval(() => {
      if (!document.hidden) void this.refresh()
    }, POLL_MS)
  }

  /** Fetches the list again shortly; a burst of calls makes one request. */
  soon(): void {
    clearTimeout(this.soonTimer)
    this.soonTimer = setTimeout(() => void this.refresh(), 200)
  }

  async refresh(): Promise<void> {
    try {
      const res = await fetch('/rooms?limit=200')
      if (!res.ok) return
      const body = (await res.json()) as { rooms: PublicRoom[] }
      this.render(body.rooms)
    } catch {
      // Offline for a moment: keep the last list; the next poll tries again.
    }
  }

  /**
   * Lists a direct conversation with the user `userId` (named `name`): its button is named by
   * that name and opens it; the text beside says it is a direct conversation.
   */
  addDirect(room: string, userId: string, name: string): void {
    const known = this.directs.get(room)
    if (known) {
      const button = known.li.querySelector('button')
      if (button && button.textContent !== name) button.textContent = name
      return
    }
    const button = el('button', { type: 'button', class: 'link' }, name)
    button.addEventListener('click', () =>
      this.hooks.openDirect(room, userId, button.textContent ?? name),
    )
    const count = el('span', { class: 'count' }, 'direct')
    const unread = el('span', { class: 'unread' })
    const li = el('li', { 'data-room': room, class: 'direct' }, button, ' ', unread, count)
    this.directs.set(room, { li, count, unread, userId })
    this.showUnread(room)
    this.render(this.lastRooms)
  }

  /** A room's unread count (0, or a room the page left: none shown). */
  setUnread(room: string, count: number): void {
    if (count > 0) this.unread.set(room, count)
    else this.unread.delete(room)
    this.showUnread(room)
  }

  private showUnread(room: string): void {
    const item = this.items.get(room) ?? this.directs.get(room)
    if (!item) return
    const count = this.unread.get(room) ?? 0
    const text = count > 0 ? `${count} unread` : ''
    if (item.unread.textContent !== text) item.unread.textContent = text
  }

  /** The direct room listed for the user `userId`, if any. */
  directFor(userId: string): string | undefined {
    for (const [room, item] of this.directs) if (item.userId === userId) return room
    return undefined
  }

  /** Marks the rooms the page is in, and the open one. */
  mark(): void {
    const current = this.hooks.current()
    for (const [id, item] of [...this.items, ...this.directs]) {
      item.li.classList.toggle('joined', this.hooks.joined(id))
      item.li.classList.toggle('current', id === current)
    }
  }

  private render(rooms: PublicRoom[]): void {
    this.lastRooms = rooms
    const ids = new Set(rooms.map((r) => r.id))
    for (const [id, item] of this.items) {
      if (ids.has(id)) continue
      item.li.remove()
      this.items.delete(id)
    }
    let cursor = this.list.firstElementChild
    for (const room of rooms) {
      this.hooks.named(room)
      const item = this.items.get(room.id) ?? this.item(room)
      item.count.textContent = `${room.user_count} ${room.user_count === 1 ? 'user' : 'users'}`
      if (item.li === cursor) cursor = cursor.nextElementSibling
      else this.list.insertBefore(item.li, cursor)
    }
    for (const item of this.directs.values()) {
      if (item.li === cursor) cursor = cursor.nextElementSibling
      else this.list.insertBefore(item.li, cursor)
    }
    this.empty.hidden = rooms.length + this.directs.size > 0
    this.mark()
  }

  private item(room: PublicRoom): Item {
    // The button's name is exactly the room's name; the count sits beside it.
    const button = el('button', { type: 'button', class: 'link' }, room.name)
    button.addEventListener('click', () => this.hooks.open(room))
    const count = el('span', { class: 'count' })
    const unread = el('span', { class: 'unread' })
    const item = {
      li: el('li', { 'data-room': room.id }, button, ' ', unread, count),
      count,
      unread,
    }
    this.items.set(room.id, item)
    this.showUnread(room.id)
    return item
  }
}
