import { afterEach, describe, expect, it } from 'bun:test'
import { idleTimeoutSeconds } from '../../src/app.ts'
import { useServer } from '../support/harness.ts'
import { RawWsClient } from '../support/raw-ws.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

const raws: RawWsClient[] = []

// Declared before useServer's hook, so it runs first: raw sockets go before the server stops.
afterEach(() => {
  for (const r of raws.splice(0)) r.destroy()
})

const { serve: start, connect, member: joined, http, postRoom } = useServer()

/** Drops the connection without a `leave`, and waits until `witness` sees it go offline. */
async function drop(c: TestClient, username: string, witness: TestClient): Promise<void> {
  const offline = witness.next('presence', (f) => f.username === username && f.status === 'offline')
  c.close()
  await offline
}

/** Sends messages and returns them as the sender saw them come back (with their ids). */
async function say(c: TestClient, room: string, contents: string[]): Promise<Frame[]> {
  const echoes = contents.map((content) =>
    c.next('message', (f) => f.room === room && f.content === content),
  )
  for (const content of contents) c.send({ action: 'message', room, content })
  return Promise.all(echoes)
}

const frameIds = (frames: Frame[]) => frames.map((f) => f.id)

/** A REST response body (tests read it loosely, as they read frames). */
async function body(res: Response): Promise<Frame> {
  return (await res.json()) as Frame
}

describe('connection', () => {
  it('sends welcome, with a session and the resume grace, as the first frame', async () => {
    start({ resumeGraceMs: 12_345 })
    const c = await connect()
    expect(c.frames[0]).toEqual({ type: 'welcome', session: c.session, resume_within_ms: 12_345 })
    expect(c.session.length).toBeGreaterThanOrEqual(16)
  })

  it('answers {"action":"ping"} with pong, echoing the ref', async () => {
    start()
    const c = await connect()
    expect(await c.request({ action: 'ping' }, ['pong'])).toMatchObject({ type: 'pong' })
    const plain = c.next('pong')
    c.send({ action: 'ping' })
    expect(await plain).toEqual({ type: 'pong' })
  })

  it('closes a connection that joins no room within UNJOINED_TIMEOUT_MS with 4000', async () => {
    start({ unjoinedTimeoutMs: 150 })
    const idle = await connect()
    const member = await joined('general', 'alice')
    expect((await idle.closed).code).toBe(4000)
    expect(await member.sync()).toEqual([])
  })
})

describe('presence across a dropped connection', () => {
  it('shows a dropped user offline at once to the others and in user lists', async () => {
    start()
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    await drop(alice, 'alice', bob)
    const users = (await body(await http('/rooms/general'))).users
    expect(users).toContainEqual({ username: 'alice', status: 'offline', moderator: false })
    const carol = await connect()
    const seen = await carol.join('general', 'carol')
    expect(seen.users).toContainEqual({ username: 'alice', status: 'offline', moderator: false })
    await expect(carol.join('general', 'Alice')).rejects.toThrow('join refused: invalid_message')
    const dave = await connect()
    await expect(dave.join('general', 'Alice')).rejects.toThrow('username_taken')
  })

  it('removes the user for good when the grace runs out: user_left and a stored system message', async () => {
    start({ resumeGraceMs: 200 })
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    const token = alice.session
    const left = bob.next('user_left', (f) => f.username === 'alice')
    await drop(alice, 'alice', bob)
    expect(await left).toEqual({ type: 'user_left', room: 'general', username: 'alice' })
    const page = await bob.request({ action: 'history', room: 'general' }, ['history'])
    expect(page.messages.at(-1)).toMatchObject({ type: 'system', content: 'alice left' })
    const late = await connect()
    const reply = await late.request({ action: 'resume', session: token }, ['resumed'])
    expect(reply).toMatchObject({ type: 'error', code: 'not_authorized' })
    expect(await late.sync()).toEqual([])
  })
})

