/**
 * RoomFeed: a room's stream on one node, delivered in sequence order, duplicates dropped,
 * gaps handed to a sync, newcomers subscribed exactly where their `joined` left off.
 */
import { describe, expect, it } from 'bun:test'
import {
  type Envelope,
  type FeedHost,
  parseEnvelope,
  RoomFeed,
} from '../../src/cluster/room-feed.ts'

function entry(seq: number, payload = `{"n":${seq}}`): Envelope {
  return { kind: 's', seq, origin: 'n1', count: -1, target: '', payload }
}

class Host implements FeedHost {
  delivered: number[] = []
  syncs: { lazy: boolean }[] = []
  deliver(_room: string, e: Envelope): void {
    this.delivered.push(e.seq)
  }
  requestSync(_feed: RoomFeed, lazy = false): void {
    this.syncs.push({ lazy })
  }
}

function started(at = 0): { feed: RoomFeed; host: Host } {
  const host = new Host()
  const feed = new RoomFeed('general', host, 100)
  feed.start(at)
  return { feed, host }
}

describe('parseEnvelope', () => {
  it('reads the header fields and keeps the payload whole, bars and newlines included', () => {
    expect(parseEnvelope('s|42|node-1|3|bob\tbanned\talice\t0|{"a":"x|y"}\n{"b":1}')).toEqual({
      kind: 's',
      seq: 42,
      origin: 'node-1',
      count: 3,
      target: 'bob\tbanned\talice\t0',
      payload: '{"a":"x|y"}\n{"b":1}',
    })
    expect(parseEnvelope('e|0|-|-||{}')?.count).toBe(-1)
  })

  it('refuses what is not an envelope', () => {
    expect(parseEnvelope('probe|1')).toBeUndefined()
    expect(parseEnvelope('x|1|n|1||{}')).toBeUndefined()
  })
})

describe('RoomFeed', () => {
  it('delivers in sequence and drops what it already delivered', () => {
    const { feed, host } = started(5)
    feed.receive(entry(6))
    feed.receive(entry(6))
    feed.receive(entry(5))
    feed.receive(entry(7))
    expect(host.delivered).toEqual([6, 7])
    expect(host.syncs).toEqual([])
  })

  it('holds everything behind a gap until the sync has filled it, then goes on in order', () => {
    const { feed, host } = started(1)
    feed.receive(entry(2))
    feed.receive(entry(4))
    feed.receive(entry(5))
    expect(host.delivered).toEqual([2])
    expect(host.syncs).toEqual([{ lazy: false }])
    feed.catchUp([entry(3), entry(4)])
    expect(host.delivered).toEqual([2, 3, 4, 5])
    feed.receive(entry(6))
    expect(host.delivered).toEqual([2, 3, 4, 5, 6])
  })

  it('holds the stream until it has its starting point', () => {
    const host = new Host()
    const feed = new RoomFeed('general', host, 100)
    feed.receive(entry(3))
    feed.receive(entry(4))
    expect(host.delivered).toEqual([])
    feed.start(3)
    expect(host.delivered).toEqual([4])
  })

  it('subscribes a newcomer only once the stream has delivered what its joined carried', () => {
    const { feed } = started(10)
    const events: string[] = []
    feed.admit(
      12,
      (e) => events.push(`send ${e.seq}`),
      () => events.push('subscribe'),
    )
    expect(events).toEqual([])
    feed.receive(entry(11))
    expect(events).toEqual([])
    feed.receive(entry(12))
    expect(events).toEqual(['subscribe'])
  })

  it('sends a newcomer whose joined is behind the stream what it missed, alone, then subscribes it', () => {
    const { feed } = started(10)
    feed.receive(entry(11))
    feed.receive(entry(12))
    feed.receive(entry(13))
    const events: string[] = []
    feed.admit(
      11,
      (e) => events.push(`send ${e.seq}`),
      () => events.push('subscribe'),
    )
    expect(events).toEqual(['send 12', 'send 13', 'subscribe'])
  })

  it('asks for a lazy sync for a waiting newcomer, in case its entry never comes', () => {
    const { feed, host } = started(10)
    feed.admit(
      11,
      () => {},
      () => {},
    )
    expect(host.syncs).toEqual([{ lazy: true }])
    expect(feed.waiting).toBe(true)
  })

  it('says how far its waiters wait, so a lazy sync reads no further (later entries may be in flight)', () => {
    const { feed } = started(10)
    expect(feed.waitingFor()).toBeUndefined()
    feed.admit(
      12,
      () => {},
      () => {},
    )
    feed.when(14, () => {})
    expect(feed.waitingFor()).toBe(14)
    feed.receive(entry(11))
    feed.receive(entry(12))
    expect(feed.waitingFor()).toBe(14)
    feed.receive(entry(13))
    feed.receive(entry(14))
    // Nobody waits any more: the lazy sync that was asked for has nothing to do.
    expect(feed.waitingFor()).toBeUndefined()
  })

  it('skips what the history no longer has and releases the waiters past it', () => {
    const { feed } = started(1)
    let subscribed = false
    feed.admit(
      50,
      () => {},
      () => {
        subscribed = true
      },
    )
    feed.skipTo(60)
    expect(subscribed).toBe(true)
    expect(feed.lastSeq).toBe(60)
  })

  it('keeps only a bounded buffer while it waits, and asks to resync past it', () => {
    const { feed, host } = started(0)
    feed.receive(entry(2))
    for (let s = 3; s < 10_010; s++) feed.receive(entry(s))
    expect(host.delivered).toEqual([])
    feed.catchUp([entry(1), entry(2), entry(3)])
    expect(host.delivered).toEqual([1, 2, 3])
    // What was dropped comes from the history: the feed asked for another sync.
    expect(host.syncs.length).toBe(2)
  })
})
