/**
 * One joined room on the page: its tab, and a panel with the messages and the members.
 * It holds what the page shows and nothing else; ChatPage feeds it the client's events.
 */
import type {
  ChangeFrame,
  JoinedFrame,
  MessageId,
  StoredMessage,
  UserView,
} from '../client/index.ts'
import { el } from './dom.ts'
import {
  fromStored,
  type MessageControls,
  PICKER_EMOJI,
  renderMessage,
  type ShownMessage,
  timeOf,
} from './message-item.ts'
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

/** Message ids are zero-padded decimals: a longer one is newer, then compare as text. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

const PICKER_FIRST = PICKER_EMOJI[0]

/** Rooms of at most this many members show "Seen by" on your last message. */
export const SEEN_BY_MAX_MEMBERS = 10

/** Most messages a `joined` frame carries (docs/protocol.md). */
const JOINED_HISTORY = 100

/** How close to the bottom (px) still counts as "reading the newest messages". */
const STICK_PX = 48

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
  private readonly messages: HTMLOListElement
  private readonly memberList: HTMLUListElement
  private readonly memberCount: HTMLSpanElement
  private readonly items = new Map<MessageId, HTMLLIElement>()
  /** What each item shows (a live join/leave note merged with its stored copy has none). */
  private readonly shown = new Map<MessageId, ShownMessage>()
  /** Original id → the replies to it that are shown, to redraw their quotes. */
  private readonly replies = new Map<MessageId, Set<MessageId>>()
  /** The message whose edit box is open, and the one whose emoji picker is. */
  private editing: MessageId | undefined
  private picking: MessageId | undefined
  private readonly controls: MessageControls
  private readonly marks = new ReadMarks()
  /** The message that shows "Seen by" (your last, in a small room), and its names. */
  private seenOn: MessageId | undefined
  private seenNames = ''
  /** Join and leave notes shown live (they carry no id), by text, oldest first. */
  private readonly notes = new Map<string, HTMLLIElement[]>()
  private readonly members = new Map<string, UserView>()
  private newestId: MessageId | undefined
  /** Whether the reader is at the newest messages (then new ones keep it there). */
  private pinned = true
  private savedScroll = 0

  constructor(
    readonly id: string,
    private title: string,
    private readonly actions: RoomActions,
  ) {
    this.controls = {
      reply: (id) => {
        const m = this.shown.get(id)
        if (m) actions.reply(m)
      },
      startEdit: (id) => this.setEditing(id),
      saveEdit: (id, content) => void this.saveEdit(id, content),
      cancelEdit: (id) => {
        this.setEditing(undefined)
        this.focusIn(id, 'edit')
      },
      remove: (id) => actions.remove(id),
      togglePicker: (id) => {
        const was = this.picking
        this.picking = was === id ? undefined : id
        if (was !== undefined) this.redraw(was)
        if (this.picking !== undefined) {
          this.redraw(this.picking)
          this.focusIn(this.picking, `pick:${PICKER_FIRST}`)
        } else this.focusIn(id, 'react')
      },
      react: (id, emoji, on) => {
        if (this.picking === id) {
          this.picking = undefined
          this.redraw(id)
          this.focusIn(id, 'react')
        }
        actions.react(id, emoji, on)
      },
      show: (id) => {
        const li = this.items.get(id)
        if (!li) return
        li.scrollIntoView({ block: 'center' })
        li.classList.add('flash')
        setTimeout(() => li.classList.remove('flash'), 1500)
      },
    }
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
    this.messages = el('ol', { class: 'messages', 'aria-label': 'Messages', tabindex: 0 })
    this.messages.addEventListener('scroll', () => this.onScroll())
    this.memberList = el('ul', { class: 'members', 'aria-label': 'Members' })
    this.memberCount = el('span', { class: 'hint' })
    this.panel = el(
      'section',
      { class: 'room', role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}` },
      el('header', { class: 'room-head' }, el('div', {}, this.heading, this.whoAmI), leave),
      this.tokenNote,
      el(
        'div',
        { class: 'room-body' },
        el('div', { class: 'history' }, this.older, this.messages),
        el(
          'div',
          { class: 'members-box' },
          el('h3', {}, 'Members ', this.memberCount),
          this.memberList,
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
    for (const m of frame.history) this.upsert(fromStored(m))
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

  /**
   * Shows a message once, in id order. Returns false for one already shown (a replay).
   * A system note whose text matches a join/leave note shown live takes that note's place.
   */
  add(m: ShownMessage): boolean {
    if (this.items.has(m.id)) return false
    if (m.system) {
      const live = this.notes.get(m.content)?.shift()
      if (live) {
        live.dataset.id = m.id
        this.items.set(m.id, live)
        this.noteNewest(m.id)
        return false
      }
    }
    this.shown.set(m.id, m)
    if (m.reply_to !== undefined) {
      const set = this.replies.get(m.reply_to) ?? new Set()
      set.add(m.id)
      this.replies.set(m.reply_to, set)
    }
    const li = this.render(m)
    this.items.set(m.id, li)
    this.place(m.id, li)
    // Replies shown before their original (history paging) get their quote now.
    for (const reply of this.replies.get(m.id) ?? []) this.redraw(reply)
    if (!m.system && this.isMine(m)) this.refreshSeen()
    return true
  }

  /** Puts a new item in id order: last, or (history paging) before the first newer one. */
  private place(id: MessageId, li: HTMLLIElement): void {
    if (this.newestId === undefined || compareIds(id, this.newestId) > 0) {
      this.append(li)
      this.newestId = id
      return
    }
    let next: Element | null = this.messages.firstElementChild
    while (next) {
      const at = (next as HTMLElement).dataset.id
      if (at !== undefined && compareIds(at, id) > 0) break
      next = next.nextElementSibling
    }
    this.messages.insertBefore(li, next)
  }

  /** Shows a stored message, or redraws the one shown with its latest state. */
  upsert(m: ShownMessage): void {
    if (!this.shown.has(m.id)) {
      this.add(m)
      return
    }
    this.shown.set(m.id, m)
    this.redraw(m.id)
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
    const newest = this.newestId
    if (newest === undefined || !this.marks.move(this.username, newest, this.username)) return
    return newest
  }

  /** The reader's own read marker. */
  get ownMark(): MessageId | undefined {
    return this.marks.get(this.username)
  }

  /** The unread count the markers give, shown on the tab; returns it. */
  recount(): number {
    const count = this.marks.unread(this.username, this.shown.values(), (m) => this.isMine(m))
    if (count !== this.unread) this.setUnread(count)
    return count
  }

  /** Puts "Seen by" on your last message (in a small room), redrawing what changed. */
  private refreshSeen(): void {
    const target = this.members.size <= SEEN_BY_MAX_MEMBERS ? this.lastOwnId : undefined
    const names = target === undefined ? '' : this.marks.seenBy(target, this.username).join(', ')
    if (target === this.seenOn && names === this.seenNames) return
    const was = this.seenOn
    this.seenOn = target
    this.seenNames = names
    if (was !== undefined && was !== target) this.redraw(was)
    if (target !== undefined) this.redraw(target)
  }

  /** A change to a message: an edit, a delete or a reaction. */
  applyChange(frame: ChangeFrame): void {
    const m = this.shown.get(frame.id)
    if (!m) return
    if (frame.type === 'message_edited') {
      m.content = frame.content
      m.edited = true
    } else if (frame.type === 'message_deleted') {
      m.deleted = true
      m.content = ''
      m.reactions = undefined
      if (this.editing === m.id) this.editing = undefined
      if (this.picking === m.id) this.picking = undefined
    } else {
      const reactions = m.reactions ?? {}
      const r = reactions[frame.emoji] ?? { count: 0, users: [] }
      r.count = frame.count
      const others = r.users.filter((u) => u !== frame.username)
      r.users = frame.on ? [...others, frame.username] : others
      reactions[frame.emoji] = r
      if (r.count <= 0) delete reactions[frame.emoji]
      m.reactions = Object.keys(reactions).length > 0 ? reactions : undefined
    }
    this.redraw(m.id)
    if (frame.type === 'message_deleted') this.refreshSeen()
    // A reply's quote shows the original's latest text.
    if (frame.type !== 'reaction')
      for (const reply of this.replies.get(m.id) ?? []) this.redraw(reply)
  }

  /** The message shown under `id`, if any. */
  message(id: MessageId): ShownMessage | undefined {
    return this.shown.get(id)
  }

  /** The id of the newest message the reader sent, if shown. */
  get lastOwnId(): MessageId | undefined {
    let last: MessageId | undefined
    for (const m of this.shown.values()) {
      if (
        !m.system &&
        !m.deleted &&
        this.isMine(m) &&
        (last === undefined || compareIds(m.id, last) > 0)
      )
        last = m.id
    }
    return last
  }

  private isMine(m: ShownMessage): boolean {
    // Signed in, a message is known by its sender's user id; anonymous, by the name (the
    // server refuses, with a clear error, an edit of a namesake's message from before).
    if (this.userId !== undefined || m.user_id !== undefined) return m.user_id === this.userId
    return m.sender === this.username
  }

  private setEditing(id: MessageId | undefined): void {
    const was = this.editing
    this.editing = id
    if (was !== undefined) this.redraw(was)
    if (id !== undefined) {
      if (this.picking === id) this.picking = undefined
      this.redraw(id)
      const box = this.items.get(id)?.querySelector('textarea')
      box?.focus()
      box?.setSelectionRange(box.value.length, box.value.length)
    }
  }

  private async saveEdit(id: MessageId, content: string): Promise<void> {
    const m = this.shown.get(id)
    if (!m) return
    if (content === m.content || !content.trim()) {
      this.controls.cancelEdit(id)
      return
    }
    if (await this.actions.edit(id, content)) {
      m.content = content
      m.edited = true
      if (this.editing === id) this.controls.cancelEdit(id)
    }
  }

  /** Draws the item of `id` again in place, keeping the focus on the same control. */
  private redraw(id: MessageId): void {
    const old = this.items.get(id)
    const m = this.shown.get(id)
    if (!old || !m) return
    const active = document.activeElement
    const focusKey =
      active instanceof HTMLElement && old.contains(active) ? active.dataset.focus : undefined
    const li = this.render(m)
    old.replaceWith(li)
    this.items.set(id, li)
    if (focusKey !== undefined) this.focusIn(id, focusKey)
  }

  private focusIn(id: MessageId, focusKey: string): void {
    const li = this.items.get(id)
    if (!li) return
    for (const node of li.querySelectorAll<HTMLElement>('[data-focus]')) {
      if (node.dataset.focus === focusKey) {
        node.focus()
        return
      }
    }
    // The control is gone (a deleted message): keep the focus in the list.
    if (li.contains(document.activeElement) || document.activeElement === document.body)
      this.messages.focus()
  }

  /** Older messages from `history`, keeping the reader's place. */
  addOlder(messages: StoredMessage[], hasMore: boolean): void {
    const fromBottom = this.messages.scrollHeight - this.messages.scrollTop
    for (const m of messages) this.add(fromStored(m))
    this.messages.scrollTop = this.messages.scrollHeight - fromBottom
    this.hasMore = hasMore
    this.renderOlder()
  }

  /** The id of the oldest message shown, for `history`'s `before`. */
  get oldestId(): MessageId | undefined {
    for (const li of this.messages.children) {
      const id = (li as HTMLElement).dataset.id
      if (id !== undefined) return id
    }
    return undefined
  }

  /** A live note with no id (joins and leaves); `system` replays of it are merged in. */
  addNote(text: string): void {
    const li = el(
      'li',
      { class: 'msg system' },
      el('p', { class: 'content' }, text),
      timeOf(Date.now()),
    )
    const same = this.notes.get(text) ?? []
    same.push(li)
    this.notes.set(text, same)
    this.append(li)
  }

  setMembers(users: UserView[]): void {
    this.members.clear()
    for (const u of users) this.members.set(u.username, u)
    this.renderMembers()
  }

  upsertMember(user: UserView): void {
    this.members.set(user.username, user)
    this.renderMembers()
  }

  removeMember(username: string): void {
    this.typing.delete(username)
    this.marks.forget(username)
    if (this.members.delete(username)) this.renderMembers()
  }

  setStatus(username: string, status: UserView['status']): void {
    const user = this.members.get(username)
    if (!user || user.status === status) return
    this.members.set(username, { ...user, status })
    if (status === 'offline') this.typing.delete(username)
    this.renderMembers()
  }

  isMember(username: string): boolean {
    return this.members.has(username)
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
      if (this.pinned) this.scrollToBottom()
      else this.messages.scrollTop = this.savedScroll
    } else {
      this.tab.removeAttribute('aria-controls')
      this.savedScroll = this.messages.scrollTop
    }
  }

  private render(m: ShownMessage): HTMLLIElement {
    const mine = !m.system && this.isMine(m)
    const original = m.reply_to === undefined ? undefined : this.shown.get(m.reply_to)
    return renderMessage(
      m,
      {
        mine,
        canDelete: mine || this.moderator,
        me: this.username,
        original,
        editing: this.editing === m.id,
        seenBy: m.id === this.seenOn && this.seenNames ? this.seenNames : undefined,
        picking: this.picking === m.id,
      },
      this.controls,
    )
  }

  private append(li: HTMLLIElement): void {
    this.messages.append(li)
    if (this.pinned) this.scrollToBottom()
  }

  private noteNewest(id: MessageId): void {
    if (this.newestId === undefined || compareIds(id, this.newestId) > 0) this.newestId = id
  }

  private scrollToBottom(): void {
    this.messages.scrollTop = this.messages.scrollHeight
  }

  private onScroll(): void {
    const list = this.messages
    // A detached panel reports 0 for everything: keep what was true when it was shown.
    if (!list.isConnected) return
    this.pinned = list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX
    if (list.scrollTop < STICK_PX && this.hasMore !== false && !this.loadingOlder) {
      this.actions.loadOlder()
    }
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

  private renderMembers(): void {
    // Rebuilding the list would drop the focus of a Kick/Ban button: put it back after.
    const focused = this.memberList.contains(document.activeElement)
      ? document.activeElement?.getAttribute('aria-label')
      : undefined
    const me = this.username.toLowerCase()
    const users = [...this.members.values()].sort(
      (a, b) =>
        Number(b.username.toLowerCase() === me) - Number(a.username.toLowerCase() === me) ||
        a.username.localeCompare(b.username),
    )
    this.memberList.replaceChildren(...users.map((u) => this.memberItem(u, me)))
    const online = users.filter((u) => u.status === 'online').length
    this.memberCount.textContent = `(${online} online)`
    // "Seen by" shows in small rooms only.
    this.refreshSeen()
    if (focused) {
      for (const button of this.memberList.querySelectorAll('button')) {
        if (button.getAttribute('aria-label') === focused) button.focus()
      }
    }
  }

  private memberItem(user: UserView, me: string): HTMLLIElement {
    const self = user.username.toLowerCase() === me
    const li = el(
      'li',
      { class: 'member' },
      el('span', { class: 'name' }, user.username),
      self ? el('span', { class: 'hint' }, ' (you)') : '',
      user.moderator ? el('span', { class: 'tag' }, 'moderator') : '',
      el('span', { class: `presence ${user.status}` }, user.status),
    )
    const buttons: HTMLButtonElement[] = []
    // Signed-in members may talk on their own (not from within their direct room itself).
    if (!self && this.userId !== undefined && user.user_id !== undefined && !isDirect(this.id)) {
      const direct = el(
        'button',
        { type: 'button', class: 'small secondary', 'aria-label': `Message ${user.username}` },
        'Message',
      )
      direct.addEventListener('click', () => this.actions.direct(user))
      buttons.push(direct)
    }
    if (this.moderator && !self) {
      const kick = el(
        'button',
        { type: 'button', class: 'small', 'aria-label': `Kick ${user.username}` },
        'Kick',
      )
      kick.addEventListener('click', () => this.actions.kick(user.username))
      const ban = el(
        'button',
        { type: 'button', class: 'small danger', 'aria-label': `Ban ${user.username}` },
        'Ban',
      )
      ban.addEventListener('click', () => this.actions.ban(user.username))
      buttons.push(kick, ban)
    }
    if (buttons.length > 0) li.append(el('span', { class: 'actions' }, ...buttons))
    return li
  }

  private setLeaveName(): void {
    const leave = this.panel.querySelector('.room-head > button')
    leave?.setAttribute('aria-label', `Leave ${this.title}`)
  }
}
