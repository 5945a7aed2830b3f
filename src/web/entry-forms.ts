/**
 * The way into rooms: the username (or the signed-in name), and the join, password and create
 * forms that take turns in the entry region, with what submitting them does. The accessible
 * names used here are the page's contract (README, "The chat page").
 */
import type { ChatClient, JoinedFrame } from '../client/index.ts'
import { byId } from './dom.ts'
import { asRequestError, needsPassword, plainError } from './plain-errors.ts'

const USERNAME_KEY = 'chat.username'

export type EntryMode = 'join' | 'password' | 'create'

/** What the forms ask of the page. */
export interface EntryHooks {
  /** The page's client, connected (and signed in, when the page signs in). */
  connected(): Promise<ChatClient>
  /** Whether the page signs in with a token: the name is the token's, not the Username box's. */
  signsIn(): boolean
  /** The signed-in name, once `connected()` has resolved. */
  signedInName(): string | undefined
  /** A request failed with `code`: the page drops a token the server no longer takes. */
  refused(code: string): void
  /** Whether the page knows a name for this room id. */
  hasName(room: string): boolean
  setName(room: string, name: string): void
  nameOf(room: string | undefined, fallback: string): string
  /** A join or create succeeded. */
  entered(joined: JoinedFrame): void
  /** Shows `text` in the alert region; moves the focus to `focus` if given. */
  fail(text: string, focus?: HTMLElement): void
  clearError(): void
}

export class EntryForms {
  /** The private room the password form is for. */
  private passwordRoom = ''

  private readonly username = byId('username', HTMLInputElement)
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

  constructor(private readonly hooks: EntryHooks) {
    this.username.value = localStorage.getItem(USERNAME_KEY) ?? ''
  }

  /** Listens to the forms and to the username field. */
  wire(): void {
    this.joinForm.addEventListener('submit', (e) => {
      e.preventDefault()
      const room = this.joinRoom.value.trim()
      if (!room) return this.hooks.fail('Type the name of the room to join.', this.joinRoom)
      void this.join(room)
    })
    this.entryModes.password.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.join(this.passwordRoom, this.joinPassword.value)
    })
    this.passwordCancel.addEventListener('click', () => this.show('join'))
    this.createOpen.addEventListener('click', () => this.show('create'))
    this.createCancel.addEventListener('click', () => this.show('join'))
    this.createForm.addEventListener('submit', (e) => {
      e.preventDefault()
      const name = this.createName.value.trim()
      if (!name) return this.hooks.fail('Give the new room a name.', this.createName)
      void this.create(name, this.createPrivate.checked, this.createPassword.value)
    })
    this.username.addEventListener('change', () => {
      localStorage.setItem(USERNAME_KEY, this.username.value.trim())
    })
  }

  /** Shows one of the join, password and create forms; the others leave the page. */
  show(mode: EntryMode, focus = true): void {
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

  /**
   * The username, or undefined (and an alert) if none was chosen. Signed in, the server
   * takes the name from the token, so there is nothing to choose ('').
   */
  private requireName(): string | undefined {
    if (this.hooks.signsIn()) return ''
    const name = this.username.value.trim()
    if (!name) {
      this.hooks.fail('Choose a username first.', this.username)
      return undefined
    }
    localStorage.setItem(USERNAME_KEY, name)
    return name
  }

  async join(room: string, password?: string): Promise<void> {
    let username = this.requireName()
    if (username === undefined) return
    this.hooks.clearError()
    try {
      const client = await this.hooks.connected()
      username = this.hooks.signedInName() ?? username
      const joined = await client.join(room, username, password === undefined ? {} : { password })
      if (!this.hooks.hasName(joined.room)) this.hooks.setName(joined.room, room)
      this.joinRoom.value = ''
      this.hooks.entered(joined)
    } catch (error) {
      const e = asRequestError(error)
      this.hooks.refused(e.code)
      if (password === undefined && needsPassword(e.code, e.message)) {
        this.passwordRoom = room
        this.passwordPrompt.textContent = `“${this.hooks.nameOf(e.room, room)}” is private. Enter its password to join.`
        this.show('password')
        return
      }
      const ctx = { room: this.hooks.nameOf(e.room, room), username, action: 'join' } as const
      this.hooks.fail(
        plainError(e.code, e.message, ctx),
        password === undefined ? undefined : this.joinPassword,
      )
      if (password !== undefined) this.joinPassword.value = ''
    }
  }

  private async create(name: string, isPrivate: boolean, password: string): Promise<void> {
    let username = this.requireName()
    if (username === undefined) return
    this.hooks.clearError()
    try {
      const client = await this.hooks.connected()
      username = this.hooks.signedInName() ?? username
      // A password alone makes the room private; send neither flag nor password unset.
      const joined = await client.create(name, username, {
        is_private: isPrivate || undefined,
        password: password || undefined,
      })
      this.hooks.setName(joined.room, name)
      this.hooks.entered(joined)
    } catch (error) {
      const e = asRequestError(error)
      this.hooks.refused(e.code)
      this.hooks.fail(plainError(e.code, e.message, { room: name, username, action: 'create' }))
    }
  }
}
