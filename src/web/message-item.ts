/**
 * One item of a room's Messages list: a message with its reply quote, its reactions and its
 * controls (Reply, React, Edit message, Delete message), or a system note. The accessible
 * names here are the page's contract (README, "The chat page").
 */
import type { MessageFrame, MessageId, ReactionView, StoredMessage } from '../client/index.ts'
import { el } from './dom.ts'

/** A message or system note as the page shows it, in its latest state. */
export interface ShownMessage {
  id: MessageId
  system: boolean
  sender: string
  content: string
  ts: number
  user_id?: string
  reply_to?: MessageId
  edited?: boolean
  deleted?: boolean
  /** By emoji, in the order first used; an emoji whose count fell to 0 is dropped. */
  reactions?: Record<string, ReactionView>
}

export function fromStored(m: StoredMessage): ShownMessage {
  const shown: ShownMessage = {
    id: m.id,
    system: m.type === 'system',
    sender: m.sender,
    content: m.content ?? '',
    ts: m.timestamp,
  }
  if (m.user_id !== undefined) shown.user_id = m.user_id
  if (m.reply_to !== undefined) shown.reply_to = m.reply_to
  if (m.edited_at !== undefined) shown.edited = true
  if (m.deleted) shown.deleted = true
  if (m.reactions !== undefined) shown.reactions = structuredClone(m.reactions)
  return shown
}

/** A live (or replayed) message as the page shows it. */
export function fromLive(f: MessageFrame): ShownMessage {
  const shown: ShownMessage = {
    id: f.id,
    system: false,
    sender: f.sender,
    content: f.content,
    ts: f.ts,
  }
  if (f.user_id !== undefined) shown.user_id = f.user_id
  if (f.reply_to !== undefined) shown.reply_to = f.reply_to
  if (f.edited_at !== undefined) shown.edited = true
  if (f.reactions !== undefined) shown.reactions = structuredClone(f.reactions)
  return shown
}

/** The emoji the React button offers (any other can be added to through its button). */
export const PICKER_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '🙏'] as const

/** What a message's controls ask the room to do. */
export interface MessageControls {
  reply(id: MessageId): void
  startEdit(id: MessageId): void
  /** Saves the edit box; resolves false (box kept open) if the server refused it. */
  saveEdit(id: MessageId, content: string): void
  cancelEdit(id: MessageId): void
  remove(id: MessageId): void
  togglePicker(id: MessageId): void
  /** Sets or clears your reaction `emoji`. */
  react(id: MessageId, emoji: string, on: boolean): void
  /** The quote of a reply was followed: show the original. */
  show(id: MessageId): void
}

