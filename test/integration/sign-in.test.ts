import { describe, expect, it } from 'bun:test'
import { FakeClock } from '../support/fake-clock.ts'
import { useServer } from '../support/harness.ts'
import { auth, TEST_JWT_SECRET, type TestClaims, testToken as token } from '../support/tokens.ts'
import { type Frame, TestClient } from '../support/ws-client.ts'

// Sign-in with the app's tokens (AUTH_MODE), over real sockets, with tokens minted here.

const { serve, connect, tryJoin, createRoom, http, postRoom, signedIn } = useServer({
  authMode: 'optional',
  authJwtSecret: TEST_JWT_SECRET,
})

describe('auth', () => {
  it('signs in: authenticated with the user and when the token expires', async () => {
    serve()
    const client = await connect()
    const jwt = await token({ sub: 'u1', name: 'Alice', ttlS: 600 })
    const reply = await auth(client, jwt)
    expect(reply).toMatchObject({ type: 'authenticated', user: { id: 'u1', name: 'Alice' } })
    const exp = JSON.parse(atob(jwt.split('.')[1] as string)).exp
    expect(reply.expires_at).toBe(exp * 1000)
    expect(typeof reply.ref).toBe('string')
  })

  it('names the user by name, else preferred_username, else sub', async () => {
    serve()
    const a = await connect()
    expect(
      (await auth(a, await token({ sub: 'u2', preferred_username: 'bob' } as TestClaims))).user,
    ).toEqual({ id: 'u2', name: 'bob' })
    const b = await connect()
    expect((await auth(b, await token({ sub: 'carol' }))).user).toEqual({
      id: 'carol',
      name: 'carol',
    })
  })

  it('refuses bad tokens with invalid_token, never echoing them, and keeps the connection', async () => {
    serve()
    const client = await connect()
    const now = Date.now()
    const bad = [
      await token(
        { sub: 'u1' },
        now,
        new TextEncoder().encode('another-secret-of-at-least-32-bytes'),
      ),
      await token({ sub: 'u1', ttlS: -3600 }),
      await token({ name: 'no sub' }),
      'not.a.jwt',
      `${btoa(JSON.stringify({ alg: 'none' }))}.${btoa(JSON.stringify({ sub: 'u1', exp: 9e9 }))}.`,
      'x'.repeat(9000),
    ]
    for (const jwt of bad) {
      const reply = await auth(client, jwt)
      expect(reply).toMatchObject({ type: 'error', code: 'invalid_token' })
      expect(reply.message.length).toBeGreaterThan(0)
      expect(reply.message).not.toContain(jwt.slice(0, 20))
    }
    // Still open, still anonymous: a join needs a username.
    const refused = await client.request({ action: 'join', room: 'general' }, ['joined'])
    expect(refused).toMatchObject({ type: 'error', code: 'invalid_message' })
    expect((await client.join('general', 'anon')).username).toBe('anon')
  })

  it('is refused with invalid_message when AUTH_MODE=off', async () => {
    serve({ authMode: 'off', authJwtSecret: undefined })
    const client = await connect()
    const reply = await auth(client, await token({ sub: 'u1' }))
    expect(reply).toMatchObject({ type: 'error', code: 'invalid_message' })
    expect(reply.message).toContain('authentication is not enabled')
  })
})

describe('tokens stay secret', () => {
  it('puts no token, good or bad, in a log entry, an error message or /metrics', async () => {
    const clock = new FakeClock(Date.now())
    const server = serve({ authClockToleranceS: 0, unjoinedTimeoutMs: 3_600_000 }, { clock })
    const good = await token({ sub: 'u1', name: 'Alice', ttlS: 60 }, clock.now())
    const refreshed = await token({ sub: 'u1', name: 'Alice', ttlS: 60 }, clock.now())
    const other = await token({ sub: 'u2', name: 'Eve' }, clock.now())
    const forged = await token(
      { sub: 'u1' },
      clock.now(),
      new TextEncoder().encode('another-secret-of-at-least-32-bytes'),
    )
    const client = await connect()
    const replies = [
      await auth(client, forged),
      await auth(client, good),
      await auth(client, refreshed),
      await auth(client, other),
    ]
    await client.join('general', 'x')
    const expired = client.next('error', (f) => f.code === 'token_expired')
    clock.advance(61_000)
    await expired
    await client.closed
    const metrics = await (await http('/metrics')).text()
    const seen = [
      JSON.stringify(server.logger.entries),
      JSON.stringify(replies),
      JSON.stringify(client.frames),
      metrics,
    ].join('\n')
    for (const jwt of [good, refreshed, other, forged]) {
      // No part of one either: the signature, nor the payload or header.
      for (const part of jwt.split('.')) expect(seen).not.toContain(part)
    }
  })
})

