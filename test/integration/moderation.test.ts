/**
 * Issue 4, moderators: the moderator token, rooms created over WebSocket, ban, kick,
 * unban, mute and unmute, the bans view and the audit trail in history.
 */
import { describe, expect, it } from 'bun:test'
import type { AppDeps } from '../../src/app.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import type { Frame, TestClient } from '../support/ws-client.ts'

const { serve, connect, http, postRoom, tryJoin } = useServer()

interface ModRoom {
  token: string
  alice: TestClient
  bob: TestClient
  carol: TestClient
}

/** Room "mod-room": alice joined with the token (moderator), then bob and carol. */
async function moderatedRoom(deps: AppDeps = {}): Promise<ModRoom> {
  serve({}, deps)
  const res = await postRoom({ name: 'Mod Room' })
  const { moderator_token: token } = (await res.json()) as Frame
  const alice = await connect()
  const bob = await connect()
  const carol = await connect()
  await alice.join('mod-room', 'alice', { token })
  await bob.join('mod-room', 'bob')
  await carol.join('mod-room', 'carol')
  // Drop the user_joined frames so each test starts from a clean slate.
  await Promise.all([alice.sync(), bob.sync(), carol.sync()])
  return { token, alice, bob, carol }
}

function act(client: TestClient, action: string, username: string, extra: Frame = {}) {
  return client.request({ action, room: 'mod-room', username, ...extra }, ['moderated'])
}

async function storedHistory(): Promise<Frame[]> {
  const res = await http('/rooms/mod-room/messages?limit=100')
  return ((await res.json()) as Frame).messages
}

describe('the moderator token', () => {
  it('makes whoever joins with it a moderator, shown in the user lists', async () => {
    const { token, alice, bob } = await moderatedRoom()
    const dave = await connect()
    const joined = await dave.join('mod-room', 'dave', { token })
    expect(joined.moderator).toBe(true)
    expect(joined.moderator_token).toBeUndefined()
    const users = Object.fromEntries(joined.users.map((u: Frame) => [u.username, u.moderator]))
    expect(users).toEqual({ alice: true, bob: false, carol: false, dave: true })
    const details = (await (await http('/rooms/mod-room')).json()) as Frame
    expect(details.users.find((u: Frame) => u.username === 'bob').moderator).toBe(false)
    expect(details.users.find((u: Frame) => u.username === 'alice').moderator).toBe(true)
    expect(await alice.sync()).toEqual([
      { type: 'user_joined', room: 'mod-room', username: 'dave' },
    ])
    expect(await bob.sync()).toHaveLength(1)
  })

  it('refuses a wrong token with not_authorized and does not join', async () => {
    const { alice } = await moderatedRoom()
    const eve = await connect()
    const reply = await tryJoin(eve, 'mod-room', 'eve', { token: 'not-the-token' })
    expect(reply).toMatchObject({ type: 'error', code: 'not_authorized', room: 'mod-room' })
    expect(await alice.sync()).toEqual([])
    const details = (await (await http('/rooms/mod-room')).json()) as Frame
    expect(details.users.map((u: Frame) => u.username)).not.toContain('eve')
    // Not a member: eve cannot speak there.
    const err = await eve.request({ action: 'message', room: 'mod-room', content: 'hi' }, [])
    expect(err.code).toBe('not_authorized')
  })

  it('is never sent to the members who join without it', async () => {
    const { bob } = await moderatedRoom()
    const joined = await tryJoin(bob, 'mod-room', 'bob')
    expect(joined.moderator).toBe(false)
    expect(joined.moderator_token).toBeUndefined()
  })
})

