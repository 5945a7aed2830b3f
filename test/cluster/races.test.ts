/**
 * Races between nodes (issue 9, lines 1 and 3): the same room name created on two nodes at
 * once, the same username joined on two nodes at once, two joiners for one last seat.
 * Each is tried many times; every time there is exactly one winner.
 */
import { describe, expect, it } from 'bun:test'
import { type ChatNode, useCluster } from '../support/cluster.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

const { start, connect } = useCluster()
const ROUNDS = 25

function post(node: ChatNode, body: Frame): Promise<number> {
  return fetch(`${node.httpUrl}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.status)
}

function tryJoin(c: TestClient, room: string, username: string): Promise<Frame> {
  return c.request({ action: 'join', room, username }, ['joined'])
}

describe('cluster: races for one name or one seat', () => {
  it('gives exactly one 201 and one 409 room_exists for one name created on two nodes at once', async () => {
    const [a, b] = await start(2, { env: { ROOM_CREATE_PER_MIN: '1000' } })
    if (!a || !b) throw new Error('nodes')
    for (let i = 0; i < ROUNDS; i++) {
      const statuses = await Promise.all([
        post(a, { name: `race ${i}` }),
        post(b, { name: `race ${i}` }),
      ])
      expect(statuses.sort()).toEqual([201, 409])
    }
  }, 30_000)

  it('admits exactly one of two joins with the same name on two nodes at once', async () => {
    const [a, b] = await start(2, { env: { RESUME_GRACE_MS: '0' } })
    if (!a || !b) throw new Error('nodes')
    for (let i = 0; i < ROUNDS; i++) {
      const [ca, cb] = await Promise.all([connect(a), connect(b)])
      const replies = await Promise.all([
        tryJoin(ca, 'general', `u${i}`),
        tryJoin(cb, 'general', `U${i}`),
      ])
      const kinds = replies.map((r) => (r.type === 'joined' ? 'joined' : r.code)).sort()
      expect(kinds).toEqual(['joined', 'username_taken'])
    }
  }, 30_000)

  it('admits exactly one of two joiners racing for the last seat', async () => {
    const [a, b] = await start(2, { env: { ROOM_CREATE_PER_MIN: '1000' } })
    if (!a || !b) throw new Error('nodes')
    for (let i = 0; i < ROUNDS; i++) {
      expect(await post(a, { name: `seat ${i}`, max_users: 2 })).toBe(201)
      const first = await connect(a)
      await first.join(`seat-${i}`, 'first')
      const [x, y] = await Promise.all([connect(a), connect(b)])
      const replies = await Promise.all([
        tryJoin(x, `seat-${i}`, 'x'),
        tryJoin(y, `seat-${i}`, 'y'),
      ])
      const kinds = replies.map((r) => (r.type === 'joined' ? 'joined' : r.code)).sort()
      expect(kinds).toEqual(['joined', 'room_full'])
    }
  }, 30_000)

  it('counts MAX_ROOMS across the cluster', async () => {
    const [a, b] = await start(2, { env: { MAX_ROOMS: '3', DEFAULT_ROOMS: 'general' } })
    if (!a || !b) throw new Error('nodes')
    expect(await post(a, { name: 'one' })).toBe(201)
    expect(await post(b, { name: 'two' })).toBe(201)
    expect(await post(a, { name: 'three' })).toBe(503)
    expect(await post(b, { name: 'four' })).toBe(503)
  }, 30_000)
})
