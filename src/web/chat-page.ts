/**
 * The chat page's controller: one ChatClient, the public room list, the join and create
 * forms, a RoomView per joined room, the composer, and the status and alert regions.
 * The accessible names used here are the page's contract (README, "The chat page").
 */
import {
  ChatClient,
  ChatRequestError,
  type ConnectionState,
  type JoinedFrame,
} from '../client/index.ts'
import { byId } from './dom.ts'
import { type ErrorContext, needsPassword, plainError } from './plain-errors.ts'
import { RoomList } from './room-list.ts'
import { RoomView } from './room-view.ts'

/** Least time between two `typing` frames for one room (the server drops any within 1 s). */
const TYPING_EVERY_MS = 1100
const USERNAME_KEY = 'chat.username'

type EntryMode = 'join' | 'password' | 'create'

const asRequestError = (error: unknown): ChatRequestError =>
  error instanceof ChatRequestError
    ? error
    : new ChatRequestError('internal_error', error instanceof Error ? error.message : String(error))

export class ChatPage {
  private client: ChatClient | undefined
  private readonly views = new Map<string, RoomView>()
  private active: string | undefined
  /** Room id → name, from the room list and from what people typed to join. */
  private readonly names = new Map<string, string>()
  /** Per room, when we last sent `typing`. */
  private readonly lastTyping = new Map<string, number>()
  private typingTimer: ReturnType<typeof setTimeout> | undefined
  /** The private room the password form is for. */
  private passwordRoom = ''
  /** The connection closed for good while rooms were open (not the idle close of 4000). */
  private lost = false

  private readonly username = byId('username', HTMLInputElement)
  private readonly rooms = new RoomList(
    byId('rooms', HTMLUListElement),
    byId('rooms-empty', HTMLParagraphElement),
    {
      open: (room) => {
        if (this.views.has(room.id)) this.select(room.id)
        else void this.join(room.id)
      },
      named: (room) => this.setName(room.id, room.name),
      joined: (id) => this.views.has(id),
      current: () => this.active,
    },
  )
  private readonly entry = byId('entry', HTMLElement)
  private readonly createForm = byId('create-form', HTMLFormElement)
  private readonly entryModes: Record<EntryMode, HTMLElement> = {
    join: byId('join-mode', HTMLDivElement),
    password: byId('password-form', HTMLFormElement),
    create: this.createForm,
  }
  private readonly joinForm = byId('join-form', HTMLFormElement)
  private readonly createOpen = byId('create-open', HTMLButtonElement)
  private readonly createCancel = byId('create-cancel', HTMLButtonElement)
  private readonly passwordCancel = byId('password-cancel', HTMLButtonElement)
  private readonly joinRoom = byId('join-room', HTMLInputElement)
  private readonly passwordPrompt = byId('password-prompt', HTMLParagraphElement)
  private readonly joinPassword = byId('join-password', HTMLInputElement)
  private readonly createName = byId('create-name', HTMLInputElement)
  private readonly createPrivate = byId('create-private', HTMLInputElement)
  private readonly createPassword = byId('create-password', HTMLInputElement)
  private readonly alert = byId('alert', HTMLDivElement)
  private readonly tabs = byId('tabs', HTMLDivElement)
  private readonly noRoom = byId('no-room', HTMLParagraphElement)
  private readonly panels = byId('panels', HTMLDivElement)
  private readonly connectionStatus = byId('connection-status', HTMLSpanElement)
  private readonly typingStatus = byId('typing-status', HTMLSpanElement)
  private readonly message = byId('message', HTMLTextAreaElement)
  private readonly sendButton = byId('send', HTMLButtonElement)