describe('resume', () => {
  it('gives the rooms back and replays every missed message in order, exactly once, before any new one', async () => {
    start()
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    const [lastSeen] = await say(bob, 'general', ['before the drop'])
    await alice.next('message', (f) => f.id === lastSeen?.id)
    await drop(alice, 'alice', bob)
    const missed = await say(bob, 'general', ['m1', 'm2', 'm3'])

    const again = await connect()
    const online = bob.next('presence', (f) => f.username === 'alice' && f.status === 'online')
    const resumed = again.next('resumed')
    again.send({ action: 'resume', session: alice.session, last_ids: { general: lastSeen?.id } })
    again.send({ action: 'message', room: 'general', content: 'I am back' })
    bob.send({ action: 'message', room: 'general', content: 'welcome back' })
    expect(await resumed).toMatchObject({
      room: 'general',
      username: 'alice',
      moderator: false,
      recovered: true,
    })
    expect((await resumed).users).toContainEqual({
      username: 'alice',
      status: 'online',
      moderator: false,
    })
    await again.next('message', (f) => f.content === 'welcome back')
    await again.next('message', (f) => f.content === 'I am back')
    expect(await online).toMatchObject({ room: 'general', status: 'online' })

    const after = again.frames.slice(again.frames.indexOf(await resumed) + 1)
    const chat = after.filter((f) => f.type === 'message' || f.type === 'system')
    // bob's "welcome back" may land before or after the resume: replayed or live, once.
    expect(chat).toHaveLength(5)
    expect(chat.slice(0, 3)).toEqual(missed)
    expect(
      chat
        .slice(3)
        .map((f) => f.content)
        .sort(),
    ).toEqual(['I am back', 'welcome back'])
    const ids = frameIds(chat)
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
  })

  it('says recovered:false and sends the kept 100 when the gap reaches past them', async () => {
    start({ rateLimitPerSec: 10_000, rateLimitBurst: 10_000 })
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    const [lastSeen] = await say(bob, 'general', ['seen'])
    await alice.next('message', (f) => f.id === lastSeen?.id)
    await drop(alice, 'alice', bob)
    const missed = await say(
      bob,
      'general',
      Array.from({ length: 105 }, (_, i) => `gap ${i}`),
    )

    const again = await connect()
    const reply = await again.request(
      { action: 'resume', session: alice.session, last_ids: { general: lastSeen?.id } },
      ['resumed'],
    )
    expect(reply).toMatchObject({ type: 'resumed', room: 'general', recovered: false })
    await again.next('message', (f) => f.content === 'gap 104')
    const replayed = again.frames.slice(again.frames.indexOf(reply) + 1)
    expect(replayed).toHaveLength(100)
    expect(replayed).toEqual(missed.slice(5))
  })

  it('resumes with the new welcome token after a second drop, and refuses the spent one', async () => {
    start()
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    const first = alice.session
    await drop(alice, 'alice', bob)
    const second = await connect()
    const r1 = await second.request({ action: 'resume', session: first }, ['resumed'])
    expect(r1).toMatchObject({ type: 'resumed', username: 'alice' })

    const thief = await connect()
    const spent = await thief.request({ action: 'resume', session: first }, ['resumed'])
    expect(spent).toMatchObject({ type: 'error', code: 'not_authorized' })
    expect(await thief.sync()).toEqual([])

    await drop(second, 'alice', bob)
    const third = await connect()
    const r2 = await third.request({ action: 'resume', session: second.session }, ['resumed'])
    expect(r2).toMatchObject({ type: 'resumed', username: 'alice', room: 'general' })
  })

  it('answers a wrong session with not_authorized and leaks nothing', async () => {
    start()
    await joined('general', 'alice')
    const stranger = await connect()
    const reply = await stranger.request({ action: 'resume', session: 'not-a-session' }, [
      'resumed',
    ])
    expect(reply).toMatchObject({ type: 'error', code: 'not_authorized' })
    expect(JSON.stringify(reply)).not.toContain('alice')
    expect(await stranger.sync()).toEqual([])
    // The refused connection is still usable.
    await stranger.join('general', 'carol')
  })

  it('refuses to resume a session that is in no room, and leaves its connection alone', async () => {
    start()
    const idle = await connect()
    const other = await connect()
    const reply = await other.request({ action: 'resume', session: idle.session }, ['resumed'])
    expect(reply).toMatchObject({ type: 'error', code: 'not_authorized' })
    expect(await other.sync()).toEqual([])
    // Nothing was taken over: the first connection still works, under its own session.
    await idle.join('general', 'alice')
  })

  it('refuses a resume after a join, and a second resume on one connection', async () => {
    start()
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    const afterJoin = await bob.request({ action: 'resume', session: alice.session }, ['resumed'])
    expect(afterJoin).toMatchObject({ type: 'error', code: 'invalid_message' })

    const carol = await joined('general', 'carol')
    const carolToken = carol.session
    await drop(alice, 'alice', bob)
    await drop(carol, 'carol', bob)
    const c = await connect()
    expect(
      await c.request({ action: 'resume', session: alice.session }, ['resumed']),
    ).toMatchObject({ type: 'resumed' })
    const twice = await c.request({ action: 'resume', session: carolToken }, ['resumed'])
    expect(twice).toMatchObject({ type: 'error', code: 'invalid_message' })
  })

  it('takes over a live session and closes the old connection with 4001', async () => {
    start()
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    const other = await connect()
    const reply = await other.request({ action: 'resume', session: alice.session }, ['resumed'])
    expect(reply).toMatchObject({ type: 'resumed', username: 'alice' })
    expect((await alice.closed).code).toBe(4001)
    const echo = other.next('message', (f) => f.content === 'still me')
    other.send({ action: 'message', room: 'general', content: 'still me' })
    expect(await echo).toMatchObject({ sender: 'alice' })
    // Alice never looked offline to bob, so he is told nothing about her presence.
    await bob.next('message', (f) => f.content === 'still me')
    expect(bob.frames.filter((f) => f.type === 'presence')).toEqual([])
  })

  it('refuses the room a user was banned from while away and sends nothing said after the ban', async () => {
    start()
    const created = await postRoom({ name: 'Club' })
    const { moderator_token: token } = await body(created)
    const mod = await connect()
    await mod.join('club', 'mod', { token })
    const alice = await connect()
    await alice.join('club', 'alice')
    await alice.join('general', 'alice')
    const bob = await joined('general', 'bob')
    await drop(alice, 'alice', mod)
    expect(
      await mod.request({ action: 'ban', room: 'club', username: 'alice' }, ['moderated']),
    ).toMatchObject({ type: 'moderated', action: 'ban' })
    await say(mod, 'club', ['secret after the ban'])
    await say(bob, 'general', ['hello general'])

    const again = await connect()
    const refused = again.next('error', (f) => f.room === 'club')
    const resumed = again.next('resumed')
    again.send({ action: 'resume', session: alice.session, last_ids: {} })
    expect(await refused).toMatchObject({ code: 'not_authorized', room: 'club' })
    expect(await resumed).toMatchObject({ room: 'general', username: 'alice' })
    await again.next('message', (f) => f.content === 'hello general')
    const rest = await again.sync()
    expect(JSON.stringify(again.frames)).not.toContain('secret after the ban')
    expect(rest.filter((f) => f.room === 'club')).toEqual([])
    await expect(again.join('club', 'alice2')).rejects.toThrow('not_authorized')
  })
})

