/**
 * One joined room on the page: its tab, and a panel with the messages (message-list.ts) and
 * the members (member-list.ts), its read markers and unread count. It holds what the page
 * shows and nothing else; ChatPage feeds it the client's events.
 */
import type {
  ChangeFrame,
  JoinedFrame,
  MessageId,
  StoredMessage,
  UserView,
} from '../client/index.ts'
import { el } from './dom.ts'
import { MemberList } from './member-list.ts'
import { fromStored, type ShownMessage } from './message-item.ts'
import { MessageList } from './message-list.ts'
import { ReadMarks } from './read-marks.ts'

export { fromStored, type ShownMessage } from './message-item.ts'

/** What the room's own controls ask the page to do. */
export interface RoomActions {
  select(): void
  leave(): void
  kick(username: string): void
  ban(username: string): void
  loadOlder(): void
  /** Reply to the message: the composer shows it. */
  reply(message: ShownMessage): void
  /** Resolves whether the server took the edit (else the edit box stays open). */
  edit(id: MessageId, content: string): Promise<boolean>
  remove(id: MessageId): void
  react(id: MessageId, emoji: string, on: boolean): void
  /** Open the direct conversation with this signed-in member. */
  direct(user: UserView): void
}

/** Whether a room id is a direct conversation's (docs/protocol.md: `dm:<a>:<b>`). */
export function isDirect(room: string): boolean {
  return room.startsWith('dm:')
}

/** Rooms of at most this many members show "Seen by" on your last message. */
export const SEEN_BY_MAX_MEMBERS = 10

/** Most messages a `joined` frame carries (docs/protocol.md). */
const JOINED_HISTORY = 100

export class RoomView {
  readonly tab: HTMLButtonElement
  readonly panel: HTMLElement
  username = ''
  /** The reader's user id when signed in (from the member list). */
  userId: string | undefined
  moderator = false
  unread = 0
  /** Whether older messages may exist: unknown until asked, then the server's `has_more`. */
  hasMore: boolean | undefined
  loadingOlder = false
  readonly typing = new Set<string>()

  private readonly tabName: HTMLSpanElement
  private readonly badge: HTMLSpanElement
  private readonly heading: HTMLHeadingElement
  private readonly whoAmI: HTMLParagraphElement
  private readonly tokenNote: HTMLParagraphElement
  private readonly older: HTMLDivElement
  private readonly messageList: MessageList
  private readonly memberList: MemberList
  private readonly marks = new ReadMarks()

