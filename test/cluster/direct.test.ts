/**
 * Direct conversations (issue 16) across two nodes: both users asking at once make one room,
 * and the notice of a first message reaches the other user on whichever node they are.
 */
import { describe, expect, it } from 'bun:test'
import { directRoomId } from '../../src/chat/direct-ids.ts'
import { type ChatNode, useCluster } from '../support/cluster.ts'
import { auth, TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

const { start, connect, redis } = useCluster()
const env = { AUTH_MODE: 'optional', AUTH_JWT_SECRET: TEST_JWT_SECRET }

async function on(node: ChatNode, sub: string, name: string): Promise<TestClient> {
  const client = await connect(node)
  expect((await auth(client, await testToken({ sub, name }))).type).toBe('authenticated')
  return client
}

const direct = (client: TestClient, userId: string): Promise<Frame> =>
  client.request({ action: 'direct', user_id: userId }, ['joined'])

describe('cluster: direct conversations', () => {
  it('makes exactly one room when both users ask at once on two nodes', async () => {
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const pairs = 5
    const clients: [TestClient, TestClient][] = []
    for (let i = 0; i < pairs; i++)
      clients.push([await on(a, `a${i}`, `A${i}`), await on(b, `b${i}`, `B${i}`)])
    const replies = await Promise.all(
      clients.map(([x, y], i) => Promise.all([direct(x, `b${i}`), direct(y, `a${i}`)])),
    )
    for (const [i, [x, y]] of replies.entries()) {
      const room = directRoomId(`a${i}`, `b${i}`)
      expect(x).toMatchObject({ type: 'joined', room, moderator: false })
      expect(y).toMatchObject({ type: 'joined', room, moderator: false })
    }
    // The registry holds the default room and one room per pair, each made by one node.
    expect(await redis.command('HLEN', 'chat:rooms')).toBe(`:${pairs + 1}`)
    const created = [a, b].flatMap((n) =>
      n.output.split('\n').filter((l) => l.includes('"room created"') && l.includes('"direct"')),
    )
    expect(created).toHaveLength(pairs)
    // Both are in it, on their own nodes: a message from one reaches the other.
    const [[x, y]] = clients as [[TestClient, TestClient]]
    const got = y.next('message', (f) => f.content === 'hi from a')
    x.send({ action: 'message', room: directRoomId('a0', 'b0'), content: 'hi from a' })
    expect(await got).toMatchObject({ sender: 'A0', user_id: 'a0' })
    for (const node of [a, b]) expect(node.problems()).toEqual([])
  }, 20_000)

  it('tells the other user of the first message on whichever node they are connected', async () => {
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const alice = await on(a, 'u1', 'Alice')
    const bobHere = await on(a, 'u2', 'Bob')
    const bobThere = await on(b, 'u2', 'Bob')
    const { room } = await direct(alice, 'u2')
    const told = [bobHere, bobThere].map((c) => c.next('direct'))
    const echo = alice.next('message', (f) => f.content === 'hello')
    alice.send({ action: 'message', room, content: 'hello' })
    await echo
    for (const frame of await Promise.all(told))
      expect(frame).toEqual({ type: 'direct', room, from: { user_id: 'u1', username: 'Alice' } })
    // Bob sees it among his rooms on either node, and joins it from the other one.
    const listed = await bobThere.request({ action: 'directs' }, ['directs'])
    expect(listed.rooms).toEqual([{ room, user_id: 'u1' }])
    const joined = await direct(bobThere, 'u1')
    expect(joined.history.map((m: Frame) => m.content)).toContain('hello')
    for (const node of [a, b]) expect(node.problems()).toEqual([])
  }, 20_000)
})