describe('creating a room over WebSocket', () => {
  it('joins the creator as moderator and gives them alone the token', async () => {
    serve()
    const carol = await connect()
    const joined = await carol.request(
      { action: 'create', name: 'Team Room', username: 'carol', max_users: 5 },
      ['joined'],
    )
    expect(joined).toMatchObject({ type: 'joined', room: 'team-room', moderator: true })
    expect(joined.users).toEqual([{ username: 'carol', status: 'online', moderator: true }])
    expect(typeof joined.moderator_token).toBe('string')
    const dan = await connect()
    const plain = await dan.join('team-room', 'dan')
    expect(plain.moderator_token).toBeUndefined()
    // The token it returned works like the one from POST /rooms.
    const bans = await http('/rooms/team-room/bans', {
      headers: { authorization: `Bearer ${joined.moderator_token}` },
    })
    expect(bans.status).toBe(200)
    const erin = await connect()
    const mod = await erin.join('team-room', 'erin', { token: joined.moderator_token })
    expect(mod.moderator).toBe(true)
  })

  it('refuses a name that is already taken with room_exists', async () => {
    serve()
    const carol = await connect()
    const reply = await carol.request({ action: 'create', name: 'General', username: 'c' }, [
      'joined',
    ])
    expect(reply).toMatchObject({ type: 'error', code: 'room_exists' })
  })
})

describe('ban', () => {
  it('removes the user: they get banned, the others user_left and a system message', async () => {
    const { alice, bob, carol } = await moderatedRoom()
    const banned = bob.next('banned')
    const left = carol.next('user_left')
    const system = carol.next('system')
    const ack = await act(alice, 'ban', 'bob')
    expect(ack).toMatchObject({ type: 'moderated', room: 'mod-room', action: 'ban' })
    expect(await banned).toEqual({ type: 'banned', room: 'mod-room', by: 'alice' })
    expect(await left).toEqual({ type: 'user_left', room: 'mod-room', username: 'bob' })
    const note = await system
    expect(note).toMatchObject({ room: 'mod-room', content: 'bob was banned by alice' })
    expect(await alice.next('system')).toEqual(note)
    // bob no longer gets the room's traffic.
    alice.send({ action: 'message', room: 'mod-room', content: 'bye bob' })
    await carol.next('message')
    expect(await bob.sync()).toEqual([])
  })

  it('holds against the name and against the same connection under a new name', async () => {
    const { token, alice, bob } = await moderatedRoom()
    await act(alice, 'ban', 'bob')
    await bob.next('banned')
    for (const name of ['bob', 'BOB', 'robert', 'someone else']) {
      expect(await tryJoin(bob, 'mod-room', name)).toMatchObject({
        type: 'error',
        code: 'not_authorized',
      })
    }
    // Not even with the moderator token.
    expect(await tryJoin(bob, 'mod-room', 'bobby', { token })).toMatchObject({
      code: 'not_authorized',
    })
    const other = await connect()
    expect(await tryJoin(other, 'mod-room', 'Bob')).toMatchObject({ code: 'not_authorized' })
    // Someone else on a fresh connection is not affected, nor is bob elsewhere.
    expect(await tryJoin(other, 'mod-room', 'dave')).toMatchObject({ type: 'joined' })
    expect(await tryJoin(bob, 'general', 'bob')).toMatchObject({ type: 'joined' })
  })

  it('keeps the names in the notes as written: any script, spaces and - _ .', async () => {
    const { alice } = await moderatedRoom()
    const odd = await connect()
    await odd.join('mod-room', 'Zoë Ωmega_-.1')
    await alice.next('user_joined', (f) => f.username === 'Zoë Ωmega_-.1')
    const system = alice.next('system')
    await act(alice, 'kick', 'Zoë Ωmega_-.1')
    expect((await system).content).toBe('Zoë Ωmega_-.1 was kicked by alice')
  })

  it('bans a name that is not in the room, before it comes', async () => {
    const { alice } = await moderatedRoom()
    const system = alice.next('system')
    await act(alice, 'ban', 'troll')
    expect((await system).content).toBe('troll was banned by alice')
    const troll = await connect()
    expect(await tryJoin(troll, 'mod-room', 'Troll')).toMatchObject({ code: 'not_authorized' })
  })

  it('refuses a moderator banning, kicking or muting themselves', async () => {
    const { alice, carol } = await moderatedRoom()
    for (const action of ['ban', 'kick', 'mute']) {
      const reply = await act(alice, action, 'Alice', { duration_ms: 1000 })
      expect(reply).toMatchObject({ type: 'error', room: 'mod-room' })
      expect(reply.code).toBe('invalid_message')
    }
    expect(await carol.sync()).toEqual([])
    const details = (await (await http('/rooms/mod-room')).json()) as Frame
    expect(details.users.map((u: Frame) => u.username)).toContain('alice')
  })
})

