/**
 * The REST adapter: routes with `t.*` schemas (so Swagger shows them), each calling the
 * store. Errors are thrown as ChatError and rendered by the app's one `onError`.
 */
import { Elysia, t } from 'elysia'
import type { Config } from '../config.ts'
import type { ChatStore } from '../domain/chat-store.ts'
import { bodyParser } from './body-parser.ts'
import { securedBy } from './openapi.ts'
import {
  CreatedRoomSchema,
  ErrorSchema,
  MembersField,
  MessageSchema,
  RoomDetailsSchema,
  RoomSchema,
} from './rest-schemas.ts'

const healthFields = {
  node: t.String({ description: 'NODE_ID of the node that answered', example: 'chat-1-a3f9c2' }),
  uptime_s: t.Integer({ example: 3600 }),
  rooms: t.Integer({ example: 3 }),
  connections: t.Integer({ example: 17 }),
}

/** The bearer token of an `Authorization` header, if any. */
function bearer(header: string | null): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i)
  return match?.[1]?.trim()
}

/**
 * REST routes, as a named plugin. `clientAddress` tells the caller's address for
 * per-address limits; bodies over `maxBodyBytes` are refused with 413. `authMode` is only
 * told (`GET /auth`): the sign-in itself happens on the WebSocket.
 */
export function httpPlugin(
  store: ChatStore,
  clientAddress: (request: Request) => string,
  maxBodyBytes = 64 * 1024,
  authMode: Config['authMode'] = 'off',
) {
  const auth = { mode: authMode }
  return new Elysia({ name: 'chat-http' })
    .onParse(bodyParser(maxBodyBytes))
    .get('/auth', () => auth, {
      detail: {
        summary: 'How clients sign in (AUTH_MODE)',
        description:
          'off: no sign-in; optional: a connection may sign in with `auth`; required: every connection must sign in first (docs/sign-in.md). The chat page reads it before it connects.',
        tags: ['server'],
      },
      response: {
        200: t.Object({
          mode: t.Union([t.Literal('off'), t.Literal('optional'), t.Literal('required')], {
            example: 'required',
          }),
        }),
      },
    })
    .get(
      '/health',
      async ({ set }) => {
        const health = await store.health()
        if (health.status !== 'ok') set.status = 503
        return health
      },
      {
        detail: { summary: 'Liveness and load', tags: ['server'] },
        response: {
          200: t.Object(
            {
              status: t.Literal('ok', { example: 'ok' }),
              ...healthFields,
            },
            { title: 'Health' },
          ),
          503: t.Object(
            {
              status: t.Union([t.Literal('draining'), t.Literal('degraded')], {
                description: 'draining: shutting down; degraded: Redis out of reach (cluster)',
                example: 'degraded',
              }),
              ...healthFields,
            },
            { title: 'HealthDown' },
          ),
        },
      },
    )
    .get('/rooms', ({ query }) => store.listRooms(query.q, query.limit, query.cursor), {
      query: t.Object({
        q: t.Optional(
          t.String({ description: 'Case-insensitive substring of the room name', example: 'chat' }),
        ),
        limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, default: 50, example: 20 })),
        cursor: t.Optional(
          t.String({ description: 'next_cursor of the previous page', example: 'general-chat' }),
        ),
      }),
      detail: {
        summary: 'List public rooms',
        description:
          "Sorted by id. Pass the reply's next_cursor as ?cursor= for the next page; it is null on the last page.",
        tags: ['rooms'],
      },
      response: {
        200: t.Object(
          {
            rooms: t.Array(RoomSchema),
            next_cursor: t.Nullable(
              t.String({ description: 'Null on the last page', example: 'general-chat' }),
            ),
          },
          { title: 'RoomPage' },
        ),
        400: ErrorSchema,
      },
    })
    .post(
      '/rooms',
      async ({ body, request, set }) => {
        const created = await store.createRoomView(body, clientAddress(request))
        set.status = 201
        return created
      },
      {
        body: t.Object(
          {
            name: t.String({
              description: '1–32 letters, digits, spaces, - _ .',
              example: 'General Chat',
            }),
            max_users: t.Optional(
              t.Integer({
                minimum: 1,
                description: 'Up to MAX_USERS_LIMIT; default DEFAULT_MAX_USERS',
                example: 50,
              }),
            ),
            is_private: t.Optional(t.Boolean({ example: false })),
            password: t.Optional(
              t.String({
                description: 'Required for, and only for, a private room',
                example: 's3cret',
              }),
            ),
            members: MembersField,
          },
          { title: 'CreateRoom' },
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
      params: t.Object({ id: t.String({ example: 'general-chat' }) }),
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
        params: t.Object({ id: t.String({ example: 'general-chat' }) }),
        query: t.Object({
          before: t.Optional(
            t.String({ description: 'Only messages older than this id', example: '000000000041' }),
          ),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 50, example: 20 })),
          password: t.Optional(
            t.String({
              description: 'Private rooms; prefer the X-Room-Password header',
              deprecated: true,
            }),
          ),
        }),
        detail: {
          summary: 'A page of history, oldest first',
          description:
            'Private rooms need the password (X-Room-Password header or ?password=) or the moderator token (Authorization: Bearer); public rooms need neither.',
          tags: ['rooms'],
          security: securedBy(['roomPassword', 'moderatorToken'], true),
        },
        response: {
          200: t.Object(
            {
              messages: t.Array(MessageSchema),
              has_more: t.Boolean({ description: 'Older messages are kept', example: true }),
            },
            { title: 'MessagePage' },
          ),
          401: ErrorSchema,
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
        params: t.Object({ id: t.String({ example: 'general-chat' }) }),
        detail: {
          summary: "The room's bans (moderator token as Bearer)",
          tags: ['moderation'],
          security: securedBy(['moderatorToken']),
        },
        response: {
          200: t.Object(
            {
              bans: t.Array(
                t.Object(
                  {
                    username: t.String({ example: 'spammer' }),
                    by: t.String({ example: 'alice' }),
                    at: t.Integer({
                      description: 'Milliseconds since the epoch',
                      example: 1732471200000,
                    }),
                    until: t.Optional(
                      t.Integer({
                        description: 'When a timed ban ends (ms); none: until lifted',
                        example: 1732474800000,
                      }),
                    ),
                  },
                  { title: 'Ban' },
                ),
              ),
            },
            { title: 'BanList' },
          ),
          401: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
        },
      },
    )
}
