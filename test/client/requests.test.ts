import { describe, expect, it } from 'bun:test'
import { ChatRequestError } from '../../src/client/types.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { chatClient, nextEvent, record } from './support.ts'

const { serve, createRoom } = useServer()

/** A connected ChatClient on the running server. */
async function connected(url: string) {
  const client = chatClient({ url })
  await client.connect()
  return client
}

/** The rejection of `promise`, which must reject with a ChatRequestError. */
async function refusal(promise: Promise<unknown>): Promise<ChatRequestError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ChatRequestError)
  return error as ChatRequestError
}

describe('ChatClient requests', () => {
  it('connects (connecting, then open at welcome) and joins with the users and history', async () => {
    const server = serve()
    await server.ready
    const client = chatClient({ url: server.wsUrl })
    const states = record(client, 'state')
    const welcome = nextEvent(client, 'welcome')
    await client.connect()
    expect(client.state).toBe('open')
    expect(states).toEqual(['connecting', 'open'])
    expect((await welcome).session).toBeString()

    const joined = await client.join('General', 'alice')
    expect(joined.room).toBe('general')
    expect(joined.users).toEqual([{ username: 'alice', status: 'online', moderator: false }])
    expect(joined.history.at(-1)?.content).toBe('alice joined')
    expect(client.rooms.get('general')).toEqual({
      room: 'general',
      username: 'alice',
      moderator: false,
      lastId: joined.history.at(-1)?.id,
    })
  })

  it('replies to a message: the echo carries reply_to; a reply to a gone message is refused', async () => {
    const server = serve()
    await server.ready
    const alice = await connected(server.wsUrl)
    await alice.join('general', 'alice')
    const asked = await alice.send('general', 'lunch?')
    const answer = await alice.reply('general', asked.id, 'yes')
    expect(answer).toMatchObject({ content: 'yes', reply_to: asked.id })
    const refused = await alice.reply('general', '999999999999', 'to nothing').catch((e) => e)
    expect((refused as ChatRequestError).code).toBe('message_not_found')
  })

  it('resolves send with its own echo, in order, and delivers typed events to the others', async () => {
    const server = serve()
    await server.ready
    const alice = await connected(server.wsUrl)
    const bob = await connected(server.wsUrl)
    await alice.join('general', 'alice')
    const bobJoined = nextEvent(alice, 'user_joined')
    await bob.join('general', 'bob')
    expect(await bobJoined).toEqual({ type: 'user_joined', room: 'general', username: 'bob' })

    const atBob = record(bob, 'message')
    const third = nextEvent(bob, 'message', (m) => m.content === 'three')
    const sent = await Promise.all([
      alice.send('general', 'one'),
      alice.send('general', 'two'),
      alice.send('general', 'three'),
    ])
    expect(sent.map((m) => m.content)).toEqual(['one', 'two', 'three'])
    expect(sent.every((m) => m.sender === 'alice' && m.room === 'general')).toBe(true)
    await third
    expect(atBob.map((m) => m.id)).toEqual(sent.map((m) => m.id))

    const typing = nextEvent(bob, 'typing')
    alice.typing('general')
    expect(await typing).toEqual({
      type: 'typing',
      room: 'general',
      username: 'alice',
      active: true,
    })

    const read = nextEvent(alice, 'read')
    bob.read('general', sent[2]?.id as string)
    expect(await read).toEqual({ type: 'read', room: 'general', username: 'bob', id: sent[2]?.id })
    expect((await bob.join('general', 'bob')).read).toEqual({ bob: sent[2]?.id })
  })

  it('rejects with the server error code, and those errors are not emitted as events', async () => {
    const server = serve()
    await server.ready
    const alice = await connected(server.wsUrl)
    const bob = await connected(server.wsUrl)
    const errors = record(bob, 'error')
    await alice.join('general', 'alice')

    const taken = await refusal(bob.join('general', 'ALICE'))
    expect(taken.code).toBe('username_taken')
    expect(taken.room).toBe('general')
    const missing = await refusal(bob.join('nowhere', 'bob'))
    expect(missing.code).toBe('room_not_found')
    expect(missing.message).toBeString()
    const notMember = await refusal(bob.send('general', 'hi'))
    expect(notMember.code).toBe('not_authorized')
    const empty = await refusal(alice.send('general', '   '))
    expect(empty.code).toBe('invalid_message')
    // A request answered after the errors: had they been emitted, they would be here by now.
    await bob.join('general', 'bob')
    expect(errors).toEqual([])
    expect([...bob.rooms.keys()]).toEqual(['general'])
  })

  it('creates a private room, refuses a wrong password and lets the moderator kick, mute and ban', async () => {
    const server = serve()
    await server.ready
    const mod = await connected(server.wsUrl)
    const bob = await connected(server.wsUrl)
    const created = await mod.create('Team Room', 'mod', { is_private: true, password: 'sesame' })
    expect(created.room).toBe('team-room')
    expect(created.moderator).toBe(true)
    expect(created.moderator_token).toBeString()
    expect(mod.rooms.get('team-room')?.moderator).toBe(true)

    expect((await refusal(bob.join('team-room', 'bob', { password: 'nope' }))).code).toBe(
      'not_authorized',
    )
    await bob.join('team-room', 'bob', { password: 'sesame' })

    const note = nextEvent(bob, 'system', (s) => s.content.includes('muted'))
    await mod.mute('team-room', 'bob', 60_000)
    expect((await note).id).toBeString()
    expect((await refusal(bob.send('team-room', 'hello'))).code).toBe('not_authorized')
    await mod.unmute('team-room', 'bob')
    await bob.send('team-room', 'hello')

    expect((await refusal(bob.kick('team-room', 'mod'))).code).toBe('not_authorized')
    const kicked = nextEvent(bob, 'kicked')
    await mod.kick('team-room', 'bob')
    expect(await kicked).toEqual({ type: 'kicked', room: 'team-room', by: 'mod' })
    expect(bob.rooms.has('team-room')).toBe(false)

    await bob.join('team-room', 'bob', { password: 'sesame' })
    const banned = nextEvent(bob, 'banned')
    await mod.ban('team-room', 'bob')
    expect((await banned).by).toBe('mod')
    expect(bob.rooms.size).toBe(0)
    expect((await refusal(bob.join('team-room', 'bob', { password: 'sesame' }))).code).toBe(
      'not_authorized',
    )
    await mod.unban('team-room', 'bob')
    await bob.join('team-room', 'bob', { password: 'sesame' })
  })

  it('joins with a moderator token, pages history and leaves', async () => {
    const server = serve()
    await server.ready
    const room = await createRoom({ name: 'Book Club' })
    const client = await connected(server.wsUrl)
    const joined = await client.join('book-club', 'ann', { token: room.moderator_token })
    expect(joined.moderator).toBe(true)
    for (const content of ['a', 'b', 'c']) await client.send('book-club', content)

    const page = await client.history('book-club', { limit: 2 })
    expect(page.messages.map((m) => m.content)).toEqual(['b', 'c'])
    expect(page.has_more).toBe(true)
    const older = await client.history('book-club', { before: page.messages[0]?.id, limit: 1 })
    expect(older.messages.map((m) => m.content)).toEqual(['a'])

    const left = nextEvent(client, 'left')
    await client.leave('book-club')
    expect((await left).room).toBe('book-club')
    expect(client.rooms.size).toBe(0)
  })

  it('rejects a request with no answer within requestTimeoutMs, and not a moment before', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    // Frames of `history` never reach the server: only the timeout can answer them.
    class NoHistory extends WebSocket {
      override send(data: string): void {
        if (!data.includes('"action":"history"')) super.send(data)
      }
    }
    const client = chatClient({
      url: server.wsUrl,
      WebSocket: NoHistory,
      clock,
      requestTimeoutMs: 5000,
    })
    await client.connect()
    await client.join('general', 'alice')
    const asked = client.history('general')
    clock.advance(4999)
    const sent = await client.send('general', 'still fine')
    expect(sent.content).toBe('still fine')
    clock.advance(1)
    const timeout = await refusal(asked)
    expect(timeout.code).toBe('timeout')
    expect(timeout.room).toBe('general')
  })

  it('queues requests made before connect, and close() rejects what waits and leaves no timer', async () => {
    const server = serve()
    await server.ready
    const clock = new FakeClock()
    const client = chatClient({ url: server.wsUrl, clock })
    // A request while idle connects by itself and goes out once open.
    const joined = await client.join('general', 'alice')
    expect(joined.username).toBe('alice')
    const states = record(client, 'state')
    const sending = client.send('general', 'never echoed in time?')
    client.close()
    expect((await refusal(sending)).code).toBe('closed')
    expect((await refusal(client.join('general', 'alice'))).code).toBe('closed')
    expect(client.state).toBe('closed')
    expect(states).toEqual(['closed'])
    expect(client.rooms.size).toBe(0)
    expect(clock.pendingTimers()).toBe(0)
  })
})
