import type { StoredMessage } from '../protocol/frames.ts'

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

/**
 * A room's most recent messages in a ring buffer, oldest first. Ids are the room's
 * sequence numbers, so the message with sequence `s` sits `s - firstSeq` places in.
 */
export class History {
  private readonly ring: (StoredMessage | undefined)[]
  private start = 0
  private size = 0
  /** Sequence number of the newest message ever stored (0 before the first). */
  lastSeq = 0

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity)
  }

  /** Sequence number the next message will get. */
  nextSeq(): number {
    return this.lastSeq + 1
  }

  push(message: StoredMessage): void {
    this.lastSeq += 1
    if (this.size < this.capacity) {
      this.ring[(this.start + this.size) % this.capacity] = message
      this.size += 1
    } else {
      this.ring[this.start] = message
      this.start = (this.start + 1) % this.capacity
    }
  }

  /** Sequence number of the oldest message still kept. */
  private firstSeq(): number {
    return this.lastSeq - this.size + 1
  }

  /** Kept messages with sequence in [fromSeq, toSeq), oldest first. */
  private range(fromSeq: number, toSeq: number): StoredMessage[] {
    const from = Math.max(fromSeq, this.firstSeq())
    const to = Math.min(toSeq, this.lastSeq + 1)
    const out: StoredMessage[] = []
    for (let s = from; s < to; s++) {
      out.push(this.ring[(this.start + s - this.firstSeq()) % this.capacity] as StoredMessage)
    }
    return out
  }

  /** Whether the message with this id is kept. */
  keeps(id: string): boolean {
    const seq = parseId(id)
    return seq !== undefined && seq >= this.firstSeq() && seq <= this.lastSeq && seq >= 1
  }

  /** Every kept message, oldest first. */
  all(): StoredMessage[] {
    return this.range(this.firstSeq(), this.lastSeq + 1)
  }

  /**
   * The messages after `seenSeq`, oldest first, and whether that is all of them
   * (false when some fell off the end of the buffer).
   */
  since(seenSeq: number): { messages: StoredMessage[]; complete: boolean } {
    return {
      messages: this.range(seenSeq + 1, this.lastSeq + 1),
      complete: seenSeq + 1 >= this.firstSeq(),
    }
  }

  /** Up to `limit` messages older than `beforeSeq` (newest ones), oldest first. */
  page(beforeSeq: number, limit: number): { messages: StoredMessage[]; hasMore: boolean } {
    const to = Math.min(beforeSeq, this.lastSeq + 1)
    const from = Math.max(to - limit, this.firstSeq())
    return { messages: this.range(from, to), hasMore: from > this.firstSeq() }
  }
}
