import { isChange, type LogEntry, type StoredMessage } from '../protocol/frames.ts'

/** Width of message ids: zero-padded so ids sort the same as strings and as numbers. */
const ID_WIDTH = 12

/** Formats a room's sequence number as a message id ("000000000042"). */
export function formatId(seq: number): string {
  return String(seq).padStart(ID_WIDTH, '0')
}

/** Parses a message id back to its sequence number; undefined when it is not one. */
export function parseId(id: string): number | undefined {
  if (!/^\d{1,16}$/.test(id)) return undefined
  return Number(id)
}

/** An entry's place in the room's sequence. */
export function seqOfEntry(entry: LogEntry): number {
  return isChange(entry) ? entry.seq : Number(entry.id)
}

/**
 * A room's log in a ring buffer, oldest first: its most recent messages (each in its latest
 * state) and the changes made to them (edits, deletes, reactions), every entry with the
 * next number of the room's sequence, so the entry with sequence `s` sits `s - firstSeq`
 * places in. A message's id is its sequence number.
 */
export class History {
  private readonly ring: (LogEntry | undefined)[]
  private start = 0
  private size = 0
  /** Sequence number of the newest entry ever stored (0 before the first). */
  lastSeq = 0

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity)
  }

  /** Sequence number the next entry will get. */
  nextSeq(): number {
    return this.lastSeq + 1
  }

  push(entry: LogEntry): void {
    this.lastSeq += 1
    if (this.size < this.capacity) {
      this.ring[(this.start + this.size) % this.capacity] = entry
      this.size += 1
    } else {
      this.ring[this.start] = entry
      this.start = (this.start + 1) % this.capacity
    }
  }

  /** Sequence number of the oldest entry still kept. */
  private firstSeq(): number {
    return this.lastSeq - this.size + 1
  }

  private at(seq: number): LogEntry {
    return this.ring[(this.start + seq - this.firstSeq()) % this.capacity] as LogEntry
  }

  /** Kept entries with sequence in [fromSeq, toSeq), oldest first. */
  private range(fromSeq: number, toSeq: number): LogEntry[] {
    const from = Math.max(fromSeq, this.firstSeq())
    const to = Math.min(toSeq, this.lastSeq + 1)
    const out: LogEntry[] = []
    for (let s = from; s < to; s++) out.push(this.at(s))
    return out
  }

  /** The kept message with this id (a tombstone, if deleted), or undefined. */
  find(id: string): StoredMessage | undefined {
    const seq = parseId(id)
    if (seq === undefined || seq < 1 || seq < this.firstSeq() || seq > this.lastSeq)
      return undefined
    const entry = this.at(seq)
    return isChange(entry) ? undefined : entry
  }

  /** Whether the message with this id is kept. */
  keeps(id: string): boolean {
    return this.find(id) !== undefined
  }

  /** Every kept entry, oldest first. */
  all(): LogEntry[] {
    return this.range(this.firstSeq(), this.lastSeq + 1)
  }

  /** Every kept message (in its latest state), oldest first. */
  messages(): StoredMessage[] {
    return this.all().filter((e): e is StoredMessage => !isChange(e))
  }

  /**
   * The entries after `seenSeq`, oldest first, and whether that is all of them (false when
   * some fell off the end of the buffer).
   */
  since(seenSeq: number): { messages: LogEntry[]; complete: boolean } {
    return {
      messages: this.range(seenSeq + 1, this.lastSeq + 1),
      complete: seenSeq + 1 >= this.firstSeq(),
    }
  }

  /** Up to `limit` messages older than `beforeSeq` (newest ones), oldest first. */
  page(beforeSeq: number, limit: number): { messages: StoredMessage[]; hasMore: boolean } {
    const older = this.range(this.firstSeq(), beforeSeq).filter(
      (e): e is StoredMessage => !isChange(e),
    )
    const from = Math.max(0, older.length - limit)
    return { messages: older.slice(from), hasMore: from > 0 }
  }
}
