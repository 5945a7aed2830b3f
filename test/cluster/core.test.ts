/**
 * Two and three nodes on one Redis, clients on different nodes: rooms, members, presence,
 * typing, messages and history look the same from every node (issue 9, lines 1, 2 and 4).
 */
import { describe, expect, it } from 'bun:test'
import { useCluster } from '../support/cluster.ts'

const { start, connect, pair } = useCluster()
const T = 20_000

async function json(url: string, init?: RequestInit) {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('cluster: rooms and messages across nodes', () => {
  it(
    'shows a room created on one node on every node, with members counted on all nodes',
    async () => {
      const [a, b] = await start(2)
      if (!a || !b) throw new Error('nodes')
      const created = await json(`${a.httpUrl}/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Team Room' }),
      })
      expect(created.status).toBe(201)
      const alice = await connect(a)
      const bob = await connect(b)
      await alice.join('team-room', 'alice')
      const joined = await bob.join('team-room', 'bob')
      expect(joined.users.map((u: { username: string }) => u.username)).toEqual(['alice', 'bob'])
      expect((await alice.next('user_joined')).username).toBe('bob')
      for (const node of [a, b]) {
        const health = await json(`${node.httpUrl}/health`)
        expect(health.body).toMatchObject({ status: 'ok', node: node.id })
        expect(health.body.rooms).toBeGreaterThanOrEqual(1)
        const list = await json(`${node.httpUrl}/rooms`)
        const room = (list.body.rooms as { id: string; user_count: number }[]).find(
          (r) => r.id === 'team-room',
        )
        expect(room?.user_count).toBe(2)
        const details = await json(`${node.httpUrl}/rooms/team-room`)
        expect(details.body.user_count).toBe(2)
      }
    },
    T,
  )

  it(
    'delivers every message to members on every node in one order, the same as the history',
    async () => {
      const [a, b] = await start(2)
      if (!a || !b) throw new Error('nodes')
      const { alice, bob } = await pair(a, b)
      for (let i = 0; i < 10; i++) {
        alice.send({ action: 'message', room: 'general', content: `a${i}` })
        bob.send({ action: 'message', room: 'general', content: `b${i}` })
      }
      const seen = async (c: typeof alice) => {
        const out: string[] = []
        while (out.length < 20) out.push((await c.next('message')).id)
        return out
      }
      const [fromA, fromB] = await Promise.all([seen(alice), seen(bob)])
      expect(fromA).toEqual(fromB)
      expect([...fromA].sort()).toEqual(fromA)
      const history = await json(`${b.httpUrl}/rooms/general/messages?limit=100`)
      const ids = (history.body.messages as { id: string; type: string }[])
        .filter((m) => m.type === 'text')
        .map((m) => m.id)
      expect(ids).toEqual(fromA)
    },
    T,
  )

  it(
    'tells members on other nodes about typing, going offline and leaving',
    async () => {
      const [a, b] = await start(2, { env: { RESUME_GRACE_MS: '30000' } })
      if (!a || !b) throw new Error('nodes')
      const { alice, bob } = await pair(a, b)
      bob.send({ action: 'typing', room: 'general' })
      expect(await alice.next('typing')).toMatchObject({ username: 'bob', active: true })
      bob.send({ action: 'message', room: 'general', content: 'hi' })
      expect(await alice.next('typing')).toMatchObject({ username: 'bob', active: false })
      bob.close()
      expect(await alice.next('presence')).toMatchObject({ username: 'bob', status: 'offline' })
      const carol = await connect(b)
      await carol.join('general', 'carol')
      carol.send({ action: 'leave', room: 'general' })
      await alice.next('user_left', (f) => f.username === 'carol')
    },
    T,
  )

  it(
    'batches presence of big rooms into presence_diff on every node',
    async () => {
      const env = { PRESENCE_DIFF_MIN_MEMBERS: '3', PRESENCE_DIFF_INTERVAL_MS: '50' }
      const [a, b] = await start(2, { env })
      if (!a || !b) throw new Error('nodes')
      const alice = await connect(a)
      await alice.join('general', 'alice')
      const bob = await connect(b)
      await bob.join('general', 'bob')
      const carol = await connect(b)
      await carol.join('general', 'carol')
      const dave = await connect(b)
      await dave.join('general', 'dave')
      const diff = await alice.next('presence_diff', (f) =>
        f.joins.some((u: { username: string }) => u.username === 'dave'),
      )
      expect(diff.leaves).toEqual([])
      dave.close()
      const offline = await alice.next('presence_diff', (f) =>
        f.joins.some(
          (u: { username: string; status: string }) =>
            u.username === 'dave' && u.status === 'offline',
        ),
      )
      expect(offline.room).toBe('general')
    },
    T,
  )

  it(
    "sends the server's own typing active:false to members on other nodes, and the same history everywhere",
    async () => {
      const [a, b] = await start(2, { env: { TYPING_TIMEOUT_MS: '300' } })
      if (!a || !b) throw new Error('nodes')
      const { alice, bob } = await pair(a, b)
      bob.send({ action: 'typing', room: 'general' })
      expect(await alice.next('typing')).toMatchObject({ username: 'bob', active: true })
      expect(await alice.next('typing')).toMatchObject({ username: 'bob', active: false })
      for (let i = 0; i < 5; i++)
        alice.send({ action: 'message', room: 'general', content: `h${i}` })
      await bob.next('message', (f) => f.content === 'h4')
      const page = async (c: typeof alice) =>
        (await c.request({ action: 'history', room: 'general', limit: 3 }, ['history'])).messages
      const fromA = await page(alice)
      expect(fromA.map((m: { content: string }) => m.content)).toEqual(['h2', 'h3', 'h4'])
      expect(await page(bob)).toEqual(fromA)
      for (const node of [a, b]) {
        const rest = await json(`${node.httpUrl}/rooms/general/messages?limit=3`)
        expect(rest.body.messages).toEqual(fromA)
      }
    },
    T,
  )
})
