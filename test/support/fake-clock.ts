import type { Clock, TimerHandle } from '../../src/domain/clock.ts'

interface Timer {
  id: number
  at: number
  fn: () => void
}

/** A Clock whose time moves only when the test says so. */
export class FakeClock implements Clock {
  private time: number
  private nextId = 1
  private timers = new Map<number, Timer>()

  constructor(start = 1_700_000_000_000) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number)
  }

  /** Moves time forward, firing due timers in order (timers they set fire too, if due). */
  advance(ms: number): void {
    const until = this.time + ms
    for (;;) {
      let due: Timer | undefined
      for (const t of this.timers.values()) if (t.at <= until && (!due || t.at < due.at)) due = t
      if (!due) break
      this.timers.delete(due.id)
      this.time = due.at
      due.fn()
    }
    this.time = until
  }

  /** Timers still scheduled: a leak check after cleanup. */
  pendingTimers(): number {
    return this.timers.size
  }
}
