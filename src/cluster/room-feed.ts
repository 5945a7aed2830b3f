/**
 * One room's stream of events as this node receives it from Redis, turned into deliveries
 * to the node's own members in sequence order: duplicates dropped, gaps filled from the
 * shared history (or, past it, the members told `recovered: false`), and newcomers
 * subscribed exactly at the point of the stream their `joined` or `resumed` left off.
 */
import type { RoomId } from '../protocol/frames.ts'
import type { RoomMeta } from './cluster-rooms.ts'

/** A parsed room channel message; see the envelope in scripts.ts. */
export interface Envelope {
  kind: 's' | 'e' | 'd'
  seq: number
  origin: string
  /** Member count after the change, or -1 when unchanged. */
  count: number
  /** `userkey\thow\tby\tuntil` for moderation acts, else ''. */
  target: string
  /** Server frames as JSON, one per line. */
  payload: string
}

export function parseEnvelope(text: string): Envelope | undefined {
  const fields: string[] = []
  let at = 0
  for (let i = 0; i < 5; i++) {
    const bar = text.indexOf('|', at)
    if (bar < 0) return undefined
    fields.push(text.slice(at, bar))
    at = bar + 1
  }
  const [kind, seq, origin, count, target] = fields as [string, string, string, string, string]
  if (kind !== 's' && kind !== 'e' && kind !== 'd') return undefined
  return {
    kind,
    seq: Number(seq),
    origin,
    count: count === '-' ? -1 : Number(count),
    target,
    payload: text.slice(at),
  }
}

/** Someone waiting to be subscribed once the stream has delivered `seq`. */
interface Waiter {
  seq: number
  admit(): void
}

/** Envelopes held while the feed starts or fills a gap; past this the feed resyncs instead. */
const MAX_BUFFERED = 10_000

/** What a feed needs from the node. */
export interface FeedHost {
  /** Sends one sequenced entry (its frames, after acting on its target) to the local members. */
  deliver(room: RoomId, entry: Envelope): void
  /**
   * Reads the history after the feed's position and brings it up to date; `lazy`: only if
   * a newcomer still waits a moment from now (the stream usually gets there first).
   */
  requestSync(feed: RoomFeed, lazy?: boolean): void
}

export class RoomFeed {
  /** Local members and joins in progress that keep the subscription. */
  refs = 0
  /** Last sequence delivered here; undefined until the feed has its starting point. */
  lastSeq: number | undefined
  /** Members in the room on all nodes, as last reported (for presence batching). */
  memberCount = 0
  /** Set while a sync runs or is due: sequenced entries wait in `buffer`. */
  syncing = false
  private buffer: Envelope[] = []
  private waiters: Waiter[] = []
  /** Callbacks of `when`, each waiting for the stream to reach its `seq`. */
  private landmarks: Waiter[] = []
  /** Recent sequenced entries, so a newcomer whose script ran behind the stream can catch up. */
  private recent: Envelope[] = []
  ready: Promise<void> | undefined
  /** The room's registry entry, kept to put it back if Redis loses it. */
  meta: RoomMeta | undefined

  constructor(
    readonly room: RoomId,
    private readonly host: FeedHost,
    private readonly keep: number,
  ) {}

  /** The subscription is live and the room's sequence was `seq` at or after that point. */
  start(seq: number): void {
    this.lastSeq = seq
    this.flush()
  }

  /** A message from the room channel (sequenced ones only; events are delivered directly). */
  receive(entry: Envelope): void {
    if (entry.count >= 0) this.memberCount = entry.count
    if (this.lastSeq === undefined || this.syncing) {
      this.hold(entry)
      return
    }
    if (entry.seq <= this.lastSeq) return
    if (entry.seq > this.lastSeq + 1) {
      this.hold(entry)
      this.syncing = true
      this.host.requestSync(this)
      return
    }
    this.apply(entry)
  }

