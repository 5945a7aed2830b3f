import { describe, expect, it } from 'bun:test'
import { readState, windowed } from '../../src/chat/read-markers.ts'
import { formatId } from '../../src/domain/history.ts'
import type { StoredMessage } from '../../src/protocol/frames.ts'

const msg = (seq: number, sender: string, type: 'text' | 'system' = 'text'): StoredMessage => ({
  id: formatId(seq),
  type,
  sender,
  content: `m${seq}`,
  timestamp: seq,
  room_id: 'general',
})

describe('readState', () => {
  // Ids skip (edits and reactions take numbers from the same sequence): only order matters.
  const history = [
    msg(2, 'system', 'system'),
    msg(5, 'Bob'),
    msg(9, 'alice'),
    msg(14, 'bob'),
    msg(20, 'carol'),
  ]

  it('counts the kept text messages of others after the own marker, whatever ids were skipped', () => {
    const marks = { byName: { alice: 5, bob: 14 }, members: 3 }
    expect(readState(marks, 'alice', undefined, history, 100)).toEqual({
      read: { alice: formatId(5), bob: formatId(14) },
      unread: 2,
    })
    // No marker yet: every kept text message of others; own ones (any case) are not counted.
    expect(readState(marks, 'Carol', undefined, history, 100).unread).toBe(3)
  })

  it('counts a signed-in member’s messages as their own by user id', () => {
    const own = { ...msg(21, 'Someone'), user_id: 'u1' }
    const marks = { byName: {}, members: 1 }
    expect(readState(marks, 'Zed', 'u1', [...history, own], 100).unread).toBe(4)
  })

  it('shows only the own marker in a room above the limit', () => {
    const marks = { byName: { alice: 5, bob: 14 }, members: 3 }
    expect(readState(marks, 'alice', undefined, history, 2).read).toEqual({ alice: formatId(5) })
    expect(readState(marks, 'dave', undefined, history, 2).read).toEqual({})
  })
})

describe('windowed', () => {
  it('sends the first at once, then one trailing frame at the end of the window', () => {
    const mark = { sentAt: undefined as number | undefined, waiting: false }
    expect(windowed(mark, 1000, 1000)).toEqual({ is: 'now' })
    expect(windowed(mark, 1999, 1000)).toEqual({ is: 'later', at: 2000 })
    expect(mark.waiting).toBe(true)
    // While one waits, later moves ride on it.
    expect(windowed(mark, 1999, 1000)).toEqual({ is: 'later', at: 2000 })
    const quiet = { sentAt: 1000 as number | undefined, waiting: false }
    expect(windowed(quiet, 2000, 1000)).toEqual({ is: 'now' })
    expect(quiet.sentAt).toBe(2000)
  })
})