describe('joining signed in', () => {
  it('takes the name from the token and ignores a username in the frame', async () => {
    serve()
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    const joined = await alice.join('general', 'mallory')
    expect(joined.username).toBe('Alice')
    expect(joined.users.map((u: Frame) => u.username)).toEqual(['Alice'])
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    expect((await bob.request({ action: 'join', room: 'general' }, ['joined'])).username).toBe(
      'Bob',
    )
  })

  it('keeps names unique: a second user with the same name gets username_taken', async () => {
    serve()
    const first = await signedIn({ sub: 'u1', name: 'Sam' })
    await first.join('general', 'x')
    const second = await signedIn({ sub: 'u2', name: 'sam' })
    expect(await tryJoin(second, 'general', 'x')).toMatchObject({ code: 'username_taken' })
  })

  it('lets anonymous and signed-in connections share a room in optional mode', async () => {
    serve()
    const anon = await connect()
    await anon.join('general', 'guest')
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    const seen = anon.next('user_joined')
    await alice.join('general', 'ignored')
    expect((await seen).username).toBe('Alice')
  })

  it('admits to a private room by a grant in the chat claim, without its password', async () => {
    serve()
    await createRoom({ name: 'team-blue', is_private: true, password: 'secret-pass' })
    await createRoom({ name: 'other', is_private: true, password: 'secret-pass' })
    const alice = await signedIn({ sub: 'u1', name: 'Alice', chat: { rooms: ['team-*'] } })
    expect((await alice.join('team-blue', 'x')).username).toBe('Alice')
    expect(await tryJoin(alice, 'other', 'x')).toMatchObject({ code: 'not_authorized' })
    expect((await alice.join('other', 'x', { password: 'secret-pass' })).username).toBe('Alice')
  })

  it('keeps the creator of a room its moderator by user id, on every device and after leaving', async () => {
    serve()
    const first = await signedIn({ sub: 'u1', name: 'Alice' })
    const created = await first.request({ action: 'create', name: 'Book Club' }, ['joined'])
    expect(created).toMatchObject({ room: 'book-club', moderator: true })
    await first.request({ action: 'leave', room: 'book-club' }, ['left'])
    const laptop = await signedIn({ sub: 'u1', name: 'Alice' })
    expect((await laptop.join('book-club', 'x')).moderator).toBe(true)
    const phone = await signedIn({ sub: 'u1', name: 'Alice' })
    expect((await phone.join('book-club', 'x')).moderator).toBe(true)
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    expect((await bob.join('book-club', 'x')).moderator).toBe(false)
  })

  it('makes the users of chat.moderates moderators', async () => {
    serve()
    await createRoom({ name: 'support' })
    const mod = await signedIn({ sub: 'm1', name: 'Mod', chat: { moderates: ['support'] } })
    expect((await mod.join('support', 'x')).moderator).toBe(true)
    expect((await mod.join('general', 'x')).moderator).toBe(false)
    const admin = await signedIn({ sub: 'a1', name: 'Admin', chat: { moderates: ['*'] } })
    expect((await admin.join('general', 'x')).moderator).toBe(true)
  })

  it('holds a ban against the user id: a new name and a new connection stay out', async () => {
    serve()
    const admin = await signedIn({ sub: 'a1', name: 'Admin', chat: { moderates: ['*'] } })
    await admin.join('general', 'x')
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    await alice.join('general', 'x')
    const banned = alice.next('banned')
    expect(
      await admin.request({ action: 'ban', room: 'general', username: 'Alice' }, ['moderated']),
    ).toMatchObject({ type: 'moderated', action: 'ban' })
    await banned
    const again = await signedIn({ sub: 'u1', name: 'Alice Again' })
    expect(await tryJoin(again, 'general', 'x')).toMatchObject({ code: 'not_authorized' })
    // Another user is not touched by it.
    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    expect((await bob.join('general', 'x')).username).toBe('Bob')
  })
})

