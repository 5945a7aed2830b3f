import { describe, expect, it } from 'bun:test'
import type { ChatClient } from '../../src/client/chat-client.ts'
import { ChatRequestError, type MessageFrame, type SystemFrame } from '../../src/client/types.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { scriptServer } from './script-server.ts'
import { chatClient, lastSocket, nextEvent, record, socketFactory } from './support.ts'

const { serve, restart, connect } = useServer()

/** Backoff made predictable: with random() = 0.5 the first retry waits 50 ms. */
const FAST = { reconnect: { minDelayMs: 100, maxDelayMs: 1000 }, random: () => 0.5 }

/** Everything a consumer sees of the chat in a room: message and system ids, in order. */
function chatLog(client: ChatClient): { ids: string[]; texts: string[] } {
  const log = { ids: [] as string[], texts: [] as string[] }
  const add = (f: MessageFrame | SystemFrame) => {
    log.ids.push(f.id)
    log.texts.push(f.type === 'message' ? `${f.sender}: ${f.content}` : `* ${f.content}`)
  }
  client.on('message', add)
  client.on('system', add)
  return log
}

describe('ChatClient reconnect', () => {
  it('after a cut connection resumes, and delivers what was sent meanwhile once, none lost', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    const bob = chatClient({ url: server.wsUrl })
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const seen = chatLog(alice)
    const states = record(alice, 'state')
    const sent: MessageFrame[] = []
    const first = nextEvent(alice, 'message')
    sent.push(await bob.send('general', 'before the cut'))
    await first

    const offline = nextEvent(bob, 'presence', (p) => p.status === 'offline')
    const disconnect = nextEvent(alice, 'disconnect')
    lastSocket(sockets).terminate()
    expect(await disconnect).toEqual({ code: 1006, reason: '', reconnect: true })
    await offline
    expect(alice.state).toBe('reconnecting')
    // Sent while alice is away, and one of hers queued meanwhile.
    for (const text of ['while away 1', 'while away 2', 'while away 3']) {
      sent.push(await bob.send('general', text))
    }
    const queued = alice.send('general', 'queued while reconnecting')

    const reconnected = nextEvent(alice, 'reconnected')
    const resumed = nextEvent(alice, 'resumed')
    clock.advance(50)
    expect(sockets.length).toBe(2)
    expect(await reconnected).toEqual({ recovered: true, resumed: true })
    expect((await resumed).recovered).toBe(true)
    expect(alice.state).toBe('open')
    expect(states).toEqual(['reconnecting', 'open'])
    expect((await queued).content).toBe('queued while reconnecting')

    const last = nextEvent(alice, 'message', (m) => m.content === 'after')
    sent.push(await bob.send('general', 'after'))
    await last
    const bobIds = sent.map((m) => m.id)
    const aliceMessages = seen.ids.filter((id) => bobIds.includes(id))
    expect(aliceMessages).toEqual(bobIds)
    expect(new Set(seen.ids).size).toBe(seen.ids.length)
    expect(seen.texts).toContain('alice: queued while reconnecting')
  })

  it('joins its rooms again when the session has expired, replaying only what it had not seen', async () => {
    const server = serve({ resumeGraceMs: 0 })
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    const bob = chatClient({ url: server.wsUrl })
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const seen = chatLog(alice)
    const first = nextEvent(alice, 'message')
    const m1 = await bob.send('general', 'one')
    await first

    const gone = nextEvent(bob, 'user_left')
    lastSocket(sockets).terminate()
    await gone
    const m2 = await bob.send('general', 'two')
    const m3 = await bob.send('general', 'three')

    const joined = nextEvent(alice, 'joined')
    const reconnected = nextEvent(alice, 'reconnected')
    clock.advance(50)
    expect((await joined).username).toBe('alice')
    expect(await reconnected).toEqual({ recovered: true, resumed: false })
    expect(seen.ids.filter((id) => [m1.id, m2.id, m3.id].includes(id))).toEqual([
      m1.id,
      m2.id,
      m3.id,
    ])
    expect(new Set(seen.ids).size).toBe(seen.ids.length)
    // The notes stored meanwhile come through too: the room's whole story, once.
    expect(seen.texts).toEqual([
      'bob: one',
      '* alice left',
      'bob: two',
      'bob: three',
      '* alice joined',
    ])
    const sent = await alice.send('general', 'back')
    expect(sent.sender).toBe('alice')
  })

  it('joins a private room again with the password, and its own room with the moderator token', async () => {
    const server = serve({ resumeGraceMs: 0 })
    await server.ready
    const clock = new FakeClock()
    const modSockets = socketFactory()
    const guestSockets = socketFactory()
    const mod = chatClient({ url: server.wsUrl, WebSocket: modSockets.WebSocket, clock, ...FAST })
    const guest = chatClient({
      url: server.wsUrl,
      WebSocket: guestSockets.WebSocket,
      clock,
      ...FAST,
    })
    await mod.create('Vault', 'mod', { is_private: true, password: 'sesame' })
    await guest.join('vault', 'guest', { password: 'sesame' })
    const watcher = chatClient({ url: server.wsUrl })
    await watcher.join('vault', 'watcher', { password: 'sesame' })

    const back = Promise.all([nextEvent(mod, 'reconnected'), nextEvent(guest, 'reconnected')])
    // Both gone from the server (no grace) before they come back.
    const gone = Promise.all([
      nextEvent(watcher, 'user_left', (u) => u.username === 'mod'),
      nextEvent(watcher, 'user_left', (u) => u.username === 'guest'),
    ])
    lastSocket(modSockets.sockets).terminate()
    lastSocket(guestSockets.sockets).terminate()
    await gone
    clock.advance(50)
    expect(await back).toEqual([
      { recovered: true, resumed: false },
      { recovered: true, resumed: false },
    ])
    expect(mod.rooms.get('vault')).toMatchObject({ username: 'mod', moderator: true })
    expect(guest.rooms.get('vault')).toMatchObject({ username: 'guest', moderator: false })
    // Still a moderator after joining again: the token was kept, not the password only.
    const kicked = nextEvent(guest, 'kicked')
    await mod.kick('vault', 'guest')
    await kicked
  })

  it('waits the reconnect_in_ms of a shutdown before coming back, then joins the new server', async () => {
    const server = serve({ shutdownReconnectSpreadMs: 0 })
    await server.ready
    const clock = new FakeClock()
    let target = server.wsUrl
    const { WebSocket, sockets } = socketFactory(() => target)
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    await alice.join('general', 'alice')
    await alice.send('general', 'before the restart')

    const shutdown = nextEvent(alice, 'shutdown')
    const disconnect = nextEvent(alice, 'disconnect')
    server.store.drain()
    expect((await shutdown).reconnect_in_ms).toBe(1000)
    expect((await disconnect).code).toBe(1001)
    expect(alice.state).toBe('reconnecting')

    const next = await restart()
    target = next.wsUrl
    clock.advance(999)
    expect(sockets.length).toBe(1)
    const reconnected = nextEvent(alice, 'reconnected')
    clock.advance(1)
    expect(sockets.length).toBe(2)
    // The new server does not know the old session: the room is joined again. Its
    // history began anew (this server keeps rooms in memory): what was said on the old
    // one after the last message seen cannot be recovered.
    expect(await reconnected).toEqual({ recovered: false, resumed: false })
    expect(alice.rooms.get('general')?.username).toBe('alice')
    const echo = await alice.send('general', 'hello again')
    expect(echo.id).toBeString()
  })

  it('does not reconnect when its session was resumed on another connection (4001)', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    const welcome = nextEvent(alice, 'welcome')
    await alice.join('general', 'alice')
    const session = (await welcome).session

    const disconnect = nextEvent(alice, 'disconnect')
    const other = await connect()
    other.send({ action: 'resume', session, ref: 'takeover' })
    const resumed = await other.next('resumed')
    expect(resumed.username).toBe('alice')
    expect(await disconnect).toEqual({
      code: 4001,
      reason: 'Session resumed on another connection',
      reconnect: false,
    })
    expect(alice.state).toBe('closed')
    expect(sockets.length).toBe(1)
    expect(clock.pendingTimers()).toBe(0)
    const refused = await alice.send('general', 'hi').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ChatRequestError)
    expect((refused as ChatRequestError).code).toBe('closed')
  })

  it('tells of a room it was kicked from while away, and resumes the others', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    const mod = chatClient({ url: server.wsUrl })
    const created = await mod.create('Team', 'mod')
    expect(created.moderator_token).toBeString()
    await alice.join('general', 'alice')
    await alice.join('team', 'alice')

    const offline = nextEvent(mod, 'presence', (p) => p.status === 'offline')
    lastSocket(sockets).terminate()
    await offline
    await mod.kick('team', 'alice')

    const error = nextEvent(alice, 'error')
    const reconnected = nextEvent(alice, 'reconnected')
    clock.advance(50)
    expect(await error).toMatchObject({ code: 'not_authorized', room: 'team' })
    expect(await reconnected).toEqual({ recovered: true, resumed: true })
    expect([...alice.rooms.keys()]).toEqual(['general'])
  })

  it('stays closed when a state handler closes it as it starts reconnecting', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    const { WebSocket, sockets } = socketFactory()
    const alice = chatClient({ url: server.wsUrl, WebSocket, clock, ...FAST })
    await alice.join('general', 'alice')
    alice.on('state', (state) => {
      if (state === 'reconnecting') alice.close()
    })
    const disconnect = nextEvent(alice, 'disconnect')
    lastSocket(sockets).terminate()
    await disconnect
    expect(alice.state).toBe('closed')
    clock.advance(FAST.reconnect.maxDelayMs)
    expect(sockets.length).toBe(1)
    expect(alice.state).toBe('closed')
  })

  it('after an idle close (4000) stays closed until the next request connects it again', async () => {
    const server = serve({ unjoinedTimeoutMs: 100 })
    await server.ready
    const client = chatClient({ url: server.wsUrl })
    const disconnect = nextEvent(client, 'disconnect')
    await client.connect()
    expect(await disconnect).toMatchObject({ code: 4000, reconnect: false })
    expect(client.state).toBe('closed')
    const joined = await client.join('general', 'alice')
    expect(joined.username).toBe('alice')
    expect(client.state).toBe('open')
  })

  it('after a policy close (1008) waits the longest backoff before coming back', async () => {
    const script = scriptServer((ws, n) => {
      ws.send(JSON.stringify({ type: 'welcome', session: `s${n}`, resume_within_ms: 30000 }))
      if (n === 1) ws.close(1008, 'Too many refused frames')
    })
    try {
      const clock = new FakeClock()
      const { WebSocket, sockets } = socketFactory()
      const client = chatClient({ url: script.url, WebSocket, clock, ...FAST })
      const disconnect = nextEvent(client, 'disconnect')
      void client.connect()
      expect(await disconnect).toMatchObject({ code: 1008, reconnect: true })
      clock.advance(999)
      expect(sockets.length).toBe(1)
      const opened = client.connect()
      clock.advance(1)
      expect(sockets.length).toBe(2)
      await opened
      expect(client.state).toBe('open')
    } finally {
      script.stop()
    }
  })

  it('drops a message it has already seen, whatever the server sends', async () => {
    const script = scriptServer((ws) => {
      ws.send(JSON.stringify({ type: 'welcome', session: 's1', resume_within_ms: 30000 }))
    })
    try {
      const client = chatClient({ url: script.url })
      await client.connect()
      const join = script.frame((f) => f.action === 'join')
      const joining = client.join('general', 'alice')
      const ref = (await join).ref
      const [ws] = script.sockets
      const msg = (id: string, content: string) =>
        JSON.stringify({ type: 'message', room: 'general', id, sender: 'bob', content, ts: 1 })
      ws?.send(
        JSON.stringify({
          type: 'joined',
          room: 'general',
          username: 'alice',
          moderator: false,
          users: [],
          history: [
            {
              id: '000000000001',
              type: 'text',
              sender: 'bob',
              content: 'old',
              timestamp: 1,
              room_id: 'general',
            },
          ],
          ref,
        }),
      )
      await joining
      const seen = record(client, 'message')
      const last = nextEvent(client, 'message', (m) => m.content === 'three')
      for (const frame of [
        msg('000000000001', 'old again'),
        msg('000000000002', 'two'),
        msg('000000000002', 'two again'),
        msg('000000000003', 'three'),
      ])
        ws?.send(frame)
      await last
      expect(seen.map((m) => m.content)).toEqual(['two', 'three'])
      expect(client.rooms.get('general')?.lastId).toBe('000000000003')
    } finally {
      script.stop()
    }
  })

  it('pings every heartbeat interval and replaces a connection that stays silent for two', async () => {
    // This server welcomes and then never says another word.
    const script = scriptServer((ws) => {
      ws.send(JSON.stringify({ type: 'welcome', session: 'silent', resume_within_ms: 30000 }))
    })
    try {
      const clock = new FakeClock()
      const client = chatClient({ url: script.url, clock, heartbeatIntervalMs: 20_000, ...FAST })
      await client.connect()
      const firstPing = script.frame((f) => f.action === 'ping')
      clock.advance(20_000)
      await firstPing
      const secondPing = script.frame((f) => f.action === 'ping')
      clock.advance(20_000)
      await secondPing
      expect(client.state).toBe('open')

      const disconnect = nextEvent(client, 'disconnect')
      clock.advance(20_000)
      expect(await disconnect).toMatchObject({ code: 1006, reconnect: true })
      expect(client.state).toBe('reconnecting')
      const back = script.connection(2)
      clock.advance(50)
      await back
    } finally {
      script.stop()
    }
  })
})
