import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { type Config, defaultConfig } from '../../src/config.ts'
import type { Connection } from '../../src/domain/room.ts'
import { RoomStore } from '../../src/domain/room-store.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { FakePeer, Hub } from '../support/fake-peer.ts'
import { RecordingLogger } from '../support/logger.ts'
import { fastHasher } from '../support/server.ts'

const TTL = 300_000
const GRACE = 30_000
const TYPING = 5000
const UNJOINED = 60_000

let clock: FakeClock
let hub: Hub
let logger: RecordingLogger
let store: RoomStore

function makeStore(overrides: Partial<Config> = {}): RoomStore {
  return new RoomStore(
    defaultConfig({
      roomEmptyTtlMs: TTL,
      resumeGraceMs: GRACE,
      typingTimeoutMs: TYPING,
      unjoinedTimeoutMs: UNJOINED,
      presenceDiffMinMembers: 0,
      ...overrides,
    }),
    { clock, sink: hub, hasher: fastHasher, logger },
  )
}

function connect(): { peer: FakePeer; conn: Connection } {
  const peer = new FakePeer(hub)
  const conn = store.connect(peer)
  return { peer, conn }
}

/** A connection that has joined `room` as `username`. */
async function member(room: string, username: string) {
  const c = connect()
  await store.frames.join(c.conn, { action: 'join', room, username })
  return c
}

/** The transport saw the socket close. */
function drop(c: { peer: FakePeer; conn: Connection }): void {
  c.peer.close(1006, '')
  store.disconnect(c.conn)
}

function roomExists(id: string): boolean {
  try {
    store.room(id)
    return true
  } catch {
    return false
  }
}

beforeEach(() => {
  clock = new FakeClock()
  hub = new Hub()
  logger = new RecordingLogger()
  store = makeStore()
})

afterEach(() => {
  store.close()
  expect(clock.pendingTimers()).toBe(0)
  expect(logger.errors()).toEqual([])
})

describe('RoomStore empty rooms', () => {
  it('deletes a created room exactly ROOM_EMPTY_TTL_MS after its last member leaves', async () => {
    await store.createRoomView({ name: 'Lobby' }, '127.0.0.1')
    const alice = await member('lobby', 'alice')
    clock.advance(TTL * 2) // occupied: no timer runs
    expect(roomExists('lobby')).toBe(true)
    store.frames.leave(alice.conn, 'lobby', undefined)
    clock.advance(TTL - 1)
    expect(roomExists('lobby')).toBe(true)
    clock.advance(1)
    expect(roomExists('lobby')).toBe(false)
  })

  it('deletes a room nobody ever joined ROOM_EMPTY_TTL_MS after its creation', async () => {
    await store.createRoomView({ name: 'Ghost' }, '127.0.0.1')
    clock.advance(TTL - 1)
    expect(roomExists('ghost')).toBe(true)
    clock.advance(1)
    expect(roomExists('ghost')).toBe(false)
  })

  it('cancels the deletion when someone joins in the meantime, and restarts it on the next leave', async () => {
    await store.createRoomView({ name: 'Lobby' }, '127.0.0.1')
    clock.advance(TTL - 1)
    const bob = await member('lobby', 'bob')
    clock.advance(TTL * 2)
    expect(roomExists('lobby')).toBe(true)
    store.frames.leave(bob.conn, 'lobby', undefined)
    clock.advance(TTL - 1)
    expect(roomExists('lobby')).toBe(true)
    clock.advance(1)
    expect(roomExists('lobby')).toBe(false)
  })

  it('keeps a room while a dropped member is in their resume grace, and deletes it TTL after the grace', async () => {
    await store.createRoomView({ name: 'Lobby' }, '127.0.0.1')
    const alice = await member('lobby', 'alice')
    drop(alice)
    clock.advance(GRACE + TTL - 1)
    expect(roomExists('lobby')).toBe(true)
    clock.advance(1)
    expect(roomExists('lobby')).toBe(false)
  })

  it('never deletes the DEFAULT_ROOMS', async () => {
    store.close()
    store = makeStore({ defaultRooms: ['general', 'Help Desk'] })
    const alice = await member('general', 'alice')
    const bob = await member('help-desk', 'bob')
    store.frames.leave(alice.conn, 'general', undefined)
    store.frames.leave(bob.conn, 'help-desk', undefined)
    clock.advance(TTL * 10)
    expect(roomExists('general')).toBe(true)
    expect(roomExists('help-desk')).toBe(true)
  })
})

describe('RoomStore typing', () => {
  it('ends a typing indicator with active:false to the others TYPING_TIMEOUT_MS after the last typing frame', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    store.frames.typing(alice.conn, 'general')
    expect(bob.peer.take('typing')).toEqual([
      { type: 'typing', room: 'general', username: 'alice', active: true },
    ])
    clock.advance(TYPING - 1)
    expect(bob.peer.take('typing')).toEqual([])
    clock.advance(1)
    expect(bob.peer.take('typing')).toEqual([
      { type: 'typing', room: 'general', username: 'alice', active: false },
    ])
    expect(alice.peer.take('typing')).toEqual([])
  })

  it('restarts the timeout on each typing frame', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    store.frames.typing(alice.conn, 'general')
    clock.advance(TYPING - 1000)
    store.frames.typing(alice.conn, 'general')
    clock.advance(TYPING - 1)
    expect(bob.peer.take('typing').map((f) => f.active)).toEqual([true, true])
    clock.advance(1)
    expect(bob.peer.take('typing').map((f) => f.active)).toEqual([false])
  })

  it("ends a dropped typist's indicator at once, without a timer left behind", async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    store.frames.typing(alice.conn, 'general')
    bob.peer.take('typing')
    drop(alice)
    expect(bob.peer.take('typing')).toEqual([
      { type: 'typing', room: 'general', username: 'alice', active: false },
    ])
    clock.advance(TYPING)
    expect(bob.peer.take('typing')).toEqual([])
  })
})

