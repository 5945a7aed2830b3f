/** The REST API: health, rooms, messages, and the HTTP refusals. */
import { assert, equal, isMessageId, like } from '../lib/assert.ts'
import type { Area } from '../lib/check.ts'
import type { Frame } from '../lib/client.ts'
import { json } from '../lib/http.ts'
import { privateRoom } from './rooms.ts'

export const rest: Area = {
  area: 'rest',
  checks: [
    {
      name: 'GET /health answers 200 with status ok, node, uptime_s, rooms and connections',
      async run(ctx) {
        for (let node = 0; node < ctx.nodes; node++) {
          const health = await ctx.http('/health', {}, node)
          like(health, { status: 200, body: { status: 'ok' } }, `GET /health of node ${node + 1}`)
          const b = health.body
          assert(
            typeof b.node === 'string' &&
              Number.isInteger(b.uptime_s) &&
              Number.isInteger(b.rooms) &&
              Number.isInteger(b.connections),
            `fields of /health: ${health.text}`,
          )
        }
      },
    },
    {
      name: 'GET /auth tells the sign-in mode',
      async run(ctx) {
        const reply = await ctx.http('/auth')
        equal(reply.status, 200, 'status')
        assert(['off', 'optional', 'required'].includes(reply.body?.mode), `mode: ${reply.text}`)
      },
    },
    {
      name: 'POST /rooms creates a room (201, moderator_token) shown by GET /rooms and GET /rooms/{id}; a taken id is room_exists',
      async run(ctx) {
        const name = ctx.name('Rest Room')
        const created = await ctx.http('/rooms', json('POST', { name, max_users: 5 }))
        equal(created.status, 201, 'status')
        const id = name.toLowerCase().replace(/ /g, '-')
        like(
          created.body,
          { id, name, is_private: false, max_users: 5, user_count: 0 },
          'the created room',
        )
        assert(
          typeof created.body.moderator_token === 'string' &&
            typeof created.body.created_at === 'number',
          `moderator_token, created_at: ${created.text}`,
        )
        const page = await ctx.http(`/rooms?q=${encodeURIComponent(name)}`)
        like(page, { status: 200, body: { next_cursor: null } }, 'GET /rooms')
        equal(
          (page.body.rooms as Frame[]).map((r) => r.id),
          [id],
          'the rooms matching q',
        )
        const details = await ctx.http(`/rooms/${id}`)
        like(details, { status: 200, body: { id, users: [] } }, 'GET /rooms/{id}')
        like(
          await ctx.http('/rooms', json('POST', { name })),
          { status: 409, body: { error: { code: 'room_exists' } } },
          'the same name again',
        )
      },
    },
    {
      name: 'GET /rooms pages by id with limit and next_cursor',
      async run(ctx) {
        const first = await ctx.http('/rooms?limit=1')
        equal(first.status, 200, 'status')
        const rooms = first.body.rooms as Frame[]
        assert(rooms.length <= 1, `limit=1 gave ${rooms.length} rooms`)
        if (first.body.next_cursor === null) return
        const second = await ctx.http(
          `/rooms?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`,
        )
        equal(second.status, 200, 'status of the next page')
        const next = (second.body.rooms as Frame[])[0]
        assert(
          next && rooms[0] && next.id > rooms[0].id,
          `the next page must go on by id: ${first.text} then ${second.text}`,
        )
        like(
          await ctx.http('/rooms?limit=0'),
          { status: 400, body: { error: { code: 'invalid_message' } } },
          'limit=0',
        )
      },
    },
    {
      name: 'GET /rooms/{id}/messages pages the history; a private room needs its password',
      async run(ctx) {
        const { client: mod, room: id } = await ctx.member()
        const got = mod.next('message', (f) => f.content === 'over rest')
        mod.send({ action: 'message', room: id, content: 'over rest' })
        const sent = await got
        const page = await ctx.http(`/rooms/${id}/messages?limit=1`)
        like(
          page,
          {
            status: 200,
            body: { messages: [{ id: sent.id, type: 'text', content: 'over rest', room_id: id }] },
          },
          'the last message',
        )
        assert(
          typeof page.body.has_more === 'boolean' && isMessageId(page.body.messages[0]?.id),
          `messages page: ${page.text}`,
        )
        like(
          await ctx.http(`/rooms/${ctx.name('nowhere')}/messages`),
          { status: 404, body: { error: { code: 'room_not_found' } } },
          'an unknown room',
        )
        const { id: secretId, password } = await privateRoom(ctx)
        const secret = { id: secretId }
        const refused = await ctx.http(`/rooms/${secret.id}/messages`)
        assert(
          refused.status === 401 || refused.status === 403,
          `a private room without password answered ${refused.status}`,
        )
        equal(refused.body.error.code, 'not_authorized', 'code')
        equal(
          (
            await ctx.http(`/rooms/${secret.id}/messages`, {
              headers: { 'x-room-password': password },
            })
          ).status,
          200,
          'with X-Room-Password',
        )
      },
    },
    {
      name: 'refuses bad requests with {"error":{"code","message"}}: 400, 404, 405 with Allow, 431',
      async run(ctx) {
        like(
          await ctx.http('/rooms', json('POST', { name: 5 })),
          { status: 400, body: { error: { code: 'invalid_message' } } },
          'a wrongly typed name',
        )
        like(
          await ctx.http('/rooms', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"name":',
          }),
          { status: 400, body: { error: { code: 'invalid_message' } } },
          'broken JSON',
        )
        like(
          await ctx.http(`/rooms/${ctx.name('nowhere')}`),
          { status: 404, body: { error: { code: 'room_not_found' } } },
          'an unknown room',
        )
        like(
          await ctx.http(`/no-such-route-${ctx.runId}`),
          { status: 404, body: { error: { code: 'not_found' } } },
          'an unknown route',
        )
        const wrong = await ctx.http('/health', { method: 'DELETE' })
        like(
          wrong,
          { status: 405, body: { error: { code: 'method_not_allowed' } } },
          'DELETE /health',
        )
        assert(
          /\bGET\b/.test(wrong.headers.get('allow') ?? ''),
          `Allow must list GET: ${wrong.headers.get('allow')}`,
        )
        // 20 KB of query: over the protocol's 16 KiB of request line and headers.
        like(
          await ctx.http(`/rooms?q=${'a'.repeat(20_000)}`),
          { status: 431, body: { error: { code: 'payload_too_large' } } },
          'a 20 KB query',
        )
      },
    },
  ],
}
