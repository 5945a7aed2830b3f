/**
 * The chat page's controller: one ChatClient (page-client.ts, with the sign-in), the public
 * room list, the join and create forms (entry-forms.ts), a RoomView per joined room, the
 * requests its controls make (room-requests.ts), the composer (composer.ts), and the status and
 * alert regions.
 * The accessible names used here are the page's contract (README, "The chat page").
 */
import type { ChatClient, ConnectionState, JoinedFrame } from '../client/index.ts'
import { Composer } from './composer.ts'
import { byId } from './dom.ts'
import { EntryForms } from './entry-forms.ts'
import { PageClient } from './page-client.ts'
import { asRequestError, plainError } from './plain-errors.ts'
import { ReadSender } from './read-marks.ts'
import { listenToRooms } from './room-events.ts'
import { RoomList } from './room-list.ts'
import { RoomRequests } from './room-requests.ts'
import { isDirect, RoomView } from './room-view.ts'
import { type AuthMode, PageSignIn } from './sign-in.ts'

const NO_ROOM = 'Choose a username, then join or create a room.'
const NO_ROOM_SIGNED_IN = 'Join or create a room.'

export class ChatPage {
  private readonly connection: PageClient
  private readonly views = new Map<string, RoomView>()
  private active: string | undefined
  /** Room id → name, from the room list and from what people typed to join. */
  private readonly names = new Map<string, string>()
  /** Per room, when the last `read` went out, and the timer of the next. */
  /** The reader's markers, sent at most once a second per room. */
  private readonly reads = new ReadSender<RoomView>(
    (view) => this.views.get(view.id) === view,
    (room, id) => this.client?.markRead(room, id),
  )
  /** The connection closed for good while rooms were open (not the idle close of 4000). */
  private lost = false

  private readonly rooms = new RoomList(
    byId('rooms', HTMLUListElement),
    byId('rooms-empty', HTMLParagraphElement),
    {
      open: (room) => {
        if (this.views.has(room.id)) this.select(room.id)
        else void this.forms.join(room.id)
      },
      openDirect: (room, userId, name) => {
        if (this.views.has(room)) this.select(room)
        else void this.requests.openDirect(userId, name)
      },
      named: (room) => this.setName(room.id, room.name),
      joined: (id) => this.views.has(id),
      current: () => this.active,
    },
  )
  private readonly forms = new EntryForms({
    connected: () => this.connection.connected(),
    signsIn: () => this.connection.signIn.active,
    signedInName: () => this.connection.signIn.name,
    refused: (code) => this.connection.refused(code),
    hasName: (room) => this.names.has(room),
    setName: (room, name) => this.setName(room, name),
    nameOf: (room, fallback) => this.nameOf(room, fallback),
    entered: (joined) => this.entered(joined),
    fail: (text, focus) => this.fail(text, focus),
    clearError: () => this.clearError(),
  })
  private readonly requests = new RoomRequests({
    client: () => this.client,
    connected: () => this.connection.connected(),
    view: (room) => this.views.get(room),
    rooms: this.rooms,
    nameOf: (room, fallback) => this.nameOf(room, fallback),
    setName: (room, name) => this.setName(room, name),
    select: (room) => this.select(room),
    entered: (joined) => this.entered(joined),
    fail: (text) => this.fail(text),
    clearError: () => this.clearError(),
  })
  private readonly alert = byId('alert', HTMLDivElement)
  private readonly tabs = byId('tabs', HTMLDivElement)
  private readonly noRoom = byId('no-room', HTMLParagraphElement)
  private readonly panels = byId('panels', HTMLDivElement)
  private readonly connectionStatus = byId('connection-status', HTMLSpanElement)
  private readonly typingStatus = byId('typing-status', HTMLSpanElement)
  private readonly composer = new Composer({
    active: () => this.active,
    client: () => this.client,
    nameOf: (room) => this.nameOf(room),
    fail: (text) => this.fail(text),
    clearError: () => this.clearError(),
  })