describe('history paging', () => {
  it('pages back over WebSocket with before and limit', async () => {
    start({ rateLimitPerSec: 10_000, rateLimitBurst: 10_000 })
    const alice = await joined('general', 'alice')
    const sent = await say(
      alice,
      'general',
      Array.from({ length: 30 }, (_, i) => `n${i}`),
    )
    const newest = await alice.request({ action: 'history', room: 'general', limit: 10 }, [
      'history',
    ])
    expect(newest.has_more).toBe(true)
    expect(newest.messages.map((m: Frame) => m.id)).toEqual(frameIds(sent.slice(20)))
    const older = await alice.request(
      { action: 'history', room: 'general', before: sent[20]?.id, limit: 10 },
      ['history'],
    )
    expect(older.messages.map((m: Frame) => m.content)).toEqual(
      sent.slice(10, 20).map((m) => m.content),
    )
    expect(older.messages[0]).toMatchObject({ type: 'text', sender: 'alice', room_id: 'general' })
    const bad = await alice.request({ action: 'history', room: 'general', before: 'x' }, [
      'history',
    ])
    expect(bad).toMatchObject({ type: 'error', code: 'invalid_message' })
  })

  it('pages over REST, and opens a private room only with its password or moderator token', async () => {
    start()
    const created = await postRoom({ name: 'Vault', password: 'open sesame' })
    expect(created.status).toBe(201)
    const { moderator_token: token } = await body(created)
    const alice = await connect()
    await alice.join('vault', 'alice', { password: 'open sesame' })
    const sent = await say(alice, 'vault', ['v1', 'v2', 'v3', 'v4'])

    const url = `/rooms/vault/messages?before=${sent[3]?.id}&limit=2`
    const none = await http(url)
    expect(none.status).toBe(401)
    expect((await body(none)).error.code).toBe('not_authorized')
    const wrong = await http(url, { headers: { 'x-room-password': 'nope' } })
    expect(wrong.status).toBe(403)
    const stranger = await connect()
    const viaWs = await stranger.request({ action: 'history', room: 'vault' }, ['history'])
    expect(viaWs).toMatchObject({ type: 'error', code: 'not_authorized' })

    const credentials: Record<string, string>[] = [
      { 'x-room-password': 'open sesame' },
      { authorization: `Bearer ${token}` },
    ]
    for (const headers of credentials) {
      const res = await http(url, { headers })
      expect(res.status).toBe(200)
      const page = await body(res)
      expect(page.messages.map((m: Frame) => m.content)).toEqual(['v2', 'v3'])
      expect(page.has_more).toBe(true)
    }
    const pub = await http('/rooms/general/messages?limit=5')
    expect(pub.status).toBe(200)
    expect(await body(pub)).toEqual({ messages: [], has_more: false })
  })
})