describe('user_id in the frames that name a user', () => {
  it('is on users, user_joined, message, typing, presence, user_left and moderated; absent when anonymous', async () => {
    serve()
    const admin = await signedIn({ sub: 'a1', name: 'Admin', chat: { moderates: ['*'] } })
    await admin.join('general', 'x')
    const anon = await connect()
    await anon.join('general', 'guest')
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    const joinedSeen = anon.next('user_joined')
    const joined = await alice.join('general', 'x')
    expect(await joinedSeen).toEqual({
      type: 'user_joined',
      room: 'general',
      username: 'Alice',
      user_id: 'u1',
    })
    const byName = Object.fromEntries(joined.users.map((u: Frame) => [u.username, u]))
    expect(byName.Alice.user_id).toBe('u1')
    expect(byName.Admin.user_id).toBe('a1')
    expect('user_id' in byName.guest).toBe(false)

    alice.send({ action: 'message', room: 'general', content: 'hi' })
    const message = await anon.next('message')
    expect(message).toMatchObject({ sender: 'Alice', content: 'hi', user_id: 'u1' })
    anon.send({ action: 'message', room: 'general', content: 'yo' })
    expect('user_id' in (await alice.next('message', (f) => f.content === 'yo'))).toBe(false)
    const page = await anon.request({ action: 'history', room: 'general' }, ['history'])
    const stored = page.messages.find((m: Frame) => m.content === 'hi')
    expect(stored.user_id).toBe('u1')

    alice.send({ action: 'typing', room: 'general' })
    expect(await anon.next('typing')).toMatchObject({ username: 'Alice', user_id: 'u1' })

    const kicked = await admin.request({ action: 'kick', room: 'general', username: 'Alice' }, [
      'moderated',
    ])
    expect(kicked).toMatchObject({ type: 'moderated', action: 'kick', user_id: 'u1' })
    const unbanned = await admin.request({ action: 'unban', room: 'general', username: 'guest' }, [
      'moderated',
    ])
    expect('user_id' in unbanned).toBe(false)

    const bob = await signedIn({ sub: 'u2', name: 'Bob' })
    await bob.join('general', 'x')
    const offline = anon.next('presence', (f) => f.username === 'Bob')
    bob.close()
    expect(await offline).toMatchObject({ status: 'offline', user_id: 'u2' })

    const carol = await signedIn({ sub: 'u3', name: 'Carol' })
    await carol.join('general', 'x')
    const left = anon.next('user_left', (f) => f.username === 'Carol')
    await carol.request({ action: 'leave', room: 'general' }, ['left'])
    expect(await left).toEqual({
      type: 'user_left',
      room: 'general',
      username: 'Carol',
      user_id: 'u3',
    })
  })
})

describe('AUTH_MODE=required', () => {
  it('accepts only auth and ping before sign-in; everything else is unauthenticated', async () => {
    serve({ authMode: 'required' })
    const client = await connect()
    await client.ping()
    for (const frame of [
      { action: 'join', room: 'general', username: 'x' },
      { action: 'message', room: 'general', content: 'hi' },
      { action: 'history', room: 'general' },
    ]) {
      expect(await client.request(frame, ['joined', 'message', 'history'])).toMatchObject({
        type: 'error',
        code: 'unauthenticated',
      })
    }
    await auth(client, await token({ sub: 'u1', name: 'Alice' }))
    expect((await client.join('general', 'x')).username).toBe('Alice')
  })

  it('takes no token from the URL or a header: such a connection is still not signed in', async () => {
    const server = serve({ authMode: 'required' })
    await server.ready
    const jwt = await token({ sub: 'u1', name: 'Alice' })
    for (const [url, headers] of [
      [`${server.wsUrl}?token=${jwt}`, undefined],
      [`${server.wsUrl}?access_token=${jwt}`, undefined],
      [server.wsUrl, { authorization: `Bearer ${jwt}` }],
    ] as const) {
      const client = await TestClient.connect(url, headers)
      try {
        const reply = await client.request({ action: 'join', room: 'general', username: 'x' }, [
          'joined',
        ])
        expect(reply).toMatchObject({ type: 'error', code: 'unauthenticated' })
      } finally {
        client.close()
      }
    }
  })

  it('closes a connection that has not signed in by AUTH_TIMEOUT_MS with 4401', async () => {
    const clock = new FakeClock()
    serve({ authMode: 'required', authTimeoutMs: 5000 }, { clock })
    const late = await connect()
    const early = await connect()
    await auth(early, await token({ sub: 'u1' }, clock.now()))
    clock.advance(4999)
    await late.ping()
    clock.advance(1)
    expect((await late.closed).code).toBe(4401)
    await early.ping()
  })

  it('closes with 4401 after a bad token from a connection not signed in', async () => {
    serve({ authMode: 'required' })
    const client = await connect()
    const reply = await auth(client, 'not.a.jwt')
    expect(reply).toMatchObject({ type: 'error', code: 'invalid_token' })
    expect((await client.closed).code).toBe(4401)
  })
})

