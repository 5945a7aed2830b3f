import { describe, expect, it } from 'bun:test'
import { directRoomId } from '../../src/chat/direct-ids.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { auth, TEST_JWT_SECRET, testToken } from '../support/tokens.ts'
import { WebhookReceiver } from '../support/webhook-receiver.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

// Direct conversations (issue 16) between two signed-in users, on both engines.

const API_KEY = 'an-api-key-for-the-tests'
const { serve, connect, http, signedIn } = useServer({
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
  apiKey: API_KEY,
  rateLimitPerSec: 1000,
  rateLimitBurst: 1000,
})

const ALICE = { sub: 'u1', name: 'Alice' }
const BOB = { sub: 'u2', name: 'Bob' }
const CAROL = { sub: 'u3', name: 'Carol' }

const direct = (client: TestClient, userId: string): Promise<Frame> =>
  client.request({ action: 'direct', user_id: userId }, ['joined'])

const directs = async (client: TestClient): Promise<Frame[]> =>
  (await client.request({ action: 'directs' }, ['directs'])).rooms

async function say(client: TestClient, room: string, content: string): Promise<Frame> {
  const echo = client.next('message', (f) => f.content === content)
  client.send({ action: 'message', room, content })
  return echo
}

describe('direct conversations', () => {
  it('joins both users to one room whose id is the same from either side', async () => {
    serve()
    const alice = await signedIn(ALICE)
    const bob = await signedIn(BOB)
    const mine = await direct(alice, 'u2')
    const room = directRoomId('u1', 'u2')
    expect(room).toBe(directRoomId('u2', 'u1'))
    expect(mine).toMatchObject({ type: 'joined', room, username: 'Alice', moderator: false })
    expect(mine.moderator_token).toBeUndefined()
    const heard = alice.next('user_joined')
    const theirs = await direct(bob, 'u1')
    expect(theirs).toMatchObject({ room, username: 'Bob', moderator: false })
    expect(theirs.users.map((u: Frame) => u.user_id)).toEqual(['u1', 'u2'])
    expect(await heard).toMatchObject({ room, username: 'Bob', user_id: 'u2' })
    // A `direct` again is a join again: the same room, no second member.
    const again = await direct(alice, 'u2')
    expect(again).toMatchObject({ type: 'joined', room })
    expect(again.users).toHaveLength(2)
  })

  it('derives a safe id from user ids with any characters', async () => {
    serve()
    const odd = { sub: 'auth0|a:b/{c} é', name: 'Odd' }
    const other = { sub: 'dm:x:y', name: 'Other' }
    const one = await signedIn(odd)
    const two = await signedIn(other)
    const a = await direct(one, other.sub)
    const b = await direct(two, odd.sub)
    expect(a.room).toBe(b.room)
    expect(a.room).toMatch(/^dm:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/)
    const hi = two.next('message', (f) => f.content === 'hi')
    await say(one, a.room, 'hi')
    expect(await hi).toMatchObject({ room: a.room, user_id: odd.sub })
  })

  it('tells the other user, on each connection, of the first message while they are not in it', async () => {
    serve()
    const alice = await signedIn(ALICE)
    const tab1 = await signedIn(BOB)
    const tab2 = await signedIn(BOB)
    const carol = await signedIn(CAROL)
    const { room } = await direct(alice, 'u2')
    const told = [tab1, tab2].map((c) => c.next('direct'))
    await say(alice, room, 'hello Bob')
    for (const frame of await Promise.all(told)) {
      expect(frame).toEqual({ type: 'direct', room, from: { user_id: 'u1', username: 'Alice' } })
    }
    // The second message tells nobody again; Carol never hears of it.
    await say(alice, room, 'are you there?')
    for (const c of [tab1, tab2, carol]) {
      await c.sync()
      expect(c.frames.filter((f) => f.type === 'direct' || f.type === 'message')).toHaveLength(
        c === carol ? 0 : 1,
      )
    }
    // Bob comes in: the history holds both messages.
    const joined = await direct(tab1, 'u1')
    const texts = joined.history
      .filter((m: Frame) => m.type === 'text')
      .map((m: Frame) => m.content)
    expect(texts).toEqual(['hello Bob', 'are you there?'])
    // While Bob is a member, a message is a message: no notice.
    const got = tab1.next('message', (f) => f.content === 'hi!')
    await say(alice, room, 'hi!')
    await got
    await tab2.sync()
    expect(tab2.frames.filter((f) => f.type === 'direct')).toHaveLength(1)
  })

  it('lets in only its two users, whatever password or token; anonymous connections get not_authorized', async () => {
    serve()
    const alice = await signedIn(ALICE)
    const { room } = await direct(alice, 'u2')
    const carol = await signedIn(CAROL)
    for (const extra of [{}, { password: 'x' }, { token: 'x' }]) {
      const reply = await carol.request({ action: 'join', room, ...extra }, ['joined'])
      expect(reply).toMatchObject({ type: 'error', code: 'not_authorized' })
    }
    const anonymous = await connect()
    expect(
      await anonymous.request({ action: 'join', room, username: 'Mallory' }, ['joined']),
    ).toMatchObject({ code: 'not_authorized' })
    expect(await anonymous.request({ action: 'direct', user_id: 'u1' }, ['joined'])).toMatchObject({
      code: 'not_authorized',
    })
    expect(await anonymous.request({ action: 'directs' }, ['directs'])).toMatchObject({
      code: 'not_authorized',
    })
    // The other user may come in by the room id too (a `join`), as a plain member.
    const bob = await signedIn(BOB)
    const joined = await bob.request({ action: 'join', room, token: 'x' }, ['joined'])
    expect(joined).toMatchObject({ type: 'joined', room, username: 'Bob', moderator: false })
    // No moderator: a kick is refused.
    expect(
      await alice.request({ action: 'kick', room, username: 'Bob' }, ['moderated']),
    ).toMatchObject({ code: 'not_authorized' })
  })

  it('refuses a missing, empty, too long or own user_id with invalid_message', async () => {
    serve()
    const alice = await signedIn(ALICE)
    for (const frame of [
      { action: 'direct' },
      { action: 'direct', user_id: 5 },
      { action: 'direct', user_id: '' },
      { action: 'direct', user_id: 'x'.repeat(257) },
      { action: 'direct', user_id: 'u1' },
    ]) {
      expect(await alice.request(frame, ['joined'])).toMatchObject({
        type: 'error',
        code: 'invalid_message',
      })
    }
  })

  it('is never listed by REST, which knows it not; directs lists it for both users', async () => {
    serve()
    const alice = await signedIn(ALICE)
    const bob = await signedIn(BOB)
    const { room } = await direct(alice, 'u2')
    const list = (await (await http('/rooms')).json()) as { rooms: Frame[] }
    expect(list.rooms.map((r) => r.id)).not.toContain(room)
    const path = `/rooms/${encodeURIComponent(room)}`
    expect((await http(path)).status).toBe(404)
    expect((await http(`${path}/messages`)).status).toBe(404)
    expect(await directs(alice)).toEqual([{ room, user_id: 'u2' }])
    // Bob has it once the conversation has a message.
    expect(await directs(bob)).toEqual([])
    const told = bob.next('direct')
    await say(alice, room, 'psst')
    await told
    expect(await directs(bob)).toEqual([{ room, user_id: 'u1' }])
    const other = await direct(alice, 'u3')
    expect(await directs(alice)).toEqual([
      { room, user_id: 'u2' },
      { room: other.room, user_id: 'u3' },
    ])
  })

  it('counts a new direct room against MAX_ROOMS; one that exists opens at the limit', async () => {
    // The default room and one more.
    serve({ maxRooms: 2 })
    const alice = await signedIn(ALICE)
    const bob = await signedIn(BOB)
    const { room } = await direct(alice, 'u2')
    expect(await alice.request({ action: 'direct', user_id: 'u3' }, ['joined'])).toMatchObject({
      code: 'room_limit_reached',
    })
    expect(await direct(bob, 'u1')).toMatchObject({ room })
  })

  it('follows the empty-room rule: deleted with its history, then a new conversation starts afresh', async () => {
    const receiver = new WebhookReceiver()
    try {
      const clock = new FakeClock(Date.now())
      const secret = `whsec_${Buffer.from('a webhook secret of 32 bytes!!!!').toString('base64')}`
      serve(
        {
          resumeGraceMs: 0,
          roomEmptyTtlMs: 60_000,
          unjoinedTimeoutMs: 3_600_000,
          webhookUrl: receiver.url,
          webhookSecret: secret,
          webhookEvents: ['room.deleted'],
        },
        { clock },
      )
      const signIn = async (claims: typeof ALICE) => {
        const c = await connect()
        expect((await auth(c, await testToken(claims, clock.now()))).type).toBe('authenticated')
        return c
      }
      const alice = await signIn(ALICE)
      const bob = await signIn(BOB)
      const { room } = await direct(alice, 'u2')
      const told = bob.next('direct')
      await say(alice, room, 'old news')
      await told
      await direct(bob, 'u1')
      await bob.request({ action: 'leave', room }, ['left'])
      await alice.request({ action: 'leave', room }, ['left'])
      clock.advance(60_000)
      const deleted = JSON.parse((await receiver.requests.nth(1, 'room.deleted')).body)
      expect(deleted).toMatchObject({ type: 'room.deleted', data: { room, reason: 'empty' } })
      expect(await directs(alice)).toEqual([])
      expect(await directs(bob)).toEqual([])
      // A new conversation: no old history, and Bob is told of its first message again.
      const fresh = await direct(alice, 'u2')
      expect(fresh.room).toBe(room)
      expect(fresh.history.filter((m: Frame) => m.type === 'text')).toEqual([])
      const again = bob.next('direct')
      await say(alice, room, 'new news')
      expect(await again).toMatchObject({ room, from: { user_id: 'u1' } })
    } finally {
      await receiver.stop()
    }
  })
})
