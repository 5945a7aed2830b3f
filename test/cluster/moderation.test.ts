/**
 * Moderation, private rooms and empty rooms across nodes (issue 9, lines 5 and 7).
 */
import { describe, expect, it } from 'bun:test'
import { SignJWT } from 'jose'
import { type ChatNode, useCluster } from '../support/cluster.ts'
import { type Frame, TestClient } from '../support/ws-client.ts'

const { start, connect } = useCluster()

async function createRoom(node: ChatNode, body: Frame): Promise<Frame> {
  const res = await fetch(`${node.httpUrl}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(201)
  return (await res.json()) as Frame
}

describe('cluster: the server API deletes a room', () => {
  it('removes the members on every node: each gets room_deleted; the room is gone everywhere', async () => {
    const key = 'an-api-key-for-the-tests'
    const [a, b] = await start(2, { env: { API_KEY: key } })
    if (!a || !b) throw new Error('nodes')
    await createRoom(a, { name: 'Shared' })
    const alice = await connect(a)
    await alice.join('shared', 'alice')
    const bob = await connect(b)
    await bob.join('shared', 'bob')
    await alice.next('user_joined')
    const told = [alice.next('room_deleted'), bob.next('room_deleted')]
    const res = await fetch(`${b.httpUrl}/api/rooms/shared`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(res.status).toBe(204)
    for (const frame of await Promise.all(told)) expect(frame.room).toBe('shared')
    for (const node of [a, b])
      expect((await fetch(`${node.httpUrl}/rooms/shared`)).status).toBe(404)
    const again = await bob.request({ action: 'join', room: 'shared', username: 'bob' }, ['joined'])
    expect(again).toMatchObject({ type: 'error', code: 'room_not_found' })
    // The nodes keep serving: alice can make a room of that name again, empty.
    await createRoom(a, { name: 'Shared' })
    expect((await alice.join('shared', 'alice')).users.length).toBe(1)
  }, 20_000)
})

describe('cluster: the server API disconnects a user', () => {
  it("closes the user's connections on every node with 4403, and a block holds on every node", async () => {
    const key = 'an-api-key-for-the-tests'
    const secret = 'a-test-secret-of-at-least-32-bytes!!'
    const env = { API_KEY: key, AUTH_MODE: 'optional', AUTH_JWT_SECRET: secret }
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    const now = Math.floor(Date.now() / 1000)
    const jwt = await new SignJWT({ name: 'Alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(secret))
    const tabs = [await connect(a), await connect(b)]
    for (const tab of tabs)
      expect((await tab.request({ action: 'auth', token: jwt }, ['authenticated'])).type).toBe(
        'authenticated',
      )
    const told = tabs.map((t) => t.next('error', (f) => f.code === 'not_authorized'))
    const res = await fetch(`${a.httpUrl}/api/users/u1/disconnect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'Account closed', block_ms: 60_000 }),
    })
    expect(res.status).toBe(204)
    for (const frame of await Promise.all(told)) expect(frame.message).toBe('Account closed')
    for (const tab of tabs) expect((await tab.closed).code).toBe(4403)
    const elsewhere = await connect(b)
    const refused = await elsewhere.request({ action: 'auth', token: jwt }, ['authenticated'])
    expect(refused).toMatchObject({ type: 'error', code: 'invalid_token' })
  }, 20_000)
})

