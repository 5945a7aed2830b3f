import { describe, expect, it } from 'bun:test'
import { formatId, History, parseId, seqOfEntry } from '../../src/domain/history.ts'
import type { LogEntry, StoredMessage } from '../../src/protocol/frames.ts'

function message(seq: number): StoredMessage {
  return {
    id: formatId(seq),
    type: 'text',
    sender: 'alice',
    content: `m${seq}`,
    timestamp: seq,
    room_id: 'general',
  }
}

/** A history of `capacity` holding messages 1..count. */
function filled(count: number, capacity = 100): History {
  const h = new History(capacity)
  for (let s = 1; s <= count; s++) h.push(message(s))
  return h
}

const seqs = (ms: LogEntry[]) => ms.map(seqOfEntry)

describe('message ids', () => {
  it('are 12-digit zero-padded sequence numbers that parse back', () => {
    expect(formatId(42)).toBe('000000000042')
    expect(parseId('000000000042')).toBe(42)
    expect(parseId('42')).toBe(42)
  })

  it('reject anything but digits', () => {
    expect(parseId('')).toBeUndefined()
    expect(parseId('-1')).toBeUndefined()
    expect(parseId('1e3')).toBeUndefined()
    expect(parseId('abc')).toBeUndefined()
  })
})

describe('History', () => {
  it('keeps every message, oldest first, while under capacity', () => {
    const h = filled(3)
    expect(seqs(h.all())).toEqual([1, 2, 3])
    expect(h.nextSeq()).toBe(4)
  })

  it('keeps only the newest 100, oldest first, once more were stored', () => {
    const h = filled(250)
    const kept = h.all()
    expect(kept).toHaveLength(100)
    expect(seqs(kept)).toEqual(Array.from({ length: 100 }, (_, i) => 151 + i))
  })

  describe('since', () => {
    it('returns exactly the messages after the last seen one, complete', () => {
      const h = filled(10)
      expect(h.since(7)).toEqual({
        messages: [message(8), message(9), message(10)],
        complete: true,
      })
    })

    it('is empty and complete when nothing was missed', () => {
      expect(filled(10).since(10)).toEqual({ messages: [], complete: true })
    })

    it('is complete when the first missed message is the oldest kept', () => {
      const h = filled(150) // keeps 51..150
      const { messages, complete } = h.since(50)
      expect(complete).toBe(true)
      expect(seqs(messages)).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i))
    })

    it('is incomplete, with every kept message, when the gap reaches past the kept ones', () => {
      const h = filled(150) // keeps 51..150
      const { messages, complete } = h.since(49)
      expect(complete).toBe(false)
      expect(seqs(messages)).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i))
    })

    it('treats a client that saw nothing as complete only while nothing has dropped off', () => {
      expect(filled(100).since(0).complete).toBe(true)
      expect(filled(101).since(0).complete).toBe(false)
    })
  })

  describe('page', () => {
    it('returns the newest `limit` messages before an id, oldest first, and whether older ones remain', () => {
      const h = filled(30)
      expect(seqs(h.page(Number.MAX_SAFE_INTEGER, 10).messages)).toEqual([
        21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
      ])
      const page = h.page(21, 10)
      expect(seqs(page.messages)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
      expect(page.hasMore).toBe(true)
    })

    it('walks back to the oldest kept message and then says there is no more', () => {
      const h = filled(130) // keeps 31..130
      const seen: number[] = []
      let before = Number.MAX_SAFE_INTEGER
      for (let i = 0; i < 10; i++) {
        const { messages, hasMore } = h.page(before, 40)
        seen.unshift(...seqs(messages))
        if (!hasMore) break
        before = Number(messages[0]?.id)
      }
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => 31 + i))
    })

    it('is empty before the oldest kept message', () => {
      expect(filled(130).page(31, 10)).toEqual({ messages: [], hasMore: false })
    })
  })
})