describe('rooms for signed-in users only ("members":"signed_in")', () => {
  it('admits signed-in users and refuses anonymous joiners with not_authorized', async () => {
    serve()
    const room = await createRoom({ name: 'members-only', members: 'signed_in' })
    expect(room).toMatchObject({ id: 'members-only', members: 'signed_in' })
    const anon = await connect()
    expect(await tryJoin(anon, 'members-only', 'guest')).toMatchObject({
      code: 'not_authorized',
    })
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    expect((await alice.join('members-only', 'x')).username).toBe('Alice')
    // The listing says so; a room open to anyone carries no `members`.
    const listed = (await (await http('/rooms')).json()) as { rooms: Frame[] }
    const byId = new Map(listed.rooms.map((r) => [r.id, r]))
    expect(byId.get('members-only')?.members).toBe('signed_in')
    expect(byId.get('general')?.members).toBeUndefined()
  })

  it('is made by the create frame too, and the members value is checked', async () => {
    serve()
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    const joined = await alice.request(
      { action: 'create', name: 'Inner Circle', members: 'signed_in' },
      ['joined'],
    )
    expect(joined).toMatchObject({ type: 'joined', room: 'inner-circle', moderator: true })
    const anon = await connect()
    expect(await tryJoin(anon, 'inner-circle', 'guest')).toMatchObject({
      code: 'not_authorized',
    })
    const bad = await postRoom({ name: 'odd', members: 'everyone' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as Frame).error.code).toBe('invalid_message')
  })

  it('is refused when AUTH_MODE=off: nobody could ever join it', async () => {
    serve({ authMode: 'off', authJwtSecret: undefined })
    const res = await postRoom({ name: 'closed', members: 'signed_in' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as Frame).error.message).toContain('AUTH_MODE')
  })
})

