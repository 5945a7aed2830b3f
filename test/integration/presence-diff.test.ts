import { beforeEach, describe, expect, it } from 'bun:test'
import { useServer } from '../support/harness.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

const harness = useServer({ presenceDiffMinMembers: 3, presenceDiffIntervalMs: 20 })

/** A client already in "general" as `username`. */
function member(username: string): Promise<TestClient> {
  return harness.member('general', username)
}

beforeEach(() => {
  harness.serve()
})

/** Applies presence frames the way a client must: leaves first, then upsert joins. */
function userList(joined: Frame, frames: Frame[]): string[] {
  const users = new Map<string, string>(joined.users.map((u: Frame) => [u.username, u.status]))
  for (const f of frames) {
    if (f.type === 'user_joined') users.set(f.username, 'online')
    if (f.type === 'user_left') users.delete(f.username)
    if (f.type === 'presence') users.set(f.username, f.status)
    if (f.type === 'presence_diff') {
      for (const name of f.leaves) users.delete(name)
      for (const u of f.joins) users.set(u.username, u.status)
    }
  }
  return [...users.keys()].sort()
}

describe('presence in big rooms', () => {
  it('sends user_joined below the threshold and presence_diff from it on', async () => {
    const alice = await member('alice')
    await member('bob')
    expect(await alice.next('user_joined')).toMatchObject({ username: 'bob' })
    // The room now has 2 members; the third join reaches the threshold of 3.
    const diff = alice.next('presence_diff')
    await member('carol')
    expect(await diff).toEqual({
      type: 'presence_diff',
      room: 'general',
      joins: [{ username: 'carol', status: 'online', moderator: false }],
      leaves: [],
    })
    const unexpected = (await alice.sync()).filter((f) => f.type === 'user_joined')
    expect(unexpected).toEqual([])
  })

  it('says who is a moderator in presence_diff, as in the user list', async () => {
    const room = await harness.createRoom({ name: 'Staff' })
    const alice = await harness.member('staff', 'alice')
    await harness.member('staff', 'bob')
    await alice.next('user_joined')
    const diff = alice.next('presence_diff')
    await harness.member('staff', 'mod', { token: room.moderator_token })
    expect((await diff).joins).toEqual([{ username: 'mod', status: 'online', moderator: true }])
  })

  it('batches many joins and leaves into few frames and keeps every user list right', async () => {
    const alice = await member('alice')
    const joined = alice.frames.find((f) => f.type === 'joined') as Frame
    const others: TestClient[] = []
    for (let i = 0; i < 8; i++) others.push(await member(`user${i}`))
    const leaving = others.slice(0, 3)
    for (const c of leaving) c.send({ action: 'leave', room: 'general' })
    for (const c of leaving) await c.next('left')
    // Wait for the diff that carries the last leave, at both observers.
    const lastLeave = (f: Frame) => f.leaves.includes('user2')
    await Promise.all([
      alice.next('presence_diff', lastLeave),
      others[7]?.next('presence_diff', lastLeave),
    ])
    const frames = alice.frames.filter((f) =>
      ['user_joined', 'user_left', 'presence', 'presence_diff'].includes(f.type),
    )
    expect(userList(joined, frames)).toEqual(['alice', 'user3', 'user4', 'user5', 'user6', 'user7'])
    // The latest joiner's own list agrees.
    const last = others[7]?.frames.find((f) => f.type === 'joined') as Frame
    const lastFrames = others[7]?.frames.filter((f) => f.type === 'presence_diff') ?? []
    expect(userList(last, lastFrames)).toEqual([
      'alice',
      'user3',
      'user4',
      'user5',
      'user6',
      'user7',
    ])
  })
})
