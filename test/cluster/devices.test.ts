/**
 * One signed-in user with connections on two nodes is one member of the room (issue 15).
 */
import { describe, expect, it } from 'bun:test'
import { useCluster } from '../support/cluster.ts'
import { auth, TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import type { TestClient } from '../support/ws-client.ts'

const { start, connect } = useCluster()
const env = { AUTH_MODE: 'optional', AUTH_JWT_SECRET: TEST_JWT_SECRET }

describe('cluster: one user on two nodes', () => {
  it('is one member: one user_joined, messages reach both, a leave of one is heard by nobody, a ban takes both', async () => {
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const on = async (node: typeof a, sub: string, name: string, chat?: unknown) => {
      const client: TestClient = await connect(node)
      expect((await auth(client, await testToken({ sub, name, chat }))).type).toBe('authenticated')
      return client
    }
    const mod = await on(a, 'm1', 'Mod', { moderates: ['*'] })
    await mod.join('general', 'x')
    const one = await on(a, 'u1', 'Alice')
    const heard = mod.next('user_joined')
    await one.join('general', 'x')
    await heard
    const two = await on(b, 'u1', 'Alice')
    const joined = await two.join('general', 'x')
    expect(joined.users.filter((u: { username: string }) => u.username === 'Alice')).toHaveLength(1)
    const got = [one, mod].map((c) => c.next('message', (f) => f.content === 'from b'))
    two.send({ action: 'message', room: 'general', content: 'from b' })
    await Promise.all(got)
    await mod.sync()
    expect(mod.frames.filter((f) => f.type === 'user_joined')).toHaveLength(1)
    // The tab on a leaves: the member stays (through b), nobody hears of it.
    await one.request({ action: 'leave', room: 'general' }, ['left'])
    const still = two.next('message', (f) => f.content === 'still?')
    mod.send({ action: 'message', room: 'general', content: 'still?' })
    await still
    await mod.sync()
    expect(mod.frames.filter((f) => f.type === 'user_left' || f.type === 'presence')).toEqual([])
    // A third tab on a, then a ban: both connections are out, on both nodes.
    const three = await on(a, 'u1', 'Alice')
    await three.join('general', 'x')
    const banned = [two, three].map((c) => c.next('banned'))
    await mod.request({ action: 'ban', room: 'general', username: 'Alice' }, ['moderated'])
    await Promise.all(banned)
    const again = await on(b, 'u1', 'Alice')
    expect(await again.request({ action: 'join', room: 'general' }, ['joined'])).toMatchObject({
      code: 'not_authorized',
    })
  }, 20_000)

  it('stays online while a connection on either node is there', async () => {
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const bob = await connect(a)
    await bob.join('general', 'bob')
    const tabs: TestClient[] = []
    for (const node of [a, b]) {
      const c = await connect(node)
      await auth(c, await testToken({ sub: 'u1', name: 'Alice' }))
      await c.join('general', 'x')
      tabs.push(c)
    }
    const [onA, onB] = tabs as [TestClient, TestClient]
    onB.close()
    await onB.closed
    await onA.ping()
    await bob.sync()
    expect(bob.frames.filter((f) => f.type === 'presence')).toEqual([])
    const offline = bob.next('presence', (f) => f.status === 'offline')
    onA.close()
    expect(await offline).toMatchObject({ username: 'Alice', user_id: 'u1' })
  }, 20_000)
})
