import { describe, expect, it } from 'bun:test'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { auth, TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import { WebhookReceiver } from '../support/webhook-receiver.ts'
import type { Frame } from '../support/ws-client.ts'

// One signed-in user with several connections (tabs, devices) in a room is one member, on
// both engines: one user_joined, listed once, online while any connection is there, gone
// when the last one goes.

const API_KEY = 'an-api-key-for-the-tests'
const { serve, connect, http, signedIn } = useServer({
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
  apiKey: API_KEY,
})

async function members(room: string): Promise<Frame[]> {
  const res = await http(`/api/rooms/${room}/members`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  })
  return ((await res.json()) as { members: Frame[] }).members
}

describe('one user, several connections, one member', () => {
  it('a second tab joins the same member: joined for each, one user_joined, listed once', async () => {
    serve()
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    await bob.join('general', 'x')
    const one = await signedIn({ sub: 'u1', name: 'Alice' })
    const seen = bob.next('user_joined')
    expect((await one.join('general', 'x')).username).toBe('Alice')
    expect(await seen).toMatchObject({ username: 'Alice', user_id: 'u1' })
    const two = await signedIn({ sub: 'u1', name: 'Alice' })
    const joined = await two.join('general', 'x')
    expect(joined).toMatchObject({ type: 'joined', username: 'Alice', moderator: false })
    expect(joined.users.map((u: Frame) => u.username)).toEqual(['Bob', 'Alice'])
    // A message from either tab reaches both tabs and the others.
    const got = [one, two, bob].map((c) => c.next('message', (f) => f.content === 'from two'))
    two.send({ action: 'message', room: 'general', content: 'from two' })
    for (const frame of await Promise.all(got)) expect(frame).toMatchObject({ sender: 'Alice' })
    const back = [one, two].map((c) => c.next('message', (f) => f.content === 'from bob'))
    bob.send({ action: 'message', room: 'general', content: 'from bob' })
    await Promise.all(back)
    // Bob heard of Alice once; the API counts her two connections.
    await bob.sync()
    expect(bob.frames.filter((f) => f.type === 'user_joined')).toHaveLength(1)
    const alice = (await members('general')).find((m) => m.user_id === 'u1')
    expect(alice).toMatchObject({ username: 'Alice', online: true, connections: 2 })
  })

  it('leaves only when the last connection leaves: the first leave is heard by nobody', async () => {
    serve()
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    await bob.join('general', 'x')
    const one = await signedIn({ sub: 'u1', name: 'Alice' })
    await one.join('general', 'x')
    const two = await signedIn({ sub: 'u1', name: 'Alice' })
    await two.join('general', 'x')
    expect((await one.request({ action: 'leave', room: 'general' }, ['left'])).room).toBe('general')
    // Still a member through the other tab: it hears the room, bob heard no user_left.
    const still = two.next('message', (f) => f.content === 'still there?')
    bob.send({ action: 'message', room: 'general', content: 'still there?' })
    await still
    await bob.sync()
    expect(bob.frames.filter((f) => f.type === 'user_left')).toEqual([])
    expect(one.frames.filter((f) => f.content === 'still there?')).toEqual([])
    const left = bob.next('user_left')
    await two.request({ action: 'leave', room: 'general' }, ['left'])
    expect(await left).toMatchObject({ username: 'Alice', user_id: 'u1' })
  })

  it('is online while any connection is there: offline only when the last one drops', async () => {
    serve()
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    await bob.join('general', 'x')
    const one = await signedIn({ sub: 'u1', name: 'Alice' })
    await one.join('general', 'x')
    const two = await signedIn({ sub: 'u1', name: 'Alice' })
    await two.join('general', 'x')
    one.close()
    await one.closed
    await bob.sync()
    expect(bob.frames.filter((f) => f.type === 'presence')).toEqual([])
    expect((await members('general')).find((m) => m.user_id === 'u1')?.connections).toBe(1)
    const offline = bob.next('presence', (f) => f.status === 'offline')
    two.close()
    expect(await offline).toMatchObject({ username: 'Alice', user_id: 'u1' })
    // One connection comes back (resume): online again.
    const online = bob.next('presence', (f) => f.status === 'online')
    const again = await connect()
    await auth(again, await testToken({ sub: 'u1', name: 'Alice' }))
    const resumed = again.next('resumed')
    again.send({ action: 'resume', session: two.session, last_ids: {} })
    expect(await resumed).toMatchObject({ room: 'general', username: 'Alice' })
    expect(await online).toMatchObject({ username: 'Alice' })
  })

  it('a dropped tab whose grace runs out lets go; the user stays through the other tab', async () => {
    const clock = new FakeClock(Date.now())
    serve({ resumeGraceMs: 10_000, unjoinedTimeoutMs: 3_600_000 }, { clock })
    const bob = await signedIn({ sub: 'u2', name: 'Bob' }, clock.now())
    await bob.join('general', 'x')
    const one = await signedIn({ sub: 'u1', name: 'Alice' }, clock.now())
    await one.join('general', 'x')
    const two = await signedIn({ sub: 'u1', name: 'Alice' }, clock.now())
    await two.join('general', 'x')
    one.close()
    await one.closed
    await bob.ping()
    clock.advance(10_000)
    // Past the grace: Alice is still there, through the other tab, and nobody heard a thing.
    await bob.sync()
    expect(bob.frames.filter((f) => f.type === 'user_left')).toEqual([])
    expect((await members('general')).find((m) => m.user_id === 'u1')).toMatchObject({
      online: true,
      connections: 1,
    })
    // The other tab leaves: now Alice is gone (the dropped tab's hold went with its grace;
    // on Redis the janitor may let it go just after), and its session cannot be resumed.
    const left = bob.next('user_left')
    await two.request({ action: 'leave', room: 'general' }, ['left'])
    expect(await left).toMatchObject({ username: 'Alice', user_id: 'u1' })
    const late = await connect()
    await auth(late, await testToken({ sub: 'u1', name: 'Alice' }, clock.now()))
    await expect(
      late.request({ action: 'resume', session: one.session, last_ids: {} }, ['resumed']),
    ).resolves.toMatchObject({ type: 'error', code: 'not_authorized' })
  })

  it('a ban removes every connection of the user', async () => {
    serve()
    const admin = await signedIn({ sub: 'a1', name: 'Admin' })
    const mod = await connect()
    await auth(mod, await testToken({ sub: 'm1', name: 'Mod', chat: { moderates: ['*'] } }))
    await mod.join('general', 'x')
    await admin.join('general', 'x')
    const tabs = [
      await signedIn({ sub: 'u1', name: 'Alice' }),
      await signedIn({ sub: 'u1', name: 'Alice' }),
    ]
    for (const t of tabs) await t.join('general', 'x')
    const banned = tabs.map((t) => t.next('banned'))
    await mod.request({ action: 'ban', room: 'general', username: 'Alice' }, ['moderated'])
    for (const frame of await Promise.all(banned)) expect(frame).toMatchObject({ by: 'Mod' })
    const said = admin.next('message', (f) => f.content === 'after')
    mod.send({ action: 'message', room: 'general', content: 'after' })
    await said
    for (const t of tabs) {
      await t.ping()
      expect(t.frames.filter((f) => f.content === 'after')).toEqual([])
    }
    expect(await members('general')).not.toContainEqual(expect.objectContaining({ user_id: 'u1' }))
  })

  it('anonymous connections stay apart: the same name is taken', async () => {
    serve()
    const first = await connect()
    await first.join('general', 'sam')
    const second = await connect()
    expect(
      await second.request({ action: 'join', room: 'general', username: 'sam' }, ['joined']),
    ).toMatchObject({ code: 'username_taken' })
  })

  it('sends member.joined when the first connection joins and member.left when the last one leaves', async () => {
    const receiver = new WebhookReceiver()
    try {
      const secret = `whsec_${Buffer.from('a webhook secret of 32 bytes!!!!').toString('base64')}`
      serve({
        webhookUrl: receiver.url,
        webhookSecret: secret,
        webhookEvents: ['member.joined', 'member.left'],
      })
      const one = await signedIn({ sub: 'u1', name: 'Alice' })
      await one.join('general', 'x')
      const two = await signedIn({ sub: 'u1', name: 'Alice' })
      await two.join('general', 'x')
      await one.request({ action: 'leave', room: 'general' }, ['left'])
      await two.request({ action: 'leave', room: 'general' }, ['left'])
      await receiver.requests.nth(2, 'two webhook requests')
      // A third event (another user's) marks the end: no other event of Alice's came.
      const bob = await signedIn({ sub: 'u2', name: 'Bob' })
      await bob.join('general', 'x')
      await receiver.requests.nth(3, 'three webhook requests')
      const types = receiver.requests.items.map((r) => {
        const body = JSON.parse(r.body) as { type: string; data: Frame }
        return [body.type, body.data.user_id]
      })
      // Up to four are in flight at once: compare them in any order.
      expect(types.sort()).toEqual([
        ['member.joined', 'u1'],
        ['member.joined', 'u2'],
        ['member.left', 'u1'],
      ])
    } finally {
      await receiver.stop()
    }
  })
})
