import { describe, expect, it } from 'bun:test'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { TEST_JWT_SECRET } from '../support/tokens.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

// Read markers and unread counts (issue 16), on both engines: a member's last-read id only
// moves forward, the others hear `read` at most once per member per room per second (the
// latest winning), joined/resumed carry every marker and the member's unread count.

const { serve, connect, member, signedIn } = useServer({
  rateLimitPerSec: 1000,
  rateLimitBurst: 1000,
  resumeGraceMs: 60_000,
  unjoinedTimeoutMs: 3_600_000,
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
})

/** Posts `content` to `room` and returns its id, once the sender saw it stored. */
async function say(client: TestClient, content: string, room = 'general'): Promise<string> {
  const echo = client.next('message', (f) => f.content === content)
  client.send({ action: 'message', room, content })
  return (await echo).id
}

/** The `joined` a member gets by joining again from the same connection: the room now. */
function again(client: TestClient, username: string): Promise<Frame> {
  return client.join('general', username)
}

const reads = (client: TestClient) => client.frames.filter((f) => f.type === 'read')

describe('read markers', () => {
  it('tells the others where a member has read to, and never moves a marker back', async () => {
    const clock = new FakeClock(Date.now())
    serve({}, { clock })
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const [m1, m2, m3] = [
      await say(alice, 'one'),
      await say(alice, 'two'),
      await say(alice, 'three'),
    ]
    const heard = alice.next('read')
    bob.send({ action: 'read', room: 'general', id: m2 })
    expect(await heard).toEqual({ type: 'read', room: 'general', username: 'bob', id: m2 })
    clock.advance(1000)
    // An older id, or the same one, is ignored: nobody hears of it, the marker stays.
    bob.send({ action: 'read', room: 'general', id: m1 })
    bob.send({ action: 'read', room: 'general', id: m2 })
    await bob.ping()
    clock.advance(1000)
    await alice.sync()
    expect(reads(alice)).toHaveLength(1)
    expect((await again(bob, 'bob')).read).toEqual({ bob: m2 })
    // It moves on from there.
    const later = alice.next('read')
    bob.send({ action: 'read', room: 'general', id: m3 })
    expect(await later).toMatchObject({ username: 'bob', id: m3 })
    // A newcomer learns every marker from joined, and has everything to read.
    const carol = await connect()
    const joined = await carol.join('general', 'carol')
    expect(joined.read).toEqual({ bob: m3 })
    expect(joined.unread).toBe(3)
    // The reader's own connection hears nothing of it.
    await bob.sync()
    expect(reads(bob)).toEqual([])
  })

  it('sends at most one read per member per room per second, the latest value at the end of the second', async () => {
    const clock = new FakeClock(Date.now())
    serve({}, { clock })
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const ids: string[] = []
    for (let i = 1; i <= 4; i++) ids.push(await say(alice, `m${i}`))
    const first = alice.next('read')
    bob.send({ action: 'read', room: 'general', id: ids[0] })
    expect(await first).toMatchObject({ id: ids[0] })
    clock.advance(300)
    bob.send({ action: 'read', room: 'general', id: ids[1] })
    bob.send({ action: 'read', room: 'general', id: ids[2] })
    await bob.ping()
    clock.advance(699)
    await alice.sync()
    expect(reads(alice)).toHaveLength(1)
    // The marker itself moved at once: a join sees it before the frame goes out.
    expect((await again(bob, 'bob')).read).toEqual({ bob: ids[2] })
    const trailing = alice.next('read')
    clock.advance(1)
    expect(await trailing).toMatchObject({ username: 'bob', id: ids[2] })
    // A window that starts after a quiet second sends at once again.
    clock.advance(1000)
    const next = alice.next('read')
    bob.send({ action: 'read', room: 'general', id: ids[3] })
    expect(await next).toMatchObject({ id: ids[3] })
    await alice.sync()
    expect(reads(alice).map((f) => f.id)).toEqual([ids[0], ids[2], ids[3]])
  })

  it('counts as unread the kept text messages of others after your own marker', async () => {
    serve()
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const a1 = await say(alice, 'a1')
    await say(bob, 'b1')
    await say(alice, 'a2')
    await say(alice, 'a3')
    // No marker yet: every text message of the others (system notes and own ones are not).
    const before = await again(bob, 'bob')
    expect(before.read).toEqual({})
    expect(before.unread).toBe(3)
    bob.send({ action: 'read', room: 'general', id: a1 })
    await bob.ping()
    const after = await again(bob, 'bob')
    expect(after.read).toEqual({ bob: a1 })
    expect(after.unread).toBe(2)
    expect((await again(alice, 'alice')).unread).toBe(1)
  })

  it('refuses a read of no message of the room, and from a non-member, with a clear error', async () => {
    serve()
    const alice = await member('general', 'alice')
    const id = await say(alice, 'hello')
    const ask = (frame: Frame) => alice.request({ action: 'read', room: 'general', ...frame }, [])
    expect(await ask({ id: 'nope' })).toMatchObject({ code: 'invalid_message' })
    expect(await ask({})).toMatchObject({ code: 'invalid_message' })
    expect(await ask({ id: true })).toMatchObject({ code: 'invalid_message' })
    for (const bad of ['0', '999999999999'])
      expect(await ask({ id: bad })).toMatchObject({ code: 'message_not_found' })
    const outsider = await connect()
    expect(await outsider.request({ action: 'read', room: 'general', id }, [])).toMatchObject({
      code: 'not_authorized',
    })
    expect(await alice.request({ action: 'read', room: 'nowhere', id }, [])).toMatchObject({
      type: 'error',
    })
    // An id as a number is an id too.
    alice.send({ action: 'read', room: 'general', id: Number(id) })
    await alice.ping()
    expect((await again(alice, 'alice')).read).toEqual({ alice: id })
  })

  it("shares a signed-in user's marker between their devices, and keeps it after they leave", async () => {
    serve()
    const bob = await member('general', 'bob')
    const one = await signedIn({ sub: 'u1', name: 'Alice' })
    await one.join('general', 'x')
    const two = await signedIn({ sub: 'u1', name: 'Alice' })
    await two.join('general', 'x')
    const m1 = await say(bob, 'one')
    const m2 = await say(bob, 'two')
    const heard = [bob, two].map((c) => c.next('read'))
    one.send({ action: 'read', room: 'general', id: m2 })
    for (const frame of await Promise.all(heard))
      expect(frame).toEqual({
        type: 'read',
        room: 'general',
        username: 'Alice',
        user_id: 'u1',
        id: m2,
      })
    // One marker: the other device cannot move it back.
    two.send({ action: 'read', room: 'general', id: m1 })
    await two.ping()
    expect((await two.join('general', 'x')).read).toEqual({ Alice: m2 })
    for (const c of [one, two]) await c.request({ action: 'leave', room: 'general' }, ['left'])
    await say(bob, 'three')
    const back = await signedIn({ sub: 'u1', name: 'Alice' })
    const joined = await back.join('general', 'x')
    expect(joined.read).toMatchObject({ Alice: m2 })
    expect(joined.unread).toBe(1)
  })

  it("gives an anonymous member's marker to their session only: a newcomer with the name starts afresh", async () => {
    serve()
    const bob = await member('general', 'bob')
    const id = await say(bob, 'hi')
    const alice = await member('general', 'alice')
    alice.send({ action: 'read', room: 'general', id })
    await alice.ping()
    await alice.request({ action: 'leave', room: 'general' }, ['left'])
    const other = await connect()
    const joined = await other.join('general', 'alice')
    expect(joined.read).toEqual({})
    expect(joined.unread).toBe(1)
  })

  it('brings a resumed client to the state of one that stayed, missed read markers included', async () => {
    const clock = new FakeClock(Date.now())
    serve({}, { clock })
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const stayed = await member('general', 'carol')
    const m1 = await say(alice, 'one')
    bob.send({ action: 'read', room: 'general', id: m1 })
    await stayed.next('read', (f) => f.username === 'bob')
    bob.close()
    await bob.closed
    await alice.ping()
    // While bob is away: messages, and markers of alice and carol.
    const m2 = await say(alice, 'two')
    const m3 = await say(stayed, 'three')
    const heard = stayed.next('read', (f) => f.username === 'alice')
    alice.send({ action: 'read', room: 'general', id: m3 })
    await heard
    stayed.send({ action: 'read', room: 'general', id: m2 })
    await stayed.ping()
    clock.advance(1000)
    const back = await connect()
    const resumed = back.next('resumed')
    back.send({ action: 'resume', session: bob.session, last_ids: { general: m1 } })
    const frame = await resumed
    // What carol knows of the markers, from her joined and the read frames since.
    const known: Record<string, string> = {}
    const joined = stayed.frames.find((f) => f.type === 'joined')
    Object.assign(known, joined?.read)
    for (const f of reads(stayed)) known[f.username] = f.id
    known.carol = m2
    expect(frame.read).toEqual({ ...known, bob: m1 })
    expect(frame.read).toEqual({ alice: m3, bob: m1, carol: m2 })
    expect(frame.unread).toBe(2)
  })

  it('broadcasts no read frames in a room above READ_MARKERS_MAX_MEMBERS; own marker and unread still work', async () => {
    serve({ readMarkersMaxMembers: 2 })
    const alice = await member('general', 'alice')
    const bob = await member('general', 'bob')
    const m1 = await say(alice, 'one')
    const heard = alice.next('read')
    bob.send({ action: 'read', room: 'general', id: m1 })
    expect(await heard).toMatchObject({ username: 'bob' })
    const carol = await member('general', 'carol')
    // Three members now: markers are kept, not broadcast, and joined shows only your own.
    expect((await again(carol, 'carol')).read).toEqual({})
    const m2 = await say(alice, 'two')
    bob.send({ action: 'read', room: 'general', id: m2 })
    carol.send({ action: 'read', room: 'general', id: m1 })
    await bob.ping()
    await carol.ping()
    for (const c of [alice, carol]) await c.sync()
    expect(reads(alice)).toHaveLength(1)
    expect(reads(carol)).toEqual([])
    const mine = await again(bob, 'bob')
    expect(mine.read).toEqual({ bob: m2 })
    expect(mine.unread).toBe(0)
    expect((await again(carol, 'carol')).unread).toBe(1)
  })
})
