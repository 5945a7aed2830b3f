import { beforeEach, describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import type { Frame } from '../support/ws-client.ts'

const { serve, restart, connect, member, http, createRoom } = useServer()

beforeEach(() => {
  serve()
})

describe('messages', () => {
  it('delivers a message to every member, the sender included', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const toAlice = alice.next('message')
    const toBob = bob.next('message')
    alice.send({ action: 'message', room: 'general', content: 'Hello!' })
    const [a, b] = await Promise.all([toAlice, toBob])
    expect(b).toMatchObject({
      type: 'message',
      room: 'general',
      sender: 'alice',
      content: 'Hello!',
    })
    expect(a).toEqual(b)
    expect(typeof b.id).toBe('string')
    expect(Math.abs(b.ts - Date.now())).toBeLessThan(5000)
  })

  it('keeps two rooms apart', async () => {
    await createRoom({ name: 'Random' })
    const alice = await member('general', 'alice')
    const bob = await member('random', 'bob')
    alice.send({ action: 'message', room: 'general', content: 'in general' })
    bob.send({ action: 'message', room: 'random', content: 'in random' })
    expect((await alice.next('message')).content).toBe('in general')
    expect((await bob.next('message')).content).toBe('in random')
    expect((await alice.sync()).filter((f) => f.type === 'message')).toEqual([])
    expect((await bob.sync()).filter((f) => f.type === 'message')).toEqual([])
  })

  it('gives increasing ids within a room', async () => {
    const alice = await member('general', 'alice')
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      alice.send({ action: 'message', room: 'general', content: `m${i}` })
      ids.push((await alice.next('message')).id)
    }
    expect([...ids].sort()).toEqual(ids)
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((x, y) => x - y))
    expect(new Set(ids).size).toBe(5)
  })

  it("handles one connection's frames in the order they were sent", async () => {
    const alice = await connect()
    // join, then message right behind it: the message must see the join done.
    alice.send({ action: 'join', room: 'general', username: 'alice' })
    alice.send({ action: 'message', room: 'general', content: 'first' })
    alice.send({ action: 'leave', room: 'general' })
    const frames: Frame[] = []
    for (const type of ['joined', 'message', 'left']) frames.push(await alice.next(type))
    expect(frames.map((f) => f.type)).toEqual(['joined', 'message', 'left'])
    expect(alice.frames.filter((f) => f.type === 'error')).toEqual([])
  })

  it('accepts a room name where an id is expected, replying with the id', async () => {
    await createRoom({ name: 'Team Chat' })
    const alice = await connect()
    const joined = await alice.join('Team Chat', 'alice')
    expect(joined.room).toBe('team-chat')
    alice.send({ action: 'message', room: 'Team Chat', content: 'by name' })
    expect(await alice.next('message')).toMatchObject({ room: 'team-chat', content: 'by name' })
  })

  it('lets one connection be in several rooms under a name in each', async () => {
    await createRoom({ name: 'Random' })
    const alice = await connect()
    await alice.join('general', 'alice')
    await alice.join('random', 'Alice in Random')
    alice.send({ action: 'message', room: 'random', content: 'hi' })
    expect(await alice.next('message')).toMatchObject({ room: 'random', sender: 'Alice in Random' })
  })
})