describe('slow consumers', () => {
  it('closes a client that stops reading, while the others in the room get every message', async () => {
    const s = start({
      backpressureLimitBytes: 64 * 1024,
      rateLimitPerSec: 100_000,
      rateLimitBurst: 100_000,
    })
    const alice = await joined('general', 'alice')
    const bob = await joined('general', 'bob')
    const slow = await RawWsClient.connect(s.port, { read: false })
    raws.push(slow)
    const slowJoined = bob.next('user_joined', (f) => f.username === 'slow')
    slow.send({ action: 'join', room: 'general', username: 'slow' })
    await slowJoined

    let closed = false
    const offline = bob.next('presence', (f) => f.username === 'slow' && f.status === 'offline')
    void offline.then(() => {
      closed = true
    })
    // Kernel buffers absorb a few MB first; keep chatting until the cap trips.
    const body = 'x'.repeat(3900)
    let sent = 0
    while (!closed && sent < 10_000) {
      for (let i = 0; i < 50; i++)
        alice.send({ action: 'message', room: 'general', content: `${body}${sent++}` })
      await bob.next('message', (f) => f.content === `${body}${sent - 1}`)
    }
    expect(await offline).toMatchObject({ room: 'general', status: 'offline' })
    slow.startReading()
    await slow.ended
    const queued = slow.json()
    const got = queued.filter((f) => f.type === 'message')
    expect(got.length).toBeLessThan(sent)

    // It comes back by resume and is told whether the replay closes its gap.
    const all = bob.frames.filter((f) => f.type === 'message')
    const lastId = (got.at(-1)?.id as string | undefined) ?? '0'
    const missed = all.filter((f) => f.id > lastId)
    const back = await connect()
    const reply = await back.request(
      { action: 'resume', session: queued[0]?.session, last_ids: { general: lastId } },
      ['resumed'],
    )
    expect(reply).toMatchObject({ type: 'resumed', username: 'slow' })
    expect(reply.recovered).toBe(missed.length <= 100)
    const tail = missed.slice(-100)
    await back.next('message', (f) => f.id === tail.at(-1)?.id)
    expect(back.frames.slice(back.frames.indexOf(reply) + 1)).toEqual(tail.slice(-100))
    const toBob = bob.frames.filter((f) => f.type === 'message').map((f) => f.content.slice(3900))
    expect(toBob).toEqual(Array.from({ length: sent }, (_, i) => String(i)))
    const gotAlice = alice.frames.filter((f) => f.type === 'message')
    expect(gotAlice).toHaveLength(sent)
  })
})

describe('heartbeat', () => {
  it('maps HEARTBEAT_TIMEOUT_MS to whole seconds, never turning a short timeout into "off"', () => {
    expect(idleTimeoutSeconds(30_000)).toBe(30)
    expect(idleTimeoutSeconds(400)).toBe(1)
    expect(idleTimeoutSeconds(8001)).toBe(9)
    expect(idleTimeoutSeconds(0)).toBe(0)
    expect(idleTimeoutSeconds(960_000)).toBe(960)
  })

  it('closes a connection that never answers pings, and keeps one that does', async () => {
    const s = start({ heartbeatTimeoutMs: 8000 })
    const bob = await joined('general', 'bob')
    const silent = await RawWsClient.connect(s.port, { read: true })
    raws.push(silent)
    const silentJoined = bob.next('user_joined', (f) => f.username === 'mute')
    silent.send({ action: 'join', room: 'general', username: 'mute' })
    await silentJoined
    const offline = bob.next(
      'presence',
      (f) => f.username === 'mute' && f.status === 'offline',
      20_000,
    )
    const started = Date.now()
    expect(await offline).toMatchObject({ room: 'general' })
    await silent.ended
    expect(Date.now() - started).toBeGreaterThan(4000)
    expect(silent.frames.some((f) => f.opcode === 0x9)).toBe(true) // it was pinged
    expect(await bob.sync()).toEqual([])
  }, 25_000)
})