  constructor(
    readonly id: string,
    private title: string,
    private readonly actions: RoomActions,
  ) {
    this.tabName = el('span', {}, title)
    this.badge = el('span', { class: 'badge', hidden: true })
    this.tab = el(
      'button',
      { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-selected': 'false', tabindex: -1 },
      this.tabName,
      this.badge,
    )
    this.tab.addEventListener('click', () => actions.select())

    this.heading = el('h2', {}, title)
    this.whoAmI = el('p', { class: 'hint' })
    const leave = el('button', { type: 'button', class: 'secondary' }, 'Leave')
    leave.addEventListener('click', () => actions.leave())
    this.tokenNote = el('p', { class: 'token', hidden: true })
    this.older = el('div', { class: 'older' })
    const reader = () => ({
      username: this.username,
      userId: this.userId,
      moderator: this.moderator,
      direct: isDirect(id),
    })
    this.messageList = new MessageList(reader, {
      reply: (m) => actions.reply(m),
      edit: (id, content) => actions.edit(id, content),
      remove: (id) => actions.remove(id),
      react: (id, emoji, on) => actions.react(id, emoji, on),
      nearTop: () => {
        if (this.hasMore !== false && !this.loadingOlder) actions.loadOlder()
      },
    })
    this.memberList = new MemberList(
      reader,
      actions,
      // "Seen by" shows in small rooms only.
      () => this.refreshSeen(),
    )
    this.panel = el(
      'section',
      { class: 'room', role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}` },
      el('header', { class: 'room-head' }, el('div', {}, this.heading, this.whoAmI), leave),
      this.tokenNote,
      el(
        'div',
        { class: 'room-body' },
        el('div', { class: 'history' }, this.older, this.messageList.list),
        el(
          'div',
          { class: 'members-box' },
          el('h3', {}, 'Members ', this.memberList.count),
          this.memberList.list,
        ),
      ),
    )
    this.setLeaveName()
    this.renderOlder()
  }

  /** The room's display name (its name once known, else what was typed or its id). */
  rename(title: string): void {
    if (title === this.title) return
    this.title = title
    this.tabName.textContent = title
    this.heading.textContent = title
    this.setLeaveName()
  }

  get name(): string {
    return this.title
  }

  /** A `joined` (first join, or a join again after a lost session): members and history. */
  applyJoined(frame: JoinedFrame): void {
    this.username = frame.username
    this.moderator = frame.moderator
    this.whoAmI.textContent = `You are ${frame.username}${frame.moderator ? ', moderator' : ''}`
    this.userId = frame.users.find((u) => u.username === frame.username)?.user_id
    this.marks.reset(frame.read, frame.unread)
    this.setMembers(frame.users)
    // After a join again (the session was lost) the history is the latest state: what
    // changed while away (edits, deletes, reactions) is redrawn from it.
    for (const m of frame.history) this.messageList.upsert(fromStored(m))
    this.refreshSeen()
    // `joined` carries up to JOINED_HISTORY messages: fewer means that was all of it.
    if (frame.history.length < JOINED_HISTORY && this.hasMore === undefined) {
      this.hasMore = false
      this.renderOlder()
    }
    if (frame.moderator_token) {
      this.tokenNote.replaceChildren(
        'Moderator token, shown once: keep it to moderate this room again after leaving it. ',
        el('code', {}, frame.moderator_token),
      )
      this.tokenNote.hidden = false
    }
  }

  /** Shows a message once, in id order; false for one already shown (a replay). */
  add(m: ShownMessage): boolean {
    if (!this.messageList.add(m)) return false
    if (!m.system && this.messageList.isMine(m)) this.refreshSeen()
    return true
  }

  /** The markers and unread count of a `resumed` (the server's state after the drop). */
  applyResumed(read: Record<string, MessageId>, unread: number): void {
    this.marks.reset(read, unread)
    this.refreshSeen()
  }

  /** A member's read marker moved (a `read` frame). */
  setMark(username: string, id: MessageId): void {
    if (this.marks.move(username, id, this.username)) this.refreshSeen()
  }

  /**
   * The reader sees the room's newest message: moves their own marker there and returns the
   * id to send as `read`, or nothing if the marker is there already.
   */
  markSeen(): MessageId | undefined {
    const newest = this.messageList.newestId
    if (newest === undefined || !this.marks.move(this.username, newest, this.username)) return
    return newest
  }

  /** The reader's own read marker. */
  get ownMark(): MessageId | undefined {
    return this.marks.get(this.username)
  }

  /** The unread count the markers give, shown on the tab; returns it. */
  recount(): number {
    const list = this.messageList
    const count = this.marks.unread(this.username, list.messages(), (m) => list.isMine(m))
    if (count !== this.unread) this.setUnread(count)
    return count
  }

  /** Puts "Seen by" on your last message (in a small room), redrawing what changed. */
  private refreshSeen(): void {
    const target =
      this.memberList.size <= SEEN_BY_MAX_MEMBERS ? this.messageList.lastOwnId : undefined
    const names = target === undefined ? '' : this.marks.seenBy(target, this.username).join(', ')
    this.messageList.setSeen(target, names)
  }

  /** A change to a message: an edit, a delete or a reaction. */
  applyChange(frame: ChangeFrame): void {
    this.messageList.applyChange(frame)
    if (frame.type === 'message_deleted') this.refreshSeen()
  }

  /** Older messages from `history`, keeping the reader's place. */
  addOlder(messages: StoredMessage[], hasMore: boolean): void {
    this.messageList.addOlder(messages.map(fromStored))
    this.hasMore = hasMore
    this.renderOlder()
  }

  /** The id of the oldest message shown, for `history`'s `before`. */
  get oldestId(): MessageId | undefined {
    return this.messageList.oldestId
  }

  /** A live note with no id (joins and leaves); `system` replays of it are merged in. */
  addNote(text: string): void {
    this.messageList.addNote(text)
  }

  setMembers(users: UserView[]): void {
    this.memberList.set(users)
  }

  upsertMember(user: UserView): void {
    this.memberList.upsert(user)
  }

  removeMember(username: string): void {
    this.typing.delete(username)
    this.marks.forget(username)
    this.memberList.remove(username)
  }

  setStatus(username: string, status: UserView['status']): void {
    if (this.memberList.setStatus(username, status) && status === 'offline')
      this.typing.delete(username)
  }

  isMember(username: string): boolean {
    return this.memberList.has(username)
  }

  setTyping(username: string, active: boolean): void {
    if (active) this.typing.add(username)
    else this.typing.delete(username)
  }

  setUnread(count: number): void {
    this.unread = count
    this.badge.hidden = count === 0
    this.badge.replaceChildren(String(count), el('span', { class: 'sr-only' }, ' unread'))
  }

  /** Called when the panel is put in or taken out of the page. */
  setActive(active: boolean): void {
    this.tab.setAttribute('aria-selected', String(active))
    this.tab.tabIndex = active ? 0 : -1
    if (active) {
      this.tab.setAttribute('aria-controls', this.panel.id)
    } else this.tab.removeAttribute('aria-controls')
    this.messageList.setActive(active)
  }

  /** The "load older" button, or the note that the start of the kept history is shown. */
  renderOlder(): void {
    if (this.hasMore === false) {
      this.older.replaceChildren(
        el('p', { class: 'hint' }, 'This is the start of the history the server keeps.'),
      )
      return
    }
    const button = el(
      'button',
      { type: 'button', class: 'secondary', disabled: this.loadingOlder },
      this.loadingOlder ? 'Loading…' : 'Load older messages',
    )
    button.addEventListener('click', () => this.actions.loadOlder())
    this.older.replaceChildren(button)
  }

  private setLeaveName(): void {
    const leave = this.panel.querySelector('.room-head > button')
    leave?.setAttribute('aria-label', `Leave ${this.title}`)
  }
}
