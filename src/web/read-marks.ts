/**
 * A room's read markers as the page knows them (docs/protocol.md, "Read markers and unread
 * counts"): each member's last-read id from `joined.read` / `resumed.read` and the `read`
 * frames since, the unread count they give, and who has seen a message.
 */
import type { MessageId } from '../client/index.ts'
import type { ShownMessage } from './message-item.ts'

/** Message ids are zero-padded decimals: a longer one is newer, then compare as text. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

export class ReadMarks {
  private readonly marks = new Map<string, MessageId>()
  /**
   * The server's `unread` at the last `joined` / `resumed`: it counts kept messages the page
   * may not show yet (a resume's replay comes after it), so the count is never below it until
   * the reader's own marker moves.
   */
  private floor = 0

  /** The markers and count of a `joined` or `resumed`: the server's state, as it is now. */
  reset(read: Record<string, MessageId>, unread: number): void {
    this.marks.clear()
    for (const [name, id] of Object.entries(read)) this.marks.set(name, id)
    this.floor = unread
  }

  get(username: string): MessageId | undefined {
    return this.marks.get(username)
  }

  /** Moves `username`'s marker to `id` if that is forward; returns whether it moved. */
  move(username: string, id: MessageId, me: string): boolean {
    const at = this.marks.get(username)
    if (at !== undefined && compareIds(id, at) <= 0) return false
    this.marks.set(username, id)
    if (username === me) this.floor = 0
    return true
  }

  forget(username: string): void {
    this.marks.delete(username)
  }

  /** Text messages of others, not deleted, after the reader's marker (all, with none yet). */
  unread(me: string, messages: Iterable<ShownMessage>, mine: (m: ShownMessage) => boolean): number {
    const mark = this.marks.get(me)
    let count = 0
    for (const m of messages) {
      if (m.system || m.deleted || mine(m)) continue
      if (mark === undefined || compareIds(m.id, mark) > 0) count++
    }
    return Math.max(count, this.floor)
  }

  /** The other members whose marker is at or past `id`, by name. */
  seenBy(id: MessageId, me: string): string[] {
    return [...this.marks]
      .filter(([name, at]) => name !== me && compareIds(at, id) >= 0)
      .map(([name]) => name)
      .sort((a, b) => a.localeCompare(b))
  }
}

/** Least time between two `read` frames for one room (the server passes on one a second). */
const READ_EVERY_MS = 1000

/** What the sender reads of a room's view (room-view.ts's RoomView). */
interface MarkedRoom {
  readonly id: string
  /** The reader's own marker, once there is one. */
  readonly ownMark: MessageId | undefined
}

/** Sends the reader's own marker of a room: at once, or, within READ_EVERY_MS of the last, then. */
export class ReadSender<V extends MarkedRoom> {
  private readonly sent = new Map<string, number>()
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()

  constructor(
    /** Whether the view is still the page's view of its room (when the send comes due). */
    private readonly shown: (view: V) => boolean,
    private readonly markRead: (room: string, id: MessageId) => void,
  ) {}

  send(view: V): void {
    if (this.timers.has(view.id)) return
    const send = () => {
      this.timers.delete(view.id)
      const id = view.ownMark
      if (id === undefined || !this.shown(view)) return
      this.sent.set(view.id, Date.now())
      this.markRead(view.id, id)
    }
    const wait = (this.sent.get(view.id) ?? 0) + READ_EVERY_MS - Date.now()
    if (wait <= 0) send()
    else this.timers.set(view.id, setTimeout(send, wait))
  }
}