describe('unban', () => {
  it('lets the banned name and connection back in', async () => {
    const { alice, bob, carol } = await moderatedRoom()
    await act(alice, 'ban', 'bob')
    await bob.next('banned')
    const system = carol.next('system', (f) => f.content.includes('unbanned'))
    expect(await act(alice, 'unban', 'bob')).toMatchObject({ action: 'unban' })
    expect((await system).content).toBe('bob was unbanned by alice')
    expect(await tryJoin(bob, 'mod-room', 'bob')).toMatchObject({ type: 'joined' })
  })

  it('answers unbanning a name that is not banned with an error', async () => {
    const { alice } = await moderatedRoom()
    expect(await act(alice, 'unban', 'nobody')).toMatchObject({ code: 'invalid_message' })
  })
})

describe('kick', () => {
  it('removes the user, who may come back', async () => {
    const { alice, bob, carol } = await moderatedRoom()
    const kicked = bob.next('kicked')
    const left = carol.next('user_left')
    const system = carol.next('system')
    expect(await act(alice, 'kick', 'bob')).toMatchObject({ action: 'kick' })
    expect(await kicked).toEqual({ type: 'kicked', room: 'mod-room', by: 'alice' })
    expect(await left).toMatchObject({ username: 'bob' })
    expect((await system).content).toBe('bob was kicked by alice')
    const back = carol.next('user_joined')
    expect(await tryJoin(bob, 'mod-room', 'bob')).toMatchObject({ type: 'joined' })
    expect((await back).username).toBe('bob')
  })

  it('answers kicking someone who is not there with an error', async () => {
    const { alice } = await moderatedRoom()
    expect(await act(alice, 'kick', 'ghost')).toMatchObject({ code: 'invalid_message' })
  })
})

describe('mute', () => {
  it('refuses the muted user’s messages with not_authorized until the mute ends', async () => {
    const clock = new FakeClock()
    const { alice, bob, carol } = await moderatedRoom({ clock })
    const system = carol.next('system')
    await act(alice, 'mute', 'bob', { duration_ms: 10_000 })
    expect((await system).content).toContain('bob was muted by alice')
    const say = (content: string) =>
      bob.request({ action: 'message', room: 'mod-room', content }, ['message'])
    expect(await say('one')).toMatchObject({ type: 'error', code: 'not_authorized' })
    clock.advance(9999)
    expect(await say('two')).toMatchObject({ type: 'error', code: 'not_authorized' })
    expect(await carol.sync()).toEqual([])
    clock.advance(1)
    const heard = carol.next('message')
    bob.send({ action: 'message', room: 'mod-room', content: 'three' })
    expect(await heard).toMatchObject({ sender: 'bob', content: 'three' })
    // Refused messages were never stored.
    const texts = (await storedHistory()).filter((m) => m.type === 'text')
    expect(texts.map((m) => m.content)).toEqual(['three'])
  })

  it('is ended early by unmute', async () => {
    const clock = new FakeClock()
    const { alice, bob, carol } = await moderatedRoom({ clock })
    await act(alice, 'mute', 'bob', { duration_ms: 60_000 })
    const refused = await bob.request({ action: 'message', room: 'mod-room', content: 'x' }, [])
    expect(refused.code).toBe('not_authorized')
    const system = carol.next('system', (f) => f.content.includes('unmuted'))
    expect(await act(alice, 'unmute', 'bob')).toMatchObject({ action: 'unmute' })
    expect((await system).content).toBe('bob was unmuted by alice')
    const heard = carol.next('message')
    bob.send({ action: 'message', room: 'mod-room', content: 'free' })
    expect(await heard).toMatchObject({ content: 'free' })
  })

  it('hides the muted user’s typing from the others', async () => {
    const clock = new FakeClock()
    const { alice, bob, carol } = await moderatedRoom({ clock })
    await act(alice, 'mute', 'bob', { duration_ms: 60_000 })
    await Promise.all([bob.sync(), carol.sync()])
    bob.send({ action: 'typing', room: 'mod-room' })
    expect(await bob.sync()).toEqual([])
    expect(await carol.sync()).toEqual([])
  })
})

