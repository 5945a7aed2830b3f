/**
 * Typing indicators, once for both engines: a typing frame shows the member as typing to
 * the others until TYPING_TIMEOUT_MS after their last one, with at most one broadcast per
 * TYPING_THROTTLE_MS; it ends early when they send a message, leave, are muted or go
 * away. A muted member's typing is never shown. Typing is never stored: it lives on the
 * node that holds the member.
 */
import type { Config } from '../config.ts'
import type { Clock, TimerHandle } from '../domain/clock.ts'
import type { RoomId, ServerFrame } from '../protocol/frames.ts'

/** A member's typing state, made at their first typing frame (most members never type). */
export interface TypingState {
  /** Shown as typing to the others until `timer` fires. */
  typing: boolean
  timer: TimerHandle | undefined
  lastBroadcastAt: number
}

/** A member as typing sees them: their name and, once they have typed, their typing state. */
export interface Typist {
  readonly username: string
  typingState: TypingState | undefined
}

export class Typing<T extends Typist> {
  constructor(
    private readonly config: Pick<Config, 'typingTimeoutMs' | 'typingThrottleMs'>,
    private readonly clock: Clock,
    private readonly roomOf: (typist: T) => RoomId,
    /** Sends a typing frame to the typist's room, all but the typist. */
    private readonly tell: (typist: T, frame: ServerFrame) => void,
  ) {}

  /** The member typed; `mutedUntil` is the end of their mute in this room (0: none). */
  typed(typist: T, mutedUntil: number): void {
    const now = this.clock.now()
    if (mutedUntil > now) return
    this.clear(typist)
    typist.typingState ??= { typing: false, timer: undefined, lastBroadcastAt: -Infinity }
    const state = typist.typingState
    state.timer = this.clock.setTimeout(() => {
      state.timer = undefined
      this.stop(typist)
    }, this.config.typingTimeoutMs)
    if (now - state.lastBroadcastAt < this.config.typingThrottleMs) return
    state.lastBroadcastAt = now
    state.typing = true
    this.send(typist, true)
  }

  /** Ends the indicator, telling the others if it was showing. */
  stop(typist: T): void {
    this.clear(typist)
    const state = typist.typingState
    if (!state?.typing) return
    state.typing = false
    this.send(typist, false)
  }

  /** Cancels the timer without telling anyone (the member is being forgotten). */
  clear(typist: T): void {
    const state = typist.typingState
    if (state?.timer === undefined) return
    this.clock.clearTimeout(state.timer)
    state.timer = undefined
  }

  private send(typist: T, active: boolean): void {
    const frame: ServerFrame = {
      type: 'typing',
      room: this.roomOf(typist),
      username: typist.username,
      active,
    }
    this.tell(typist, frame)
  }
}