describe('presence', () => {
  it('sends the joiner the user list and tells the others', async () => {
    const alice = await member('general', 'alice')
    const joined = alice.next('user_joined')
    const bob = await connect()
    const reply = await bob.join('general', 'bob')
    expect(reply).toMatchObject({
      type: 'joined',
      room: 'general',
      username: 'bob',
      moderator: false,
    })
    expect(reply.ref).toMatch(/^join-/)
    expect(reply.users).toEqual([
      { username: 'alice', status: 'online', moderator: false },
      { username: 'bob', status: 'online', moderator: false },
    ])
    expect(await joined).toEqual({ type: 'user_joined', room: 'general', username: 'bob' })
    expect((await bob.sync()).filter((f) => f.type === 'user_joined')).toEqual([])
  })

  it('tells the others on leave and on disconnect, and updates the user list', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const carol = await member('general', 'carol')
    const bobLeft = alice.next('user_left', (f) => f.username === 'bob')
    const left = await bob.request({ action: 'leave', room: 'general' }, ['left'])
    expect(left).toMatchObject({ type: 'left', room: 'general' })
    expect(await bobLeft).toEqual({ type: 'user_left', room: 'general', username: 'bob' })

    // A dropped user first shows offline (resume grace), then leaves when it runs out.
    const carolOffline = alice.next('presence', (f) => f.username === 'carol')
    carol.close()
    expect(await carolOffline).toMatchObject({ status: 'offline' })
    const details = (await (await http('/rooms/general')).json()) as Frame
    expect(details.users).toEqual([
      { username: 'alice', status: 'online', moderator: false },
      { username: 'carol', status: 'offline', moderator: false },
    ])
  })

  it('tells the others user_left at once on disconnect when RESUME_GRACE_MS is 0', async () => {
    await restart({ resumeGraceMs: 0 })
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const left = alice.next('user_left')
    bob.close()
    expect(await left).toEqual({ type: 'user_left', room: 'general', username: 'bob' })
    expect(alice.frames.filter((f) => f.type === 'presence')).toEqual([])
    const details = (await (await http('/rooms/general')).json()) as Frame
    expect(details.users.map((u: Frame) => u.username)).toEqual(['alice'])
  })

  it('shows typing to the others only, and ends it when the typist sends', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const typing = bob.next('typing')
    alice.send({ action: 'typing', room: 'general' })
    expect(await typing).toEqual({
      type: 'typing',
      room: 'general',
      username: 'alice',
      active: true,
    })
    expect((await alice.sync()).filter((f) => f.type === 'typing')).toEqual([])
    const stopped = bob.next('typing')
    const message = bob.next('message')
    alice.send({ action: 'message', room: 'general', content: 'done typing' })
    expect(await stopped).toMatchObject({ username: 'alice', active: false })
    await message
    const order = bob.frames
      .filter((f) => f.type === 'typing' || f.type === 'message')
      .map((f) => f.type)
    expect(order).toEqual(['typing', 'typing', 'message'])
  })

  it('ends typing when the typist leaves or disconnects', async () => {
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    alice.send({ action: 'typing', room: 'general' })
    await bob.next('typing', (f) => f.active)
    const stopped = bob.next('typing', (f) => !f.active)
    alice.close()
    expect(await stopped).toMatchObject({ username: 'alice', active: false })
  })
})

describe('history', () => {
  it('sends the joiner the stored messages, oldest first', async () => {
    const alice = await member('general', 'alice')
    alice.send({ action: 'message', room: 'general', content: 'one' })
    alice.send({ action: 'message', room: 'general', content: 'two' })
    await alice.next('message', (f) => f.content === 'two')
    const bob = await connect()
    const { history } = await bob.join('general', 'bob')
    expect(history.map((m: Frame) => [m.type, m.content])).toEqual([
      ['system', 'alice joined'],
      ['text', 'one'],
      ['text', 'two'],
      ['system', 'bob joined'],
    ])
    expect(history[1]).toMatchObject({
      type: 'text',
      sender: 'alice',
      content: 'one',
      room_id: 'general',
    })
    expect(typeof history[1].timestamp).toBe('number')
  })

  it('keeps the last 100 messages', async () => {
    await restart({ rateLimitPerSec: 1000, rateLimitBurst: 1000, floodTolerance: 1000 })
    const alice = await member('general', 'alice')
    for (let i = 0; i < 130; i++)
      alice.send({ action: 'message', room: 'general', content: `m${i}` })
    await alice.next('message', (f) => f.content === 'm129')
    const { history } = await (await connect()).join('general', 'bob')
    expect(history).toHaveLength(100)
    // 130 messages + 2 joins = 132 stored; the oldest 32 dropped off.
    expect(history[0].content).toBe('m31')
    expect(history[98].content).toBe('m129')
    expect(history[99].content).toBe('bob joined')
    const ids = history.map((m: Frame) => Number(m.id))
    expect(ids).toEqual([...ids].sort((x, y) => x - y))
  })

  it('keeps the last 100 messages however many more come, in joined, history and REST alike', async () => {
    await restart({ rateLimitPerSec: 1000, rateLimitBurst: 1000, floodTolerance: 1000 })
    const alice = await member('general', 'alice')
    for (let i = 0; i < 250; i++)
      alice.send({ action: 'message', room: 'general', content: `m${i}` })
    await alice.next('message', (f) => f.content === 'm249')
    const { history } = await (await connect()).join('general', 'bob')
    // 250 messages + 2 joins = 252 stored; the history is the newest 100.
    expect(history.map((m: Frame) => m.content)).toEqual([
      ...Array.from({ length: 99 }, (_, i) => `m${151 + i}`),
      'bob joined',
    ])
    const page = (await (await http('/rooms/general/messages?limit=60')).json()) as Frame
    expect(page.has_more).toBe(true)
    const before = page.messages[0].id
    const older = (await (
      await http(`/rooms/general/messages?limit=60&before=${before}`)
    ).json()) as Frame
    expect(older.messages).toHaveLength(40)
    expect(older.has_more).toBe(false)
    expect(older.messages[0].content).toBe('m151')
    const frame = await alice.request({ action: 'history', room: 'general', before, limit: 100 }, [
      'history',
    ])
    expect(frame.messages.map((m: Frame) => m.content)).toEqual(
      older.messages.map((m: Frame) => m.content),
    )
  })
})