describe('expiry and refresh', () => {
  it('ends a connection whose token expires without a refresh: token_expired, 4401', async () => {
    const clock = new FakeClock()
    serve({ authClockToleranceS: 30, unjoinedTimeoutMs: 3_600_000 }, { clock })
    const client = await connect()
    await auth(client, await token({ sub: 'u1', ttlS: 60 }, clock.now()))
    const expired = client.next('error', (f) => f.code === 'token_expired')
    clock.advance(60_000 + 29_999)
    await client.ping()
    clock.advance(1)
    await expired
    expect((await client.closed).code).toBe(4401)
  })

  it('a refresh for the same sub extends the connection and updates the name', async () => {
    const clock = new FakeClock()
    serve({ authClockToleranceS: 0, unjoinedTimeoutMs: 3_600_000 }, { clock })
    const client = await connect()
    await auth(client, await token({ sub: 'u1', name: 'Old', ttlS: 60 }, clock.now()))
    clock.advance(50_000)
    const refreshed = await auth(
      client,
      await token({ sub: 'u1', name: 'New', ttlS: 60 }, clock.now()),
    )
    expect(refreshed.user).toEqual({ id: 'u1', name: 'New' })
    clock.advance(50_000)
    await client.ping()
    expect((await client.join('general', 'x')).username).toBe('New')
  })

  it('a refresh whose grants drop a room takes the user out of it: left with access_revoked', async () => {
    serve()
    await createRoom({ name: 'team-blue', is_private: true, password: 'secret-pass' })
    await createRoom({ name: 'vault', is_private: true, password: 'secret-pass' })
    const grants = { rooms: ['team-*'] }
    const alice = await signedIn({ sub: 'u1', name: 'Alice', chat: grants })
    await alice.join('team-blue', 'x')
    await alice.join('vault', 'x', { password: 'secret-pass' })
    await alice.join('general', 'x')
    const bob = await signedIn({ sub: 'u2', name: 'Bob', chat: grants })
    await bob.join('team-blue', 'x')
    const gone = bob.next('user_left')
    const revoked = alice.next('left')
    // The same grants: nothing changes.
    await auth(alice, await token({ sub: 'u1', name: 'Alice', chat: grants }))
    await auth(alice, await token({ sub: 'u1', name: 'Alice', chat: { rooms: ['support'] } }))
    expect(await revoked).toEqual({ type: 'left', room: 'team-blue', reason: 'access_revoked' })
    expect(await gone).toMatchObject({ username: 'Alice', user_id: 'u1' })
    // The room entered with its password, and the public one, are kept.
    await alice.ping()
    const rest = alice.frames.filter((f) => f.type === 'left')
    expect(rest.map((f) => f.room)).toEqual(['team-blue'])
    const said = bob.next('message', (f) => f.room === 'team-blue')
    bob.send({ action: 'message', room: 'team-blue', content: 'still here?' })
    await said
    expect(alice.frames.filter((f) => f.content === 'still here?')).toEqual([])
    expect(await tryJoin(alice, 'team-blue', 'x')).toMatchObject({ code: 'not_authorized' })
    const vault = alice.next('message', (f) => f.room === 'vault')
    alice.send({ action: 'message', room: 'vault', content: 'hi' })
    expect(await vault).toMatchObject({ type: 'message', room: 'vault' })
  })

  it('a refresh that drops chat.moderates for a room takes the moderator out; they may join again', async () => {
    serve()
    const mod = await signedIn({ sub: 'm1', name: 'Mod', chat: { moderates: ['general'] } })
    expect((await mod.join('general', 'x')).moderator).toBe(true)
    const revoked = mod.next('left')
    await auth(mod, await token({ sub: 'm1', name: 'Mod' }))
    expect(await revoked).toEqual({ type: 'left', room: 'general', reason: 'access_revoked' })
    expect((await mod.join('general', 'x')).moderator).toBe(false)
  })

  it('refuses a refresh for another sub and keeps the first identity', async () => {
    serve()
    const client = await signedIn({ sub: 'u1', name: 'Alice' })
    const reply = await auth(client, await token({ sub: 'u2', name: 'Eve' }))
    expect(reply).toMatchObject({ type: 'error', code: 'invalid_token' })
    expect((await client.join('general', 'x')).username).toBe('Alice')
  })
})

describe('resume of a signed-in session', () => {
  it('only the same user may resume it', async () => {
    serve()
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    await alice.join('general', 'x')
    const session = alice.session
    alice.close()
    await alice.closed
    const eve = await signedIn({ sub: 'u2', name: 'Eve' })
    expect(await eve.request({ action: 'resume', session }, ['resumed'])).toMatchObject({
      type: 'error',
      code: 'not_authorized',
    })
    const anon = await connect()
    expect(await anon.request({ action: 'resume', session }, ['resumed'])).toMatchObject({
      code: 'not_authorized',
    })
    const back = await signedIn({ sub: 'u1', name: 'Alice' })
    expect(await back.request({ action: 'resume', session }, ['resumed'])).toMatchObject({
      type: 'resumed',
      room: 'general',
      username: 'Alice',
    })
  })

  it('a signed-in session with no room left is unknown, to its own user and to another', async () => {
    serve()
    const alice = await signedIn({ sub: 'u1', name: 'Alice' })
    await alice.join('general', 'x')
    await alice.request({ action: 'leave', room: 'general' }, ['left'])
    const session = alice.session
    alice.close()
    await alice.closed
    for (const claims of [
      { sub: 'u2', name: 'Eve' },
      { sub: 'u1', name: 'Alice' },
    ]) {
      const other = await signedIn(claims)
      expect(await other.request({ action: 'resume', session }, ['resumed'])).toMatchObject({
        type: 'error',
        code: 'not_authorized',
        message: 'Unknown or expired session',
      })
    }
  })
})