describe('cluster: moderation and private rooms', () => {
  it('applies a ban given on one node to a member on another at once, and holds it on a third', async () => {
    const [a, b, c] = await start(3)
    if (!a || !b || !c) throw new Error('nodes')
    const room = await createRoom(a, { name: 'Mods' })
    const mod = await connect(a)
    await mod.join('mods', 'mod', { token: room.moderator_token })
    const bob = await connect(b)
    await bob.join('mods', 'bob')
    await mod.next('user_joined')
    const ack = await mod.request({ action: 'ban', room: 'mods', username: 'bob' }, ['moderated'])
    expect(ack.type).toBe('moderated')
    expect(await bob.next('banned')).toMatchObject({ room: 'mods', by: 'mod' })
    expect((await mod.next('user_left')).username).toBe('bob')
    expect((await mod.next('system')).content).toBe('bob was banned by mod')
    // bob no longer hears the room
    mod.send({ action: 'message', room: 'mods', content: 'after the ban' })
    await mod.next('message')
    expect((await bob.sync()).filter((f) => f.type === 'message')).toEqual([])
    const elsewhere = await connect(c)
    const refused = await elsewhere.request({ action: 'join', room: 'mods', username: 'bob' }, [
      'joined',
    ])
    expect(refused).toMatchObject({ type: 'error', code: 'not_authorized' })
    for (const node of [a, b, c]) {
      const res = await fetch(`${node.httpUrl}/rooms/mods/bans`, {
        headers: { authorization: `Bearer ${room.moderator_token}` },
      })
      expect(res.status).toBe(200)
      const body = (await res.json()) as Frame
      expect(body.bans.map((x: Frame) => x.username)).toEqual(['bob'])
    }
  }, 20_000)

  it('kicks and mutes across nodes', async () => {
    const [a, b] = await start(2)
    if (!a || !b) throw new Error('nodes')
    const room = await createRoom(a, { name: 'Quiet' })
    const mod = await connect(a)
    await mod.join('quiet', 'mod', { token: room.moderator_token })
    const bob = await connect(b)
    await bob.join('quiet', 'bob')
    await mod.request({ action: 'mute', room: 'quiet', username: 'bob', duration_ms: 60_000 }, [
      'moderated',
    ])
    await bob.next('system', (f) => f.content.includes('muted'))
    const muted = await bob.request({ action: 'message', room: 'quiet', content: 'hello?' }, [])
    expect(muted).toMatchObject({ code: 'not_authorized', message: 'You are muted in this room' })
    await mod.request({ action: 'kick', room: 'quiet', username: 'bob' }, ['moderated'])
    expect((await bob.next('kicked')).by).toBe('mod')
    // kicked, not banned: may come back
    expect((await bob.join('quiet', 'bob')).username).toBe('bob')
  }, 20_000)

  it('checks a private room password on every node', async () => {
    const [a, b] = await start(2)
    if (!a || !b) throw new Error('nodes')
    await createRoom(a, { name: 'Secret', password: 'open sesame' })
    const x = await connect(b)
    const wrong = await x.request(
      { action: 'join', room: 'secret', username: 'x', password: 'nope' },
      ['joined'],
    )
    expect(wrong).toMatchObject({ type: 'error', code: 'not_authorized' })
    expect((await x.join('secret', 'x', { password: 'open sesame' })).room).toBe('secret')
    // As on one node: a taken name is said before any password is checked.
    const y = await connect(a)
    const taken = await y.request(
      { action: 'join', room: 'secret', username: 'X', password: 'nope' },
      ['joined'],
    )
    expect(taken).toMatchObject({ type: 'error', code: 'username_taken' })
    const list = (await (await fetch(`${b.httpUrl}/rooms`)).json()) as Frame
    expect(list.rooms.map((r: Frame) => r.id)).not.toContain('secret')
  }, 20_000)
})

describe('cluster: empty rooms', () => {
  it('deletes a room once, cluster-wide, ROOM_EMPTY_TTL_MS after its last member on any node left; never a default room', async () => {
    const env = { ROOM_EMPTY_TTL_MS: '600', RESUME_GRACE_MS: '0' }
    const [a, b] = await start(2, { env })
    if (!a || !b) throw new Error('nodes')
    await createRoom(a, { name: 'Brief' })
    const alice = await connect(a)
    const bob = await connect(b)
    await alice.join('brief', 'alice')
    await bob.join('brief', 'bob')
    await alice.join('general', 'alice')
    alice.send({ action: 'leave', room: 'brief' })
    await alice.next('left')
    const leftAt = Date.now()
    bob.close()
    const gone = async (node: ChatNode) =>
      (await fetch(`${node.httpUrl}/rooms/brief`)).status === 404
    while (!(await gone(a)) && Date.now() - leftAt < 5000) await Bun.sleep(50)
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(600)
    expect(await gone(a)).toBe(true)
    expect(await gone(b)).toBe(true)
    expect((await fetch(`${b.httpUrl}/rooms/general`)).status).toBe(200)
    // The name is free again: a new room of that name starts afresh.
    const again = await createRoom(b, { name: 'Brief' })
    expect(again.user_count).toBe(0)
    const carol = await TestClient.connect(a.wsUrl)
    const joined = await carol.join('brief', 'carol')
    expect(joined.history.map((m: Frame) => m.content)).toEqual(['carol joined'])
    carol.close()
  }, 20_000)
})