  private hold(entry: Envelope): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      // Too far behind to buffer: drop the buffer and let the sync read it all from history.
      this.buffer = []
      if (!this.syncing && this.lastSeq !== undefined) {
        this.syncing = true
        this.host.requestSync(this)
      }
      return
    }
    this.buffer.push(entry)
  }

  private apply(entry: Envelope): void {
    this.host.deliver(this.room, entry)
    this.lastSeq = entry.seq
    this.recent.push(entry)
    if (this.recent.length > this.keep) this.recent.shift()
    this.release()
  }

  /** Entries from a sync (history), in order; then whatever arrived meanwhile. */
  catchUp(entries: Envelope[]): void {
    for (const e of entries) if (this.lastSeq === undefined || e.seq > this.lastSeq) this.apply(e)
    this.syncing = false
    this.flush()
  }

  /** Skips to `seq` without delivering what lies before (lost: the members were told). */
  skipTo(seq: number): void {
    if (this.lastSeq === undefined || seq > this.lastSeq) this.lastSeq = seq
    this.recent = []
    this.release()
  }

  private flush(): void {
    const held = this.buffer.sort((a, b) => a.seq - b.seq)
    this.buffer = []
    for (const e of held) {
      if (this.lastSeq === undefined || this.syncing) {
        this.buffer.push(e)
        continue
      }
      if (e.seq <= this.lastSeq) continue
      if (e.seq > this.lastSeq + 1) {
        this.buffer.push(e)
        this.syncing = true
        this.host.requestSync(this)
        continue
      }
      this.apply(e)
    }
    this.release()
  }

  /**
   * Subscribes a newcomer whose `joined`/`resumed` carried the room up to `seq`: at once if
   * the stream is there (after sending what it delivered since, from `recent`), or as soon
   * as it gets there. `send` sends one entry to the newcomer alone.
   */
  admit(seq: number, send: (entry: Envelope) => void, subscribe: () => void): void {
    if (this.lastSeq !== undefined && seq <= this.lastSeq) {
      for (const e of this.recent) if (e.seq > seq) send(e)
      subscribe()
      return
    }
    this.waiters.push({ seq, admit: subscribe })
    // Its entry is normally in flight on the stream; if not, the history has it.
    this.host.requestSync(this, true)
  }

  /**
   * Calls `reached` once the stream has delivered `seq` here (at once if it has), or when
   * the feed is cleared: a leaver is unsubscribed only after everything sent before their
   * leave, as on one node.
   */
  when(seq: number, reached: () => void): void {
    if (this.lastSeq !== undefined && seq <= this.lastSeq) {
      reached()
      return
    }
    this.landmarks.push({ seq, admit: reached })
    this.host.requestSync(this, true)
  }

  private release(): void {
    if (this.landmarks.length > 0 && this.lastSeq !== undefined) {
      const last = this.lastSeq
      const due = this.landmarks.filter((w) => w.seq <= last)
      if (due.length > 0) {
        this.landmarks = this.landmarks.filter((w) => w.seq > last)
        for (const w of due) w.admit()
      }
    }
    if (this.waiters.length === 0 || this.lastSeq === undefined) return
    const last = this.lastSeq
    const due = this.waiters.filter((w) => w.seq <= last)
    if (due.length === 0) return
    this.waiters = this.waiters.filter((w) => w.seq > last)
    for (const w of due) w.admit()
  }

  /** The furthest sequence a newcomer or a leaver waits for the stream to reach, if any. */
  waitingFor(): number | undefined {
    let most: number | undefined
    for (const w of [...this.waiters, ...this.landmarks])
      if (this.lastSeq === undefined || w.seq > this.lastSeq) most = Math.max(most ?? 0, w.seq)
    return most
  }

  get waiting(): boolean {
    return this.waiters.length > 0 || this.landmarks.length > 0
  }

  /** Forgets everything (the room was deleted, or no member is left here). */
  clear(): void {
    this.buffer = []
    this.waiters = []
    this.recent = []
    const landmarks = this.landmarks
    this.landmarks = []
    for (const w of landmarks) w.admit()
  }
}
