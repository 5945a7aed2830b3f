/**
 * A room's Members list: one item per member with their presence, your own first, and the
 * buttons `Message <name>` (signed-in readers, beside other signed-in members), `Kick <name>`
 * and `Ban <name>` (moderators). Rebuilt in place, keeping the focus on the same button.
 */
import type { UserView } from '../client/index.ts'
import { el } from './dom.ts'

/** Who reads the list, as the room knows it now. */
export interface Reader {
  username: string
  userId: string | undefined
  moderator: boolean
  /** In a direct room nobody is offered a direct conversation: it is the one. */
  direct: boolean
}

/** What the list's buttons ask the room to do. */
export interface MemberActions {
  kick(username: string): void
  ban(username: string): void
  direct(user: UserView): void
}

export class MemberList {
  readonly list: HTMLUListElement
  readonly count: HTMLSpanElement
  private readonly members = new Map<string, UserView>()

  constructor(
    private readonly reader: () => Reader,
    private readonly actions: MemberActions,
    /** The members changed (after the list is drawn). */
    private readonly changed: () => void,
  ) {
    this.list = el('ul', { class: 'members', 'aria-label': 'Members' })
    this.count = el('span', { class: 'hint' })
  }

  get size(): number {
    return this.members.size
  }

  has(username: string): boolean {
    return this.members.has(username)
  }

  set(users: UserView[]): void {
    this.members.clear()
    for (const u of users) this.members.set(u.username, u)
    this.render()
  }

  upsert(user: UserView): void {
    this.members.set(user.username, user)
    this.render()
  }

  remove(username: string): void {
    if (this.members.delete(username)) this.render()
  }

  /** Returns whether the status changed. */
  setStatus(username: string, status: UserView['status']): boolean {
    const user = this.members.get(username)
    if (!user || user.status === status) return false
    this.members.set(username, { ...user, status })
    this.render()
    return true
  }

  /** Draws the list again (the reader's name or rights changed). */
  render(): void {
    // Rebuilding the list would drop the focus of a Kick/Ban button: put it back after.
    const focused = this.list.contains(document.activeElement)
      ? document.activeElement?.getAttribute('aria-label')
      : undefined
    const reader = this.reader()
    const me = reader.username.toLowerCase()
    const users = [...this.members.values()].sort(
      (a, b) =>
        Number(b.username.toLowerCase() === me) - Number(a.username.toLowerCase() === me) ||
        a.username.localeCompare(b.username),
    )
    this.list.replaceChildren(...users.map((u) => this.item(u, reader, me)))
    const online = users.filter((u) => u.status === 'online').length
    this.count.textContent = `(${online} online)`
    this.changed()
    if (focused) {
      for (const button of this.list.querySelectorAll('button')) {
        if (button.getAttribute('aria-label') === focused) button.focus()
      }
    }
  }

  private item(user: UserView, reader: Reader, me: string): HTMLLIElement {
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
    if (!self && reader.userId !== undefined && user.user_id !== undefined && !reader.direct) {
      const direct = el(
        'button',
        { type: 'button', class: 'small secondary', 'aria-label': `Message ${user.username}` },
        'Message',
      )
      direct.addEventListener('click', () => this.actions.direct(user))
      buttons.push(direct)
    }
    if (reader.moderator && !self) {
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
}