  constructor(wsUrl: string, mode: AuthMode = 'off', token?: string) {
    // Every element is found above, before forms.show takes two of the forms out (and the
    // sign-in the Username box).
    this.connection = new PageClient(
      wsUrl,
      new PageSignIn(mode, token),
      (client) => this.listen(client),
      () => this.showNoRoomHint(),
    )
    this.showNoRoomHint()
    this.forms.show('join', false)
    this.forms.wire()
    this.composer.wire()
    this.wireTabs()
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return
      this.readActive()
      void this.rooms.refresh()
    })
    window.addEventListener('focus', () => this.readActive())
    if (this.connection.signIn.active) void this.start()
  }

  private get client(): ChatClient | undefined {
    return this.connection.client
  }

  // ── Joining ────────────────────────────────────────────────────────────────

  /** Signs in as the page opens, to show who is signed in before the first join. */
  private async start(): Promise<void> {
    try {
      await this.connection.connected()
    } catch (error) {
      const e = asRequestError(error)
      this.fail(plainError(e.code, e.message))
    }
  }

  private showNoRoomHint(): void {
    this.noRoom.textContent = this.connection.signIn.active ? NO_ROOM_SIGNED_IN : NO_ROOM
  }

  /** After a join or create: show the room, put the forms back, go to the composer. */
  private entered(joined: JoinedFrame): void {
    this.select(joined.room)
    this.forms.show('join', false)
    this.composer.focus()
    this.rooms.soon()
  }

  // ── Client events ────────────────────────────────────────────────────────────

  private listen(client: ChatClient): void {
    client.on('state', (state) => this.onState(state))
    client.on('authenticated', (f) => {
      this.connection.signIn.signedIn(f.user.name)
      void this.requests.listDirects(client)
    })
    client.on('joined', (f) => {
      if (isDirect(f.room)) {
        // A direct room is named by the other user (REST does not list it).
        const other = f.users.find((u) => u.username !== f.username && u.user_id !== undefined)
        if (other?.user_id !== undefined) {
          this.setName(f.room, other.username)
          this.rooms.addDirect(f.room, other.user_id, other.username)
        }
      }
      const view = this.viewFor(f.room)
      view.applyJoined(f)
      this.seen(view)
    })
    client.on('direct', (f) => {
      this.setName(f.room, f.from.username)
      this.rooms.addDirect(f.room, f.from.user_id, f.from.username)
    })
    listenToRooms(client, {
      view: (room) => this.views.get(room),
      seen: (view) => this.seen(view),
      statusChanged: () => this.renderStatus(),
      membersChanged: () => this.rooms.soon(),
    })
    client.on('reconnected', (info) => {
      for (const [id, view] of this.views) {
        // Rooms the client could not take back (banned or deleted meanwhile) are gone.
        if (!client.rooms.has(id)) this.dropView(id)
        else if (!info.recovered && !info.resumed) {
          view.addNote('Some messages from while you were away are no longer kept.')
        }
      }
      // A `read` made while reconnecting was dropped: send the marker again.
      const active = this.active ? this.views.get(this.active) : undefined
      if (active && !document.hidden) this.reads.send(active)
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
      this.connection.refused(f.code)
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
      leave: () => void this.requests.leave(room),
      kick: (name) => void this.requests.moderate('kick', room, name),
      ban: (name) => void this.requests.moderate('ban', room, name),
      loadOlder: () => void this.requests.loadOlder(room),
      reply: (m) => this.composer.replyTo(room, m),
      edit: (id, content) =>
        this.requests.amend(room, 'edit', () => this.client?.edit(room, id, content)),
      remove: (id) => void this.requests.amend(room, 'delete', () => this.client?.delete(room, id)),
      react: (id, emoji, on) =>
        void this.requests.amend(room, 'react', () => this.client?.react(room, id, emoji, on)),
      direct: (user) => void this.requests.openDirect(user.user_id ?? '', user.username),
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
    this.seen(view)
    this.noRoom.hidden = true
    this.composer.setEnabled(true)
    this.composer.showReply()
    this.updateTitle()
    this.renderStatus()
    this.rooms.mark()
  }

  private dropView(room: string): void {
    const view = this.views.get(room)
    if (!view) return
    view.tab.remove()
    this.views.delete(room)
    this.rooms.setUnread(room, 0)
    this.composer.forgetRoom(room)
    if (this.active === room) {
      this.active = undefined
      this.panels.replaceChildren()
      const next = this.views.keys().next()
      if (!next.done) this.select(next.value)
      else {
        this.noRoom.hidden = false
        this.composer.setEnabled(false)
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

  /**
   * The room's unread count from its markers, on its tab, in the Rooms list and in the title;
   * first, if it is the open room of a visible page, the reader has seen its newest message.
   */
  private seen(view: RoomView): void {
    if (view.id === this.active && !document.hidden && view.markSeen() !== undefined) {
      this.reads.send(view)
    }
    this.rooms.setUnread(view.id, view.recount())
    this.updateTitle()
  }

  private readActive(): void {
    const view = this.active ? this.views.get(this.active) : undefined
    if (view) this.seen(view)
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

  // ── Status, alert ────────────────────────────────────────────────────────────

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