describe('when the last moderator leaves', () => {
  it('leaves the room without one until someone joins with the token', async () => {
    const { token, alice, bob } = await moderatedRoom()
    await alice.request({ action: 'leave', room: 'mod-room' }, ['left'])
    expect(await act(bob, 'kick', 'carol')).toMatchObject({ code: 'not_authorized' })
    const back = await connect()
    const joined = await back.join('mod-room', 'alice2', { token })
    expect(joined.moderator).toBe(true)
    expect(await act(back, 'kick', 'carol')).toMatchObject({ type: 'moderated' })
  })
})

describe('moderation by a non-moderator', () => {
  it('is refused with not_authorized and changes nothing', async () => {
    const { alice, bob, carol } = await moderatedRoom()
    for (const action of ['ban', 'kick', 'mute', 'unban', 'unmute']) {
      const reply = await act(bob, action, 'carol', { duration_ms: 1000 })
      expect(reply).toMatchObject({ type: 'error', code: 'not_authorized', room: 'mod-room' })
    }
    // Against the moderator too.
    expect(await act(carol, 'ban', 'alice')).toMatchObject({ code: 'not_authorized' })
    expect(await alice.sync()).toEqual([])
    const heard = alice.next('message')
    carol.send({ action: 'message', room: 'mod-room', content: 'still here' })
    expect(await heard).toMatchObject({ sender: 'carol' })
    expect((await storedHistory()).filter((m) => m.content.includes(' by '))).toEqual([])
  })

  it('is refused with not_authorized from someone who is not in the room', async () => {
    const { token } = await moderatedRoom()
    const outsider = await connect()
    await outsider.join('general', 'outsider')
    expect(await act(outsider, 'kick', 'bob')).toMatchObject({ code: 'not_authorized' })
    // Holding the token is not enough: moderation needs a moderator membership.
    expect(await act(outsider, 'kick', 'bob', { token })).toMatchObject({
      code: 'not_authorized',
    })
  })
})

describe('GET /rooms/{id}/bans', () => {
  it('lists the bans with the moderator token, and refuses 401 without it and 403 with a wrong one', async () => {
    const { token, alice, bob } = await moderatedRoom()
    await act(alice, 'ban', 'bob')
    await bob.next('banned')
    const ok = await http('/rooms/mod-room/bans', { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
    const { bans } = (await ok.json()) as Frame
    expect(bans).toHaveLength(1)
    expect(bans[0]).toMatchObject({ username: 'bob', by: 'alice' })
    expect(typeof bans[0].at).toBe('number')

    const none = await http('/rooms/mod-room/bans')
    expect(none.status).toBe(401)
    expect(((await none.json()) as Frame).error.code).toBe('not_authorized')
    const wrong = await http('/rooms/mod-room/bans', {
      headers: { authorization: 'Bearer nope' },
    })
    expect(wrong.status).toBe(403)
    expect(((await wrong.json()) as Frame).error.code).toBe('not_authorized')
    const basic = await http('/rooms/mod-room/bans', { headers: { authorization: token } })
    expect(basic.status).toBe(401)
    expect(((await basic.json()) as Frame).error.code).toBe('not_authorized')
  })
})

describe('the audit trail', () => {
  it('stores every moderation act in history as a system message', async () => {
    const clock = new FakeClock()
    const { alice } = await moderatedRoom({ clock })
    await act(alice, 'mute', 'carol', { duration_ms: 30_000 })
    await act(alice, 'unmute', 'carol')
    await act(alice, 'kick', 'carol')
    await act(alice, 'ban', 'bob')
    await act(alice, 'unban', 'bob')
    const stored = (await storedHistory()).filter((m) => m.content.includes(' by alice'))
    expect(stored.map((m) => [m.type, m.sender, m.content])).toEqual([
      ['system', 'system', 'carol was muted by alice for 30 s'],
      ['system', 'system', 'carol was unmuted by alice'],
      ['system', 'system', 'carol was kicked by alice'],
      ['system', 'system', 'bob was banned by alice'],
      ['system', 'system', 'bob was unbanned by alice'],
    ])
    // The same history reaches a member over WebSocket.
    const page = await alice.request({ action: 'history', room: 'mod-room' }, ['history'])
    const contents = page.messages.map((m: Frame) => m.content)
    for (const m of stored) expect(contents).toContain(m.content)
  })
})
