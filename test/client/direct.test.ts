import { describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import { TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import { chatClient, nextEvent } from './support.ts'

// The typed client's direct conversations against a real server (issue 16).

const { serve } = useServer({ authMode: 'optional', authJwtSecret: TEST_JWT_SECRET })

describe('ChatClient direct conversations', () => {
  it('direct() returns the joined room; the other user hears of the first message and opens it', async () => {
    const server = serve()
    await server.ready
    const alice = chatClient({
      url: server.wsUrl,
      token: await testToken({ sub: 'u1', name: 'Alice' }),
    })
    const bob = chatClient({
      url: server.wsUrl,
      token: await testToken({ sub: 'u2', name: 'Bob' }),
    })
    const bobIn = nextEvent(bob, 'authenticated')
    await bob.connect()
    await bobIn
    const joined = await alice.direct('u2')
    expect(joined).toMatchObject({ type: 'joined', username: 'Alice', moderator: false })
    expect(joined.room.startsWith('dm:')).toBe(true)
    const told = nextEvent(bob, 'direct')
    await alice.send(joined.room, 'hello')
    expect(await told).toEqual({
      type: 'direct',
      room: joined.room,
      from: { user_id: 'u1', username: 'Alice' },
    })
    expect(await bob.directs()).toEqual([{ room: joined.room, user_id: 'u1' }])
    const theirs = await bob.direct('u1')
    expect(theirs.room).toBe(joined.room)
    expect(theirs.history.map((m) => m.content)).toContain('hello')
  })

  it('rejects direct() of an anonymous client with not_authorized', async () => {
    const server = serve()
    await server.ready
    const anonymous = chatClient({ url: server.wsUrl })
    await expect(anonymous.direct('u1')).rejects.toMatchObject({ code: 'not_authorized' })
  })
})
