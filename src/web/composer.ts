/**
 * The composer: the open room's message box and Send button. Enter sends (Shift+Enter starts
 * a new line), and typing tells the room, within the server's throttle. After a message's
 * Reply it shows what the next message replies to, until sent or cancelled (Cancel reply,
 * or Escape in the box).
 */
import type { ChatClient, MessageId } from '../client/index.ts'
import { byId } from './dom.ts'
import { excerpt, type ShownMessage } from './message-item.ts'
import { asRequestError, plainError } from './plain-errors.ts'

/** Least time between two `typing` frames for one room (the server drops any within 1 s). */
const TYPING_EVERY_MS = 1100

/** What the composer asks of the page. */
export interface ComposerHooks {
  /** The id of the open room, if any. */
  active(): string | undefined
  client(): ChatClient | undefined
  nameOf(room: string): string
  /** Shows `text` in the alert region. */
  fail(text: string): void
  clearError(): void
}

export class Composer {
  /** Per room, when we last sent `typing`. */
  private readonly lastTyping = new Map<string, number>()
  private typingTimer: ReturnType<typeof setTimeout> | undefined

  private readonly message = byId('message', HTMLTextAreaElement)
  private readonly sendButton = byId('send', HTMLButtonElement)
  private readonly replyBar = byId('reply-bar', HTMLDivElement)
  private readonly replyText = byId('reply-text', HTMLSpanElement)
  /** The message the next one replies to, and its room. */
  private replying: { room: string; id: MessageId; label: string } | undefined

  constructor(private readonly hooks: ComposerHooks) {}

  wire(): void {
    const form = byId('composer', HTMLFormElement)
    this.message.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault()
        form.requestSubmit()
      } else if (e.key === 'Escape' && this.replying) {
        e.preventDefault()
        this.cancelReply()
      }
    })
    byId('reply-cancel', HTMLButtonElement).addEventListener('click', () => {
      this.cancelReply()
      this.focus()
    })
    this.message.addEventListener('input', () => this.typed())
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.send()
    })
  }

  focus(): void {
    this.message.focus()
  }

  /** The next message in `room` replies to `m`: say so above the box, and go to it. */
  replyTo(room: string, m: ShownMessage): void {
    this.replying = { room, id: m.id, label: `Replying to ${m.sender}: ${excerpt(m)}` }
    this.showReply()
    this.focus()
  }

  cancelReply(): void {
    this.replying = undefined
    this.showReply()
  }

  /** The page left `room`: a reply started there is dropped. */
  forgetRoom(room: string): void {
    if (this.replying?.room === room) this.cancelReply()
  }

  /** The open room changed: the reply bar shows only in the room it was made in. */
  showReply(): void {
    const shown = this.replying?.room === this.hooks.active() ? this.replying : undefined
    this.replyBar.hidden = !shown
    // Emptied when hidden: the message box is described by it.
    this.replyText.textContent = shown?.label ?? ''
  }

  /** Lets the message box and Send button be used, or not (when no room is open). */
  setEnabled(enabled: boolean): void {
    this.message.disabled = !enabled
    this.sendButton.disabled = !enabled
  }

  /**
   * Tells the room we type: at once, or, within the server's throttle of the last one
   * (a frame sooner would be dropped), when it has passed.
   */
  private typed(): void {
    const room = this.hooks.active()
    if (!room || !this.message.value.trim() || this.typingTimer !== undefined) return
    const wait = (this.lastTyping.get(room) ?? 0) + TYPING_EVERY_MS - Date.now()
    const tell = () => {
      this.typingTimer = undefined
      const client = this.hooks.client()
      if (this.hooks.active() !== room || !this.message.value.trim() || client?.state !== 'open')
        return
      this.lastTyping.set(room, Date.now())
      client.typing(room)
    }
    if (wait <= 0) tell()
    else this.typingTimer = setTimeout(tell, wait)
  }

  private async send(): Promise<void> {
    const room = this.hooks.active()
    const text = this.message.value
    const client = this.hooks.client()
    if (!room || !client || !text.trim()) return
    this.hooks.clearError()
    this.message.value = ''
    const replying = this.replying?.room === room ? this.replying : undefined
    if (replying) this.cancelReply()
    try {
      if (replying) await client.reply(room, replying.id, text)
      else await client.send(room, text)
    } catch (error) {
      const e = asRequestError(error)
      // Give the text back unless something new was typed meanwhile, and the reply with it
      // unless its original is gone.
      if (!this.message.value) {
        this.message.value = text
        if (replying && !this.replying && e.code !== 'message_not_found') {
          this.replying = replying
          this.showReply()
        }
      }
      this.hooks.fail(
        plainError(e.code, e.message, { room: this.hooks.nameOf(room), action: 'send' }),
      )
    }
  }
}
