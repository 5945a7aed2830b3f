/**
 * The REST adapter: routes with `t.*` schemas (so Swagger shows them), each calling the
 * store. Errors are thrown as ChatError and rendered by the app's one `onError`.
 */
import { Elysia, t } from 'elysia'
import type { RoomStore } from '../domain/room-store.ts'

const ErrorSchema = t.Object(
  { error: t.Object({ code: t.String(), message: t.String() }) },
  { examples: [{ error: { code: 'room_not_found', message: 'No room with id "lobby"' } }] },
)

const UserSchema = t.Object({
  username: t.String(),
  status: t.Union([t.Literal('online'), t.Literal('offline')]),
  moderator: t.Boolean(),
})

const roomFields = {
  id: t.String({ description: 'URL-safe slug of the name' }),
  name: t.String(),
  is_private: t.Boolean(),
  max_users: t.Integer(),
  user_count: t.Integer({ description: 'Members, counting those offline in their resume grace' }),
  created_at: t.Integer({ description: 'Milliseconds since the epoch' }),
}
const roomExample = {
  id: 'general-chat',
  name: 'General Chat',
  is_private: false,
  max_users: 1000,
  user_count: 2,
  created_at: 1732471200000,
}

const RoomSchema = t.Object(roomFields, { examples: [roomExample] })
const RoomDetailsSchema = t.Object(
  { ...roomFields, users: t.Optional(t.Array(UserSchema, { description: 'Public rooms only' })) },
  {
    examples: [
      { ...roomExample, users: [{ username: 'alice', status: 'online', moderator: true }] },
    ],
  },
)
const CreatedRoomSchema = t.Object(
  {
    ...roomFields,
    moderator_token: t.String({ description: 'Join with it as "token" to be a moderator' }),
  },
  { examples: [{ ...roomExample, user_count: 0, moderator_token: 'q4E…' }] },
)
const MessageSchema = t.Object({
  id: t.String({ description: 'Increasing within the room; zero-padded decimal' }),
  type: t.Union([t.Literal('text'), t.Literal('system')]),
  sender: t.String(),
  content: t.String(),
  timestamp: t.Integer({ description: 'Milliseconds since the epoch' }),
  room_id: t.String(),
})

/** The bearer token of an `Authorization` header, if any. */
function bearer(header: string | null): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i)
  return match?.[1]?.trim()
}

/**
 * JSON.parse that drops every `__proto__` key. The body schemas' integer coercion clones
 * the body with plain assignment, and `clone["__proto__"] = …` swaps the prototype: the
 * key's contents then read as real fields (`{"__proto__":{"is_private":true}}`).
 */
function parseJson(text: string): unknown {
  return JSON.parse(text, (key, value) => (key === '__proto__' ? undefined : value))
}

/** REST routes, as a named plugin. `clientAddress` tells the caller's address for per-address limits. */
export function httpPlugin(store: RoomStore, clientAddress: (request: Request) => string) {
  return new Elysia({ name: 'chat-http' })
    .onParse(async ({ request, contentType }) => {
      // Anything else falls through to Elysia's parsers; a thrown error becomes PARSE → 400.
      if (contentType?.toLowerCase().startsWith('application/json'))
        return parseJson(await request.text())
    })
    .get(
      '/health',
      ({ set }) => {
        const stats = store.stats()
        const draining = store.isDraining
        if (draining) set.status = 503
        return {
          status: draining ? ('draining' as const) : ('ok' as const),
          uptime_s: Math.floor((Date.now() - store.startedAt) / 1000),
          rooms: stats.rooms,
          connections: stats.connections,
        }
      },
      {
        detail: { summary: 'Liveness and load', tags: ['server'] },
        response: {
          200: t.Object(
            {
              status: t.Union([t.Literal('ok'), t.Literal('draining')]),
              uptime_s: t.Integer(),
              rooms: t.Integer(),
              connections: t.Integer(),
            },
            { examples: [{ status: 'ok', uptime_s: 42, rooms: 3, connections: 17 }] },
          ),
          503: t.Object({
            status: t.Literal('draining'),
            uptime_s: t.Integer(),
            rooms: t.Integer(),
            connections: t.Integer(),
          }),
        },
      },
    )
    .get('/rooms', ({ query }) => store.listRooms(query.q, query.limit, query.cursor), {
      query: t.Object({
        q: t.Optional(t.String({ description: 'Case-insensitive substring of the room name' })),
        limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, default: 50 })),
        cursor: t.Optional(t.String({ description: 'next_cursor of the previous page' })),
      }),
      detail: {
        summary: 'List public rooms',
        description:
          "Sorted by id. Pass the reply's next_cursor as ?cursor= for the next page; it is null on the last page.",
        tags: ['rooms'],
      },
      response: {
        200: t.Object(
          { rooms: t.Array(RoomSchema), next_cursor: t.Nullable(t.String()) },
          { examples: [{ rooms: [roomExample], next_cursor: null }] },
        ),
        400: ErrorSchema,
      },
    })
    .post(
      '/rooms',
      async ({ body, request, set }) => {
        const { room, token } = await store.createRoom(body, clientAddress(request))
        set.status = 201
        return { ...room.view(), moderator_token: token }
      },
      {
        body: t.Object(
          {
            name: t.String({ description: '1–32 letters, digits, spaces, - _ .' }),
            max_users: t.Optional(t.Integer({ minimum: 1 })),
            is_private: t.Optional(t.Boolean()),
            password: t.Optional(
              t.String({ description: 'Required for, and only for, a private room' }),
            ),
          },
          { examples: [{ name: 'General Chat', max_users: 50 }] },
        ),
        detail: { summary: 'Create a room', tags: ['rooms'] },
        response: {
          201: CreatedRoomSchema,
          400: ErrorSchema,
          409: ErrorSchema,
          429: ErrorSchema,
          503: ErrorSchema,
        },
      },
    )
    .get('/rooms/:id', ({ params }) => store.roomDetails(params.id), {
      params: t.Object({ id: t.String() }),
      detail: { summary: 'One room, with its users if public', tags: ['rooms'] },
      response: { 200: RoomDetailsSchema, 404: ErrorSchema },
    })
    .get(
      '/rooms/:id/messages',
      ({ params, query, request }) =>
        store.messagesFor(
          params.id,
          {
            token: bearer(request.headers.get('authorization')),
            password: request.headers.get('x-room-password') ?? query.password,
          },
          clientAddress(request),
          query.before,
          query.limit,
        ),
      {
        params: t.Object({ id: t.String() }),
        query: t.Object({
          before: t.Optional(t.String({ description: 'Only messages older than this id' })),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 50 })),
          password: t.Optional(
            t.String({ description: 'Private rooms; prefer the X-Room-Password header' }),
          ),
        }),
        detail: {
          summary: 'A page of history, oldest first',
          description:
            'Private rooms need the password (X-Room-Password header or ?password=) or the moderator token (Authorization: Bearer).',
          tags: ['rooms'],
        },
        response: {
          200: t.Object({ messages: t.Array(MessageSchema), has_more: t.Boolean() }),
          400: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
          429: ErrorSchema,
        },
      },
    )
    .get(
      '/rooms/:id/bans',
      ({ params, request }) =>
        store.bansOf(params.id, bearer(request.headers.get('authorization'))),
      {
        params: t.Object({ id: t.String() }),
        detail: { summary: "The room's bans (moderator token as Bearer)", tags: ['moderation'] },
        response: {
          200: t.Object({
            bans: t.Array(t.Object({ username: t.String(), by: t.String(), at: t.Integer() })),
          }),
          401: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
        },
      },
    )
}