describe('refusals', () => {
  it('refuses a taken username, compared case-insensitively', async () => {
    await member('general', 'alice')
    const other = await connect()
    const err = await other.request({ action: 'join', room: 'general', username: 'ALICE' }, [
      'joined',
    ])
    expect(err).toMatchObject({ type: 'error', code: 'username_taken', room: 'general' })
  })

  it('refuses an unknown room', async () => {
    const c = await connect()
    const err = await c.request({ action: 'join', room: 'nowhere', username: 'alice' }, ['joined'])
    expect(err).toMatchObject({ type: 'error', code: 'room_not_found', room: 'nowhere' })
  })

  it('refuses a full room', async () => {
    const room = await createRoom({ name: 'Tiny', max_users: 1 })
    await member(room.id, 'alice')
    const c = await connect()
    const err = await c.request({ action: 'join', room: room.id, username: 'bob' }, ['joined'])
    expect(err).toMatchObject({ type: 'error', code: 'room_full' })
  })

  const bad: [string, string | Uint8Array, string][] = [
    ['bad JSON', '{"action":', 'invalid_message'],
    ['a binary frame', new Uint8Array([123, 125]), 'invalid_message'],
    ['a JSON array', '[1,2]', 'invalid_message'],
    ['a JSON number', '123', 'invalid_message'],
    ['an unknown action', '{"action":"dance"}', 'invalid_message'],
    ['a missing action', '{"room":"general"}', 'invalid_message'],
    ['a missing field', '{"action":"message","room":"general"}', 'invalid_message'],
    [
      'a wrongly typed field',
      '{"action":"message","room":"general","content":5}',
      'invalid_message',
    ],
    [
      'a message to a room not joined',
      '{"action":"message","room":"general","content":"hi"}',
      'not_authorized',
    ],
    ['typing in a room not joined', '{"action":"typing","room":"general"}', 'not_authorized'],
    [
      'a message to an unknown room',
      '{"action":"message","room":"nope","content":"hi"}',
      'room_not_found',
    ],
    ['an empty username', '{"action":"join","room":"general","username":""}', 'invalid_message'],
    [
      'a username with a control character',
      '{"action":"join","room":"general","username":"a\\u0007b"}',
      'invalid_message',
    ],
    [
      'a username over 32 characters',
      `{"action":"join","room":"general","username":"${'x'.repeat(33)}"}`,
      'invalid_message',
    ],
  ]
  for (const [what, data, code] of bad) {
    it(`answers ${what} with ${code} and keeps the connection usable`, async () => {
      const c = await connect()
      const err = c.error()
      c.sendRaw(data)
      expect(await err).toMatchObject({ type: 'error', code })
      expect(typeof (await err).message).toBe('string')
      // Still usable: a join and a message go through.
      await c.join('general', 'still-here')
      c.send({ action: 'message', room: 'general', content: 'ok' })
      expect((await c.next('message')).content).toBe('ok')
    })
  }

  it('echoes ref on errors and pongs', async () => {
    const c = await connect()
    expect(await c.request({ action: 'ping' }, ['pong'])).toMatchObject({ type: 'pong' })
    const err = await c.request({ action: 'leave', room: 'general' }, ['left'])
    expect(err).toMatchObject({ type: 'error', code: 'not_authorized', room: 'general' })
    expect(err.ref).toMatch(/^req-/)
  })
})
