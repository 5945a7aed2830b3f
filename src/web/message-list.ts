/**
 * A room's Messages list: its items in id order (message-item.ts draws each), the live join
 * and leave notes merged with their stored copies, the changes to messages, the one open edit
 * box and emoji picker, and the scroll that follows the newest messages.
 */
import type { ChangeFrame, MessageId } from '../client/index.ts'
import { el } from './dom.ts'
import {
  type MessageControls,
  PICKER_EMOJI,
  renderMessage,
  type ShownMessage,
  timeOf,
} from './message-item.ts'
import { compareIds } from './read-marks.ts'

const PICKER_FIRST = PICKER_EMOJI[0]

/** How close to the bottom (px) still counts as "reading the newest messages". */
const STICK_PX = 48

/** Who reads the list, as the room knows it now. */
export interface ListReader {
  username: string
  userId: string | undefined
  moderator: boolean
}

/** What the list's controls ask the room to do. */
export interface ListActions {
  reply(message: ShownMessage): void
  /** Resolves whether the server took the edit (else the edit box stays open). */
  edit(id: MessageId, content: string): Promise<boolean>
  remove(id: MessageId): void
  react(id: MessageId, emoji: string, on: boolean): void
  /** The reader scrolled to the top: older messages are wanted. */
  nearTop(): void
}

export class MessageList {
  readonly list: HTMLOListElement
  private readonly items = new Map<MessageId, HTMLLIElement>()
  /** What each item shows (a live join/leave note merged with its stored copy has none). */
  private readonly shown = new Map<MessageId, ShownMessage>()
  /** Original id → the replies to it that are shown, to redraw their quotes. */
  private readonly replies = new Map<MessageId, Set<MessageId>>()
  /** Join and leave notes shown live (they carry no id), by text, oldest first. */
  private readonly notes = new Map<string, HTMLLIElement[]>()
  /** The message whose edit box is open, and the one whose emoji picker is. */
  private editing: MessageId | undefined
  private picking: MessageId | undefined
  /** The message that shows "Seen by", and its names. */
  private seenOn: MessageId | undefined
  private seenNames = ''
  private readonly controls: MessageControls
  private newest: MessageId | undefined
  /** Whether the reader is at the newest messages (then new ones keep it there). */
  private pinned = true
  private savedScroll = 0

  constructor(
    private readonly reader: () => ListReader,
    private readonly actions: ListActions,
  ) {
    this.list = el('ol', { class: 'messages', 'aria-label': 'Messages', tabindex: 0 })
    this.list.addEventListener('scroll', () => this.onScroll())
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
  }

  /** The id of the newest item shown (a message or a note). */
  get newestId(): MessageId | undefined {
    return this.newest
  }

  /** Every message shown, in the order shown first. */
  messages(): Iterable<ShownMessage> {
    return this.shown.values()
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
    return true
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
    // A reply's quote shows the original's latest text.
    if (frame.type !== 'reaction')
      for (const reply of this.replies.get(m.id) ?? []) this.redraw(reply)
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

  isMine(m: ShownMessage): boolean {
    // Signed in, a message is known by its sender's user id; anonymous, by the name (the
    // server refuses, with a clear error, an edit of a namesake's message from before).
    const reader = this.reader()
    if (reader.userId !== undefined || m.user_id !== undefined) return m.user_id === reader.userId
    return m.sender === reader.username
  }

  /** Puts "Seen by `names`" on the message `id` (none: nowhere), redrawing what changed. */
  setSeen(id: MessageId | undefined, names: string): void {
    if (id === this.seenOn && names === this.seenNames) return
    const was = this.seenOn
    this.seenOn = id
    this.seenNames = names
    if (was !== undefined && was !== id) this.redraw(was)
    if (id !== undefined) this.redraw(id)
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

  /** The id of the oldest message shown, for `history`'s `before`. */
  get oldestId(): MessageId | undefined {
    for (const li of this.list.children) {
      const id = (li as HTMLElement).dataset.id
      if (id !== undefined) return id
    }
    return undefined
  }

  /** Adds older messages (history paging), keeping the reader's place. */
  addOlder(messages: ShownMessage[]): void {
    const fromBottom = this.list.scrollHeight - this.list.scrollTop
    for (const m of messages) this.add(m)
    this.list.scrollTop = this.list.scrollHeight - fromBottom
  }

  /** The list was put in (true) or taken out of the page: keep the reader's place. */
  setActive(active: boolean): void {
    if (active) {
      if (this.pinned) this.scrollToBottom()
      else this.list.scrollTop = this.savedScroll
    } else this.savedScroll = this.list.scrollTop
  }

  private render(m: ShownMessage): HTMLLIElement {
    const reader = this.reader()
    const mine = !m.system && this.isMine(m)
    const original = m.reply_to === undefined ? undefined : this.shown.get(m.reply_to)
    return renderMessage(
      m,
      {
        mine,
        canDelete: mine || reader.moderator,
        me: reader.username,
        original,
        editing: this.editing === m.id,
        seenBy: m.id === this.seenOn && this.seenNames ? this.seenNames : undefined,
        picking: this.picking === m.id,
      },
      this.controls,
    )
  }

  /** Puts a new item in id order: last, or (history paging) before the first newer one. */
  private place(id: MessageId, li: HTMLLIElement): void {
    if (this.newest === undefined || compareIds(id, this.newest) > 0) {
      this.append(li)
      this.newest = id
      return
    }
    let next: Element | null = this.list.firstElementChild
    while (next) {
      const at = (next as HTMLElement).dataset.id
      if (at !== undefined && compareIds(at, id) > 0) break
      next = next.nextElementSibling
    }
    this.list.insertBefore(li, next)
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

  /**
   * Draws the item of `id` again in place, keeping the focus on the same control and what
   * is typed in its edit box (a redraw comes when others read or react while you edit).
   */
  private redraw(id: MessageId): void {
    const old = this.items.get(id)
    const m = this.shown.get(id)
    if (!old || !m) return
    const active = document.activeElement
    const focusKey =
      active instanceof HTMLElement && old.contains(active) ? active.dataset.focus : undefined
    const draft = old.querySelector<HTMLTextAreaElement>('textarea.edit-box')
    const li = this.render(m)
    const box = li.querySelector<HTMLTextAreaElement>('textarea.edit-box')
    if (draft && box) {
      box.value = draft.value
      box.setSelectionRange(draft.selectionStart, draft.selectionEnd)
    }
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
      this.list.focus()
  }

  private append(li: HTMLLIElement): void {
    this.list.append(li)
    if (this.pinned) this.scrollToBottom()
  }

  private noteNewest(id: MessageId): void {
    if (this.newest === undefined || compareIds(id, this.newest) > 0) this.newest = id
  }

  private scrollToBottom(): void {
    this.list.scrollTop = this.list.scrollHeight
  }

  private onScroll(): void {
    const list = this.list
    // A detached panel reports 0 for everything: keep what was true when it was shown.
    if (!list.isConnected) return
    this.pinned = list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX
    if (list.scrollTop < STICK_PX) this.actions.nearTop()
  }
}
