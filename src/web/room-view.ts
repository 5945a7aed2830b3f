/**
 * One joined room on the page: its tab, and a panel with the messages and the members.
 * It holds what the page shows and nothing else; ChatPage feeds it the client's events.
 */
import type { JoinedFrame, MessageId, StoredMessage, UserView } from '../client/index.ts'
import { el } from './dom.ts'

/** A message or system note as the page shows it. */
export interface ShownMessage {
  id: MessageId
  system: boolean
  sender: string
  content: string
  ts: number
}

/** What the room's own controls ask the page to do. */
export interface RoomActions {
  select(): void
  leave(): void
  kick(username: string): void
  ban(username: string): void
  loadOlder(): void
}

/** Message ids are zero-padded decimals: a longer one is newer, then compare as text. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

export function fromStored(m: StoredMessage): ShownMessage {
  return {
    id: m.id,
    system: m.type === 'system',
    sender: m.sender,
    content: m.content ?? '',
    ts: m.timestamp,
  }
}

/** Most messages a `joined` frame carries (docs/protocol.md). */
const JOINED_HISTORY = 100

/** How close to the bottom (px) still counts as "reading the newest messages". */
const STICK_PX = 48

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

function timeOf(ms: number): HTMLTimeElement {
  const time = new Date(ms)
  return el('time', { datetime: time.toISOString() }, timeFormat.format(time))
}

export class RoomView {
  readonly tab: HTMLButtonElement
  readonly panel: HTMLElement
  username = ''
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
    this.setMembers(frame.users)
    for (const m of frame.history) this.add(fromStored(m))
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
    const li = this.render(m)
    this.items.set(m.id, li)
    if (this.newestId === undefined || compareIds(m.id, this.newestId) > 0) {
      this.append(li)
      this.newestId = m.id
      return true
    }
    // Older than what is shown (history paging): before the first newer message.
    let next: Element | null = this.messages.firstElementChild
    while (next) {
      const id = (next as HTMLElement).dataset.id
      if (id !== undefined && compareIds(id, m.id) > 0) break
      next = next.nextElementSibling
    }
    this.messages.insertBefore(li, next)
    return true
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
    const when = timeOf(m.ts)
    if (m.system) {
      return el(
        'li',
        { class: 'msg system', 'data-id': m.id },
        el('p', { class: 'content' }, m.content),
        when,
      )
    }
    const mine = m.sender === this.username
    return el(
      'li',
      { class: mine ? 'msg mine' : 'msg', 'data-id': m.id },
      el('p', { class: 'meta' }, el('span', { class: 'sender' }, m.sender), ' ', when),
      el('p', { class: 'content' }, m.content),
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
      li.append(el('span', { class: 'actions' }, kick, ban))
    }
    return li
  }

  private setLeaveName(): void {
    const leave = this.panel.querySelector('.room-head > button')
    leave?.setAttribute('aria-label', `Leave ${this.title}`)
  }
}