describe('RoomStore resume grace', () => {
  it('shows a dropped user offline at once and keeps their name during the grace', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    drop(alice)
    expect(bob.peer.take('presence')).toEqual([
      { type: 'presence', room: 'general', username: 'alice', status: 'offline' },
    ])
    expect((await store.roomDetails('general')).users).toContainEqual({
      username: 'alice',
      status: 'offline',
      moderator: false,
    })
    const carol = connect()
    await expect(
      store.frames.join(carol.conn, { action: 'join', room: 'general', username: 'ALICE' }),
    ).rejects.toMatchObject({ code: 'username_taken' })
  })

  it('removes the user for good at the end of the grace, not one ms before', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    drop(alice)
    clock.advance(GRACE - 1)
    expect(bob.peer.take('user_left')).toEqual([])
    expect((await store.roomDetails('general')).users?.map((u) => u.username)).toContain('alice')
    clock.advance(1)
    expect(bob.peer.take('user_left')).toEqual([
      { type: 'user_left', room: 'general', username: 'alice' },
    ])
    expect((await store.roomDetails('general')).users?.map((u) => u.username)).toEqual(['bob'])
    const last = store.room('general').history.all().at(-1)
    expect(last).toMatchObject({ type: 'system', sender: 'system', content: 'alice left' })
  })

  it('refuses the expired session token', async () => {
    const alice = await member('general', 'alice')
    const token = alice.peer.take('welcome')[0]?.session as string
    drop(alice)
    clock.advance(GRACE)
    const again = connect()
    expect(() => store.resume(again.conn, { action: 'resume', session: token })).toThrow(
      expect.objectContaining({ code: 'not_authorized' }),
    )
  })

  it('stops the grace timer on resume and tells the others the user is online again', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const token = alice.peer.take('welcome')[0]?.session as string
    drop(alice)
    bob.peer.take('presence')
    const again = connect()
    store.resume(again.conn, { action: 'resume', session: token })
    expect(again.peer.take('resumed')).toMatchObject([
      { room: 'general', username: 'alice', recovered: true },
    ])
    expect(bob.peer.take('presence')).toEqual([
      { type: 'presence', room: 'general', username: 'alice', status: 'online' },
    ])
    clock.advance(GRACE * 2)
    expect(bob.peer.take('user_left')).toEqual([])
  })
})

describe('RoomStore unjoined connections', () => {
  it('closes a connection that joins no room within UNJOINED_TIMEOUT_MS with 4000', () => {
    const idle = connect()
    clock.advance(UNJOINED - 1)
    expect(idle.peer.closedWith).toBeUndefined()
    clock.advance(1)
    expect(idle.peer.closedWith?.code).toBe(4000)
  })

  it('leaves a connection open once it has joined a room', async () => {
    const alice = await member('general', 'alice')
    clock.advance(UNJOINED * 2)
    expect(alice.peer.closedWith).toBeUndefined()
  })

  it('restarts the countdown when the connection leaves its last room', async () => {
    const alice = await member('general', 'alice')
    clock.advance(UNJOINED)
    store.frames.leave(alice.conn, 'general', undefined)
    clock.advance(UNJOINED - 1)
    expect(alice.peer.closedWith).toBeUndefined()
    clock.advance(1)
    expect(alice.peer.closedWith?.code).toBe(4000)
  })
})

describe('RoomStore close', () => {
  it('clears every pending timer: empty rooms, grace, typing, unjoined', async () => {
    await store.createRoomView({ name: 'Lobby' }, '127.0.0.1')
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    connect() // unjoined timer
    store.frames.typing(bob.conn, 'general') // typing timer
    drop(alice) // grace timer
    expect(clock.pendingTimers()).toBeGreaterThanOrEqual(4)
    store.close()
    expect(clock.pendingTimers()).toBe(0)
  })
})

describe('RoomStore drain', () => {
  it('tells each connection to come back after a spread delay, closes it with 1001, and refuses new rooms', async () => {
    const peers = [connect(), connect(), connect(), connect(), connect()]
    store.drain()
    const delays = peers.map((p) => p.peer.take('shutdown')[0]?.reconnect_in_ms as number)
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(1000)
      expect(d).toBeLessThan(1000 + 5000)
    }
    expect(new Set(delays).size).toBeGreaterThan(1)
    expect(peers.map((p) => p.peer.closedWith?.code)).toEqual([1001, 1001, 1001, 1001, 1001])
    await expect(store.createRoomView({ name: 'Late' }, '127.0.0.1')).rejects.toMatchObject({
      code: 'shutting_down',
    })
    expect(() => store.checkUpgrade('127.0.0.1')).toThrow(
      expect.objectContaining({ code: 'shutting_down' }),
    )
    for (const p of peers) store.disconnect(p.conn)
  })
})
