/** Rooms: create, join, leave, the user list, and the refusals of each. */
import { assert, equal, isMessageId, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Frame } from '../lib/client.ts'
import type { Context } from '../lib/context.ts'

const names = (users: Frame[]) => users.map((u) => u.username)

/** A private room with a password, made once per run. */
export function privateRoom(
  ctx: Context,
): Promise<{ id: string; password: string; token: string }> {
  return ctx.fixture('private-room', async () => {
    const password = 'cf-secret-pw'
    const { id, joined } = await ctx.room({ is_private: true, password })
    return { id, password, token: String(joined.moderator_token) }
  })
}

export const rooms: Area = {
  area: 'rooms',
  checks: [
    {
      name: 'create makes a room whose id is the slug of its name and joins the sender as moderator, with moderator_token',
      async run(ctx) {
        const c = await ctx.connect()
        const username = ctx.name('mod')
        const name = `Cf ${ctx.runId} Été Room`
        const joined = await c.expect({ action: 'create', name, username }, 'joined')
        like(
          joined,
          { type: 'joined', room: `cf-${ctx.runId}-ete-room`, username, moderator: true },
          'joined',
        )
        const history = joined.history as Frame[]
        assert(
          Array.isArray(history) && history.every((m) => m.type === 'system'),
          `a new room's history holds no text: ${JSON.stringify(history)}`,
        )
        assert(
          typeof joined.moderator_token === 'string' && joined.moderator_token.length > 0,
          'joined.moderator_token must be a non-empty string',
        )
        like(joined.users, [{ username, status: 'online', moderator: true }], 'joined.users')
        await c.refused({ action: 'create', name, username: ctx.name('other') }, 'room_exists')
        const other = await ctx.connect()
        const again = await other.join(name, ctx.name('byname'))
        equal(again.room, joined.room, 'a join by name reaches the room of its slug')
      },
    },
    {
      name: 'join answers joined with users and history; the others get user_joined, the joiner does not',
      async run(ctx) {
        const { client: mod, username: modName, room: id } = await ctx.moderator()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        const told = mod.next('user_joined', (f) => f.room === id && f.username === bobName)
        const joined = await bob.join(id, bobName)
        like(joined, { type: 'joined', room: id, username: bobName, moderator: false }, 'joined')
        assert(Array.isArray(joined.history), 'joined.history must be an array')
        for (const m of joined.history) like(m, { room_id: id }, 'a stored message')
        const users = joined.users as Frame[]
        assert(
          names(users).includes(modName) && names(users).includes(bobName),
          `joined.users must list both: ${JSON.stringify(users)}`,
        )
        like(
          users.find((u) => u.username === modName),
          { status: 'online', moderator: true },
          'the moderator in users',
        )
        like(
          users.find((u) => u.username === bobName),
          { status: 'online', moderator: false },
          'the joiner in users',
        )
        like(await told, { type: 'user_joined', room: id, username: bobName }, 'user_joined')
        const [seen] = await ctx.sentinel(id, mod, [bob])
        equal(
          seen?.filter((f) => f.type === 'user_joined' && f.username === bobName),
          [],
          'user_joined sent to the joiner',
        )
      },
    },
    {
      name: 'stores joins and leaves as system messages with ids from the room sequence',
      async run(ctx) {
        const { client: mod, room: id } = await ctx.member()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        await bob.join(id, bobName)
        await bob.expect({ action: 'leave', room: id }, 'left')
        await mod.next('user_left', (f) => f.username === bobName)
        const history = await mod.expect({ action: 'history', room: id, limit: 100 }, 'history')
        const system = (history.messages as Frame[]).filter(
          (m) => m.type === 'system' && String(m.content).includes(bobName),
        )
        assert(
          system.length >= 2,
          `expected the join and the leave of ${bobName} in the history: ${JSON.stringify(history.messages).slice(-600)}`,
        )
        for (const m of history.messages as Frame[]) {
          assert(isMessageId(m.id), `a stored id must be 12 digits: ${JSON.stringify(m)}`)
          assert(
            typeof m.timestamp === 'number',
            `a stored message needs a timestamp: ${JSON.stringify(m)}`,
          )
          if (m.type === 'system') equal(m.sender, 'system', 'the sender of a system message')
        }
        const ids = (history.messages as Frame[]).map((m) => m.id as string)
        equal(ids, [...ids].sort(), 'history ids, oldest first')
      },
    },
    {
      name: 'joining again under the same name answers joined with no broadcast; under another name, invalid_message',
      async run(ctx) {
        const { client: mod, room: id } = await ctx.member()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        await bob.join(id, bobName)
        await mod.next('user_joined', (f) => f.username === bobName)
        await bob.join(id, bobName)
        const alias = ctx.name('alias')
        await bob.refused({ action: 'join', room: id, username: alias }, 'invalid_message')
        const [seen] = await ctx.sentinel(id, bob, [mod])
        const about = (seen ?? []).filter((f) => f.username === bobName || f.username === alias)
        equal(
          about.filter((f) => f.type === 'user_joined' || f.type === 'user_left'),
          [],
          'broadcasts after joining again',
        )
      },
    },
    {
      name: 'leave answers left with ref; the others get user_left',
      async run(ctx) {
        const { client: mod, room: id } = await ctx.member()
        const bob = await ctx.connect()
        const bobName = ctx.name('bob')
        await bob.join(id, bobName)
        const gone = mod.next('user_left', (f) => f.room === id && f.username === bobName)
        like(
          await bob.expect({ action: 'leave', room: id }, 'left'),
          { type: 'left', room: id },
          'left',
        )
        like(await gone, { type: 'user_left', room: id, username: bobName }, 'user_left')
      },
    },
    {
      name: 'refuses a room that does not exist (room_not_found) and a name taken case-insensitively (username_taken)',
      async run(ctx) {
        const { room: id, username: modName } = await ctx.member()
        const c = await ctx.connect()
        await c.refused(
          { action: 'join', room: ctx.name('nowhere'), username: ctx.name('u') },
          'room_not_found',
        )
        await c.refused(
          { action: 'join', room: id, username: modName.toUpperCase() },
          'username_taken',
        )
      },
    },
    {
      name: 'refuses a join past max_users with room_full',
      async run(ctx) {
        const { id } = await ctx.room({ max_users: 1 })
        const c = await ctx.connect()
        const error = await c.refused(
          { action: 'join', room: id, username: ctx.name('late') },
          'room_full',
        )
        assert(
          error.room === undefined || error.room === id,
          `error.room names another room: ${JSON.stringify(error)}`,
        )
      },
    },
    {
      name: 'refuses bad names with invalid_message: empty, 33 characters, control or zero-width characters',
      async run(ctx) {
        const room = await ctx.shared()
        const c = await ctx.connect()
        for (const username of [
          '',
          ' ',
          'a'.repeat(33),
          'bad\u0007name',
          'zero\u200bwidth',
          '<b>x</b>',
        ]) {
          await c.refused({ action: 'join', room, username }, 'invalid_message')
        }
        await c.join(room, `${'b'.repeat(26)}${ctx.runId}`)
        await c.refused(
          { action: 'create', name: 'x'.repeat(33), username: ctx.name('u') },
          'invalid_message',
        )
      },
    },
    {
      name: 'refuses a frame for a room the connection has not joined with not_authorized',
      async run(ctx) {
        const room = await ctx.shared()
        const c = await ctx.connect()
        await c.refused({ action: 'message', room, content: 'not a member' }, 'not_authorized')
        await c.refused({ action: 'kick', room, username: 'someone' }, 'not_authorized')
      },
    },
    {
      name: 'a private room: hidden from GET /rooms, needs its password (not_authorized), admits the moderator token',
      async run(ctx) {
        const { id, password, token } = await privateRoom(ctx)
        const list = await ctx.http(`/rooms?q=${encodeURIComponent(id)}`)
        assert(
          !(list.body.rooms as Frame[]).some((r) => r.id === id),
          'GET /rooms lists the private room',
        )
        const details = await ctx.http(`/rooms/${id}`)
        like(details, { status: 200, body: { id, is_private: true } }, 'GET /rooms/{id}')
        assert(
          details.body.users === undefined,
          'GET /rooms/{id} of a private room must not list users',
        )
        const c = await ctx.connect()
        await c.refused({ action: 'join', room: id, username: ctx.name('u') }, 'not_authorized')
        await c.refused(
          { action: 'join', room: id, username: ctx.name('u'), password: 'wrong' },
          'not_authorized',
        )
        await c.refused(
          { action: 'join', room: id, username: ctx.name('u'), token: 'not-the-token' },
          'not_authorized',
        )
        like(
          await c.join(id, ctx.name('u'), { password }),
          { moderator: false },
          'joined with the password',
        )
        const m = await ctx.connect()
        like(
          await m.join(id, ctx.name('m'), { token }),
          { moderator: true },
          'joined with the moderator token',
        )
        // Frames behind a join that waits for its password check are handled after it, in order.
        const q = await ctx.connect()
        const queued = ctx.name('queued')
        const message = q.next('message', (f) => f.room === id && f.sender === queued)
        q.send({ action: 'join', room: id, username: queued, password, ref: 'q-join' })
        q.send({ action: 'message', room: id, content: 'right behind the join' })
        q.send({ action: 'ping', ref: 'q-ping' })
        await q.next('pong', (f) => f.ref === 'q-ping')
        await message
        const replies = q.frames.filter(
          (f) => f.type === 'error' || f.ref === 'q-join' || f.ref === 'q-ping',
        )
        equal(
          replies.map((f) => f.type),
          ['joined', 'pong'],
          'the replies to join (password), message, ping',
        )
      },
    },
  ],
}
