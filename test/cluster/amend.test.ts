/**
 * Edits, deletes and reactions across two nodes (issue 16): reactions raced from both
 * nodes add up, every member on every node sees the same final state, and a member who
 * was away resumes on the other node with every change once, in order.
 */
import { describe, expect, it } from 'bun:test'
import { useCluster } from '../support/cluster.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

const { start, connect } = useCluster()

async function say(c: TestClient, content: string): Promise<Frame> {
  const echo = c.next('message', (f) => f.content === content)
  c.send({ action: 'message', room: 'general', content })
  return echo
}

describe('cluster: changes to messages', () => {
  it('reactions raced by members on two nodes add up; all see the same final state', async () => {
    const [a, b] = await start(2)
    if (!a || !b) throw new Error('nodes')
    const people: TestClient[] = []
    for (let i = 0; i < 6; i++) {
      const c = await connect(i % 2 === 0 ? a : b)
      await c.join('general', `user${i}`)
      people.push(c)
    }
    const [first] = people as [TestClient]
    const sent = await say(first, 'react to this')
    await Promise.all(people.slice(1).map((c) => c.next('message', (f) => f.id === sent.id)))
    // Everyone reacts at once, from both nodes; then two of them take theirs back.
    const seenAll = people.map(async (c) => {
      for (let n = 0; n < 8; n++) await c.next('reaction', (f) => f.id === sent.id)
    })
    for (const c of people)
      c.send({ action: 'react', room: 'general', id: sent.id, emoji: '👍', on: true })
    for (const c of people.slice(0, 2))
      c.send({ action: 'react', room: 'general', id: sent.id, emoji: '👍', on: false })
    await Promise.all(seenAll)
    // Each member saw the same counts in the same order: the room's one order.
    const counts = people.map((c) =>
      c.frames.filter((f) => f.type === 'reaction').map((f) => `${f.username}:${f.on}:${f.count}`),
    )
    for (const seen of counts) expect(seen).toEqual(counts[0] as string[])
    const last = (counts[0] as string[]).at(-1)
    expect(last?.endsWith(':4')).toBe(true)
    // A newcomer on either node reads the same final state.
    for (const node of [a, b]) {
      const late = await connect(node)
      const joined = await late.join('general', `late-${node === a ? 'a' : 'b'}`)
      const kept = joined.history.find((m: Frame) => m.id === sent.id)
      expect(kept.reactions['👍'].count).toBe(4)
      expect(kept.reactions['👍'].users.sort()).toEqual(['user2', 'user3', 'user4', 'user5'])
    }
  }, 20_000)

  it('a member away from one node resumes on the other with every change once, in order', async () => {
    const [a, b] = await start(2)
    if (!a || !b) throw new Error('nodes')
    const alice = await connect(a)
    await alice.join('general', 'alice')
    const bob = await connect(b)
    await bob.join('general', 'bob')
    const one = await say(bob, 'one')
    await alice.next('message', (f) => f.id === one.id)
    const offline = bob.next('presence', (f) => f.status === 'offline')
    alice.close()
    await offline
    const edited = bob.next('message_edited')
    bob.send({ action: 'edit', room: 'general', id: one.id, content: 'one, edited' })
    await edited
    const two = await say(bob, 'two')
    const deleted = bob.next('message_deleted')
    bob.send({ action: 'delete', room: 'general', id: two.id })
    const gone = await deleted
    const again = await connect(b)
    again.send({ action: 'resume', session: alice.session, last_ids: { general: one.id } })
    await again.next('message_deleted', (f) => f.id === two.id)
    const replayed = again.frames
      .filter((f) => ['message', 'message_edited', 'message_deleted'].includes(f.type))
      .map((f) => `${f.type}:${f.id}`)
    // The deleted message is not replayed as a message; its delete is.
    expect(replayed).toEqual([`message_edited:${one.id}`, `message_deleted:${two.id}`])
    expect(again.frames.at(-1)).toEqual(gone)
  }, 20_000)
})