/** How the item looks for the reader. */
export interface ItemView {
  /** The reader sent it (Edit message, Delete message). */
  mine: boolean
  /** The reader may delete it (theirs, or a moderator). */
  canDelete: boolean
  /** The reader's name in the room (to tell their own reactions). */
  me: string
  /** The message it replies to, when shown in the room. */
  original: ShownMessage | undefined
  editing: boolean
  picking: boolean
  /** "Seen by" these members (names, joined): on your last message in a small room. */
  seenBy?: string
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

export function timeOf(ms: number): HTMLTimeElement {
  const time = new Date(ms)
  return el('time', { datetime: time.toISOString() }, timeFormat.format(time))
}

/** Most characters of the original a reply's quote shows. */
const QUOTE_CHARS = 80

/** A message in one short line (a reply's quote, the composer's "Replying to"). */
export function excerpt(m: ShownMessage): string {
  if (m.deleted) return 'Message deleted'
  const chars = [...m.content.replace(/\s+/g, ' ')]
  return chars.length > QUOTE_CHARS ? `${chars.slice(0, QUOTE_CHARS).join('')}…` : chars.join('')
}

function small(
  label: string,
  focusKey: string,
  onClick: () => void,
  extra = {},
): HTMLButtonElement {
  const button = el(
    'button',
    { type: 'button', class: 'small secondary light', 'data-focus': focusKey, ...extra },
    label,
  )
  button.addEventListener('click', onClick)
  return button
}

export function renderMessage(
  m: ShownMessage,
  view: ItemView,
  controls: MessageControls,
): HTMLLIElement {
  const when = timeOf(m.ts)
  if (m.system) {
    return el(
      'li',
      { class: 'msg system', 'data-id': m.id },
      el('p', { class: 'content' }, m.content),
      when,
    )
  }
  const classes = ['msg', view.mine ? 'mine' : '', m.deleted ? 'deleted' : ''].filter(Boolean)
  const li = el('li', { class: classes.join(' '), 'data-id': m.id })
  const meta = el('p', { class: 'meta' }, el('span', { class: 'sender' }, m.sender), ' ', when)
  if (m.edited && !m.deleted) meta.append(' ', el('span', { class: 'edited' }, '(edited)'))
  // The controls sit in the head row: the text stays the item's last line.
  const head = el('div', { class: 'msg-head' }, meta)
  li.append(head)
  if (m.reply_to !== undefined && view.original) li.append(quote(view.original, controls))
  if (m.deleted) {
    li.append(el('p', { class: 'content gone' }, 'Message deleted'))
    return li
  }
  if (!view.editing) head.append(actionBar(m, view, controls))
  if (view.picking && !view.editing) li.append(picker(m, view, controls))
  if (view.editing) li.append(editBox(m, controls))
  else li.append(el('p', { class: 'content' }, m.content))
  const reactions = reactionButtons(m, view, controls)
  if (reactions) li.append(reactions)
  if (view.seenBy) li.append(el('p', { class: 'seen' }, `Seen by ${view.seenBy}`))
  return li
}

function quote(original: ShownMessage, controls: MessageControls): HTMLAnchorElement {
  // A link to the original (no hash change: the page's hash may carry the sign-in token).
  const link = el(
    'a',
    { class: 'quote', href: `#msg-${original.id}`, 'data-focus': 'quote' },
    `↪ ${original.sender}: ${excerpt(original)}`,
  )
  link.addEventListener('click', (e) => {
    e.preventDefault()
    controls.show(original.id)
  })
  return link
}

function editBox(m: ShownMessage, controls: MessageControls): HTMLElement {
  const box = el('textarea', {
    class: 'edit-box',
    'aria-label': 'Edit message',
    'aria-describedby': `edit-hint-${m.id}`,
    rows: 2,
    maxlength: 4000,
    'data-focus': 'edit-box',
  })
  box.value = m.content
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault()
      controls.saveEdit(m.id, box.value)
    } else if (e.key === 'Escape') {
      e.preventDefault()
      controls.cancelEdit(m.id)
    }
  })
  return el(
    'div',
    { class: 'editing' },
    box,
    el('p', { class: 'hint', id: `edit-hint-${m.id}` }, 'Enter saves, Escape cancels.'),
  )
}

function mineIn(reaction: ReactionView, me: string): boolean {
  return reaction.users.includes(me)
}

function reactionButtons(
  m: ShownMessage,
  view: ItemView,
  controls: MessageControls,
): HTMLElement | undefined {
  const entries = Object.entries(m.reactions ?? {}).filter(([, r]) => r.count > 0)
  if (entries.length === 0) return undefined
  return el(
    'div',
    { class: 'reactions' },
    ...entries.map(([emoji, r]) => {
      const mine = mineIn(r, view.me)
      // Named by the emoji and its count ("👍 2"); pressed when the reader is among them.
      return small(
        `${emoji} ${r.count}`,
        `reaction:${emoji}`,
        () => controls.react(m.id, emoji, !mine),
        {
          class: mine ? 'small secondary light reaction pressed' : 'small secondary light reaction',
          'aria-pressed': String(mine),
          title: r.users.join(', '),
        },
      )
    }),
  )
}

function actionBar(m: ShownMessage, view: ItemView, controls: MessageControls): HTMLElement {
  const bar = el('div', { class: 'msg-actions' })
  bar.append(
    small('Reply', 'reply', () => controls.reply(m.id)),
    small('React', 'react', () => controls.togglePicker(m.id), {
      'aria-expanded': String(view.picking),
      'aria-controls': `picker-${m.id}`,
    }),
  )
  if (view.mine) bar.append(small('Edit message', 'edit', () => controls.startEdit(m.id)))
  if (view.canDelete) {
    bar.append(
      small('Delete message', 'delete', () => controls.remove(m.id), {
        class: 'small secondary light danger-text',
      }),
    )
  }
  return bar
}

function picker(m: ShownMessage, view: ItemView, controls: MessageControls): HTMLElement {
  const group = el('div', {
    class: 'picker',
    role: 'group',
    id: `picker-${m.id}`,
    'aria-label': 'Emoji',
  })
  for (const emoji of PICKER_EMOJI) {
    const r = m.reactions?.[emoji]
    const on = !(r && mineIn(r, view.me))
    group.append(small(emoji, `pick:${emoji}`, () => controls.react(m.id, emoji, on)))
  }
  group.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault()
      controls.togglePicker(m.id)
    }
  })
  return group
}
