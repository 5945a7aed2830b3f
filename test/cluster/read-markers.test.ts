/**
 * Read markers across two nodes (issue 16): one marker per member in Redis, shared by a
 * signed-in user's devices on either node, one window for them all, exact after a resume
 * on the other node.
 */
import { describe, expect, it } from 'bun:test'
import { useCluster } from '../support/cluster.ts'
import { auth, TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import type { TestClient } from '../support/ws-client.ts'

const { start, connect } = useCluster()
const env = {
  AUTH_MODE: 'optional',
  AUTH_JWT_SECRET: TEST_JWT_SECRET,
  RATE_LIMIT_PER_SEC: '1000',
  RATE_LIMIT_BURST: '1000',
}

async function say(client: TestClient, content: string): Promise<string> {
  const echo = client.next('message', (f) => f.content === content)
  client.send({ action: 'message', room: 'general', content })
  return (await echo).id
}

describe('cluster: read markers', () => {
  it("tells the other node, shares one user's marker and window between devices on both nodes, never moves back", async () => {
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const bob = await connect(b)
    await bob.join('general', 'bob')
    const on = async (node: typeof a) => {
      const client = await connect(node)
      expect((await auth(client, await testToken({ sub: 'u1', name: 'Alice' }))).type).toBe(
        'authenticated',
      )
      await client.join('general', 'x')
      return client
    }
    const one = await on(a)
    const two = await on(b)
    const ids: string[] = []
    for (let i = 1; i <= 3; i++) ids.push(await say(bob, `m${i}`))
    // A read on a: bob (b) and the user's other device (b) hear it at once.
    const heard = [bob, two].map((c) => c.next('read'))
    one.send({ action: 'read', room: 'general', id: ids[0] })
    for (const f of await Promise.all(heard))
      expect(f).toEqual({
        type: 'read',
        room: 'general',
        username: 'Alice',
        user_id: 'u1',
        id: ids[0],
      })
    // Within the same second, from the device on b: one trailing frame, the latest value.
    const trailing = bob.next('read')
    two.send({ action: 'read', room: 'general', id: ids[1] })
    one.send({ action: 'read', room: 'general', id: ids[2] })
    // An older id from either device is ignored.
    two.send({ action: 'read', room: 'general', id: ids[0] })
    expect(await trailing).toMatchObject({ username: 'Alice', id: ids[2] })
    await bob.sync()
    expect(bob.frames.filter((f) => f.type === 'read').map((f) => f.id)).toEqual([ids[0], ids[2]])
    // Both nodes see the one marker.
    for (const c of [one, two]) expect((await c.join('general', 'x')).read.Alice).toBe(ids[2])
    const carol = await connect(a)
    const joined = await carol.join('general', 'carol')
    expect(joined.read).toEqual({ Alice: ids[2] })
    expect(joined.unread).toBe(3)
  }, 20_000)

  it('resumes on the other node with the markers it missed', async () => {
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const alice = await connect(a)
    await alice.join('general', 'alice')
    const bob = await connect(b)
    await bob.join('general', 'bob')
    const m1 = await say(alice, 'one')
    const seen = alice.next('read')
    bob.send({ action: 'read', room: 'general', id: m1 })
    await seen
    const away = alice.next('presence', (f) => f.status === 'offline')
    bob.close()
    await away
    const m2 = await say(alice, 'two')
    alice.send({ action: 'read', room: 'general', id: m2 })
    await alice.ping()
    const back = await connect(a)
    const resumed = back.next('resumed')
    back.send({ action: 'resume', session: bob.session, last_ids: { general: m1 } })
    const frame = await resumed
    expect(frame.read).toEqual({ alice: m2, bob: m1 })
    expect(frame.unread).toBe(1)
  }, 20_000)
})