  constructor(private readonly wsUrl: string) {
    // Every element is found above, before showEntry takes two of the forms out.
    this.username.value = localStorage.getItem(USERNAME_KEY) ?? ''
    this.showEntry('join', false)
    this.wireForms()
    this.wireComposer()
    this.wireTabs()
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return
      const view = this.active ? this.views.get(this.active) : undefined
      view?.setUnread(0)
      this.updateTitle()
      void this.rooms.refresh()
    })
  }

  // ── Forms ──────────────────────────────────────────────────────────────────

  private wireForms(): void {
    this.joinForm.addEventListener('submit', (e) => {
      e.preventDefault()
      const room = this.joinRoom.value.trim()
      if (!room) return this.fail('Type the name of the room to join.', this.joinRoom)
      void this.join(room)
    })
    this.entryModes.password.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.join(this.passwordRoom, this.joinPassword.value)
    })
    this.passwordCancel.addEventListener('click', () => this.showEntry('join'))
    this.createOpen.addEventListener('click', () => this.showEntry('create'))
    this.createCancel.addEventListener('click', () => this.showEntry('join'))
    this.createForm.addEventListener('submit', (e) => {
      e.preventDefault()
      const name = this.createName.value.trim()
      if (!name) return this.fail('Give the new room a name.', this.createName)
      void this.create(name, this.createPrivate.checked, this.createPassword.value)
    })
    this.username.addEventListener('change', () => {
      localStorage.setItem(USERNAME_KEY, this.username.value.trim())
    })
  }

  /** Shows one of the join, password and create forms; the others leave the page. */
  private showEntry(mode: EntryMode, focus = true): void {
    const node = this.entryModes[mode]
    this.entry.replaceChildren(node)
    if (mode === 'create') this.createForm.reset()
    if (mode === 'password') this.joinPassword.value = ''
    if (!focus) return
    const first = {
      join: this.joinRoom,
      password: this.joinPassword,
      create: this.createName,
    }[mode]
    first.focus()
  }

  /** The username, or undefined (and an alert) if none was chosen. */
  private requireName(): string | undefined {
    const name = this.username.value.trim()
    if (!name) {
      this.fail('Choose a username first.', this.username)
      return undefined
    }
    localStorage.setItem(USERNAME_KEY, name)
    return name
  }

  private async connected(): Promise<ChatClient> {
    if (!this.client) {
      this.client = new ChatClient({ url: this.wsUrl })
      this.listen(this.client)
    }
    await this.client.connect()
    return this.client
  }

  private async join(room: string, password?: string): Promise<void> {
    const username = this.requireName()
    if (!username) return
    this.clearError()
    try {
      const client = await this.connected()
      const joined = await client.join(room, username, password === undefined ? {} : { password })
      if (!this.names.has(joined.room)) this.setName(joined.room, room)
      this.joinRoom.value = ''
      this.entered(joined)
    } catch (error) {
      const e = asRequestError(error)
      if (password === undefined && needsPassword(e.code, e.message)) {
        this.passwordRoom = room
        this.passwordPrompt.textContent = `“${this.nameOf(e.room, room)}” is private. Enter its password to join.`
        this.showEntry('password')
        return
      }
      const ctx = { room: this.nameOf(e.room, room), username, action: 'join' } as const
      this.fail(
        plainError(e.code, e.message, ctx),
        password === undefined ? undefined : this.joinPassword,
      )
      if (password !== undefined) this.joinPassword.value = ''
    }
  }

  private async create(name: string, isPrivate: boolean, password: string): Promise<void> {
    const username = this.requireName()
    if (!username) return
    this.clearError()
    try {
      const client = await this.connected()
      // A password alone makes the room private; send neither flag nor password unset.
      const joined = await client.create(name, username, {
        is_private: isPrivate || undefined,
        password: password || undefined,
      })
      this.setName(joined.room, name)
      this.entered(joined)
    } catch (error) {
      const e = asRequestError(error)
      this.fail(plainError(e.code, e.message, { room: name, username, action: 'create' }))
    }
  }

  /** After a join or create: show the room, put the forms back, go to the composer. */
  private entered(joined: JoinedFrame): void {
    this.select(joined.room)
    this.showEntry('join', false)
    this.message.focus()
    this.rooms.soon()
  }

  // ── Client events ────────────────────────────────────────────────────────────

  private listen(client: ChatClient): void {
    client.on('state', (state) => this.onState(state))
    client.on('joined', (f) => this.viewFor(f.room).applyJoined(f))
    client.on('message', (f) => {
      const view = this.views.get(f.room)
      if (!view) return
      view.setTyping(f.sender, false)
      const shown = view.add({
        id: f.id,
        system: false,
        sender: f.sender,
        content: f.content,
        ts: f.ts,
      })
      if (shown && f.sender !== view.username) this.countUnread(view)
      this.renderStatus()
    })
    client.on('system', (f) => {
      this.views
        .get(f.room)
        ?.add({ id: f.id, system: true, sender: '', content: f.content, ts: f.ts })
    })
    client.on('user_joined', (f) => {
      const view = this.views.get(f.room)
      if (!view) return
      view.upsertMember({ username: f.username, status: 'online', moderator: false })
      view.addNote(`${f.username} joined`)
      this.rooms.soon()
    })
    client.on('user_left', (f) => {
      const view = this.views.get(f.room)
      if (!view?.isMember(f.username)) return
      view.removeMember(f.username)
      view.addNote(`${f.username} left`)
      this.renderStatus()
      this.rooms.soon()
    })
    client.on('presence', (f) => {
      this.views.get(f.room)?.setStatus(f.username, f.status)
      this.renderStatus()
    })
    client.on('presence_diff', (f) => {
      const view = this.views.get(f.room)
      if (!view) return
      for (const name of f.leaves) view.removeMember(name)
      for (const user of f.joins) view.upsertMember(user)
      this.renderStatus()
    })
    client.on('typing', (f) => {
      this.views.get(f.room)?.setTyping(f.username, f.active)
      this.renderStatus()
    })
    client.on('resumed', (f) => {
      const view = this.views.get(f.room)
      if (!view) return
      view.setMembers(f.users)
      if (!f.recovered) view.addNote('Some messages from while you were away are no longer kept.')
    })
    client.on('reconnected', (info) => {
      for (const [id, view] of this.views) {
        // Rooms the client could not take back (banned or deleted meanwhile) are gone.
        if (!client.rooms.has(id)) this.dropView(id)
        else if (!info.recovered && !info.resumed) {
          view.addNote('Some messages from while you were away are no longer kept.')
        }
      }
      this.renderStatus()
    })
    client.on('left', (f) => this.dropView(f.room))
    client.on('kicked', (f) =>
      this.removed(f.room, `You were removed from “${this.nameOf(f.room)}” by ${f.by}.`),
    )
    client.on('banned', (f) =>
      this.removed(f.room, `You were banned from “${this.nameOf(f.room)}” by ${f.by}.`),
    )
    client.on('error', (f) => {
      this.fail(plainError(f.code, f.message, { room: this.nameOf(f.room) }))
      if (f.room !== undefined && !client.rooms.has(f.room)) this.dropView(f.room)
    })
  }

  private onState(state: ConnectionState): void {
    if (state !== 'open') {
      // Typing frames are not replayed: whoever was typing may long have stopped.
      for (const view of this.views.values()) view.typing.clear()
    }
    if (state === 'open') this.lost = false
    if (state === 'closed') {
      this.lost = this.views.size > 0
      for (const id of [...this.views.keys()]) this.dropView(id)
    }
    this.renderStatus()
  }

  private removed(room: string, text: string): void {
    this.fail(text)
    this.dropView(room)
  }

  // ── Rooms and tabs ───────────────────────────────────────────────────────────

  private viewFor(room: string): RoomView {
    let view = this.views.get(room)
    if (view) return view
    view = new RoomView(room, this.nameOf(room), {
      select: () => this.select(room),
      leave: () => void this.leave(room),
      kick: (name) => void this.moderate('kick', room, name),
      ban: (name) => void this.moderate('ban', room, name),
      loadOlder: () => void this.loadOlder(room),
    })
    this.views.set(room, view)
    this.tabs.append(view.tab)
    if (this.active === undefined) this.select(room)
    return view
  }

  private select(room: string): void {
    const view = this.views.get(room)
    if (!view) return
    const previous = this.active === undefined ? undefined : this.views.get(this.active)
    if (previous && previous !== view) previous.setActive(false)
    this.active = room
    // Only the open room's panel is in the page: one list named Messages, one Members.
    this.panels.replaceChildren(view.panel)
    view.setActive(true)
    view.setUnread(0)
    this.noRoom.hidden = true
    this.message.disabled = false
    this.sendButton.disabled = false
    this.updateTitle()
    this.renderStatus()
    this.rooms.mark()
  }

  private dropView(room: string): void {
    const view = this.views.get(room)
    if (!view) return
    view.tab.remove()
    this.views.delete(room)
    if (this.active === room) {
      this.active = undefined
      this.panels.replaceChildren()
      const next = this.views.keys().next()
      if (!next.done) this.select(next.value)
      else {
        this.noRoom.hidden = false
        this.message.disabled = true
        this.sendButton.disabled = true
      }
    }
    this.updateTitle()
    this.renderStatus()
    this.rooms.soon()
  }

  private wireTabs(): void {
    // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab goes to the panel.
    this.tabs.addEventListener('keydown', (e) => {
      const ids = [...this.views.keys()]
      const at = this.active === undefined ? -1 : ids.indexOf(this.active)
      const to = {
        ArrowRight: at + 1,
        ArrowLeft: at - 1,
        Home: 0,
        End: ids.length - 1,
      }[e.key]
      if (to === undefined || ids.length === 0) return
      e.preventDefault()
      const id = ids[(to + ids.length) % ids.length]
      if (id === undefined) return
      this.select(id)
      this.views.get(id)?.tab.focus()
    })
  }

  private async leave(room: string): Promise<void> {
    this.clearError()
    try {
      await this.client?.leave(room)
    } catch (error) {
      const e = asRequestError(error)
      this.fail(plainError(e.code, e.message, { room: this.nameOf(room), action: 'leave' }))
    }
  }

  private async moderate(action: 'kick' | 'ban', room: string, username: string): Promise<void> {
    this.clearError()
    try {
      await this.client?.[action](room, username)
    } catch (error) {
      const e = asRequestError(error)
      const ctx: ErrorContext = { room: this.nameOf(room), username, action: 'moderate' }
      this.fail(plainError(e.code, e.message, ctx))
    }
  }

  private async loadOlder(room: string): Promise<void> {
    const view = this.views.get(room)
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
      this.fail(plainError(e.code, e.message, { room: view.name, action: 'history' }))
    }
  }

  private countUnread(view: RoomView): void {
    if (view.id === this.active && !document.hidden) return
    view.setUnread(view.unread + 1)
    this.updateTitle()
  }

  private updateTitle(): void {
    let unread = 0
    for (const view of this.views.values()) unread += view.unread
    document.title = unread > 0 ? `(${unread}) Chat` : 'Chat'
  }

  private nameOf(room: string | undefined, fallback = room ?? ''): string {
    return (room === undefined ? undefined : this.names.get(room)) ?? fallback
  }

  private setName(room: string, name: string): void {
    this.names.set(room, name)
    this.views.get(room)?.rename(name)
  }

  // ── Composer, status, alert ──────────────────────────────────────────────────

  private wireComposer(): void {
    const form = byId('composer', HTMLFormElement)
    this.message.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault()
        form.requestSubmit()
      }
    })
    this.message.addEventListener('input', () => this.typed())
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.send()
    })
  }

  /**
   * Tells the room we type: at once, or, within the server's throttle of the last one
   * (a frame sooner would be dropped), when it has passed.
   */
  private typed(): void {
    const room = this.active
    if (!room || !this.message.value.trim() || this.typingTimer !== undefined) return
    const wait = (this.lastTyping.get(room) ?? 0) + TYPING_EVERY_MS - Date.now()
    const tell = () => {
      this.typingTimer = undefined
      if (this.active !== room || !this.message.value.trim() || this.client?.state !== 'open')
        return
      this.lastTyping.set(room, Date.now())
      this.client.typing(room)
    }
    if (wait <= 0) tell()
    else this.typingTimer = setTimeout(tell, wait)
  }

  private async send(): Promise<void> {
    const room = this.active
    const text = this.message.value
    if (!room || !this.client || !text.trim()) return
    this.clearError()
    this.message.value = ''
    try {
      await this.client.send(room, text)
    } catch (error) {
      // Give the text back unless something new was typed meanwhile.
      if (!this.message.value) this.message.value = text
      const e = asRequestError(error)
      this.fail(plainError(e.code, e.message, { room: this.nameOf(room), action: 'send' }))
    }
  }

  private renderStatus(): void {
    const state = this.client?.state
    const connection =
      state === 'connecting'
        ? 'Connecting…'
        : state === 'reconnecting'
          ? 'Reconnecting…'
          : state === 'closed' && this.lost
            ? 'Disconnected. Join a room to connect again.'
            : ''
    const view = this.active ? this.views.get(this.active) : undefined
    const typing = view
      ? [...view.typing]
          .filter((name) => name !== view.username)
          .map((name) => `${name} is typing`)
          .join(', ')
      : ''
    // Only on change: a live region announces every write.
    if (this.connectionStatus.textContent !== connection)
      this.connectionStatus.textContent = connection
    if (this.typingStatus.textContent !== typing) this.typingStatus.textContent = typing
  }

  /** Shows `text` in the alert region; moves the focus to `focus` if given. */
  private fail(text: string, focus?: HTMLElement): void {
    this.alert.textContent = text
    focus?.focus()
  }

  private clearError(): void {
    this.alert.textContent = ''
  }
}
