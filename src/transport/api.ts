/**
 * The server API for the app's backend (`/api/…`, docs/sign-in.md): routes behind
 * `Authorization: Bearer <API_KEY>` (compared in constant time), each calling the store,
 * which runs the rules of src/chat/api.ts on any node for the whole cluster. Without
 * API_KEY there are no such routes (404).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia, t } from 'elysia'
import type { ChatStore } from '../domain/chat-store.ts'
import { ChatError } from '../protocol/errors.ts'
import { bodyParser } from './body-parser.ts'
import { CreatedRoomSchema, ErrorSchema, MembersField, MessageSchema } from './rest-schemas.ts'

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

const MemberSchema = t.Object(
  {
    user_id: t.Nullable(t.String({ description: 'Null for an anonymous member', example: 'u-42' })),
    username: t.String({ example: 'Alice' }),
    online: t.Boolean({ example: true }),
    connections: t.Integer({ example: 1 }),
    moderator: t.Boolean({ example: false }),
  },
  { title: 'Member' },
)

const security = [{ apiKey: [] }]
const refusals = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema }

/**
 * The `/api` routes, as a named plugin; undefined `apiKey`: none (404), though typed with
 * them, so that the typed REST client (src/client/rest.ts) knows the server API.
 */
export function apiPlugin(store: ChatStore, apiKey: string | undefined, maxBodyBytes: number) {
  if (apiKey === undefined)
    return new Elysia({ name: 'chat-api' }) as unknown as ReturnType<typeof apiRoutes>
  return apiRoutes(store, apiKey, maxBodyBytes)
}

function apiRoutes(store: ChatStore, apiKey: string, maxBodyBytes: number) {
  const plugin = new Elysia({ name: 'chat-api' })
  const expected = digest(apiKey)
  const check = ({ request }: { request: Request }) => {
    const given = request.headers
      .get('authorization')
      ?.match(/^Bearer\s+(.+)$/i)?.[1]
      ?.trim()
    // Digests: equal lengths, and no timing hint of how much matched.
    if (given === undefined || !timingSafeEqual(digest(given), expected))
      throw new ChatError('not_authorized', 'The API key is missing or wrong', undefined, 401)
  }
  return plugin
    .onParse(bodyParser(maxBodyBytes))
    .post(
      '/api/rooms',
      async ({ body, set }) => {
        const created = await store.api.createRoom(body)
        set.status = 201
        return created
      },
      {
        beforeHandle: check,
        body: t.Object(
          {
            name: t.String({ example: 'Support' }),
            max_users: t.Optional(t.Integer({ minimum: 1, example: 50 })),
            is_private: t.Optional(t.Boolean({ example: false })),
            password: t.Optional(t.String({ example: 's3cret' })),
            members: MembersField,
          },
          { title: 'ApiCreateRoom' },
        ),
        detail: {
          summary: 'Create a room (as POST /rooms, without the per-address limit)',
          tags: ['server API'],
          security,
        },
        response: { 201: CreatedRoomSchema, ...refusals, 409: ErrorSchema },
      },
    )
    .post(
      '/api/rooms/:id/messages',
      async ({ params, body, set }) => {
        const stored = await store.api.postMessage(params.id, body)
        set.status = 201
        return stored
      },
      {
        beforeHandle: check,
        params: t.Object({ id: t.String({ example: 'support' }) }),
        body: t.Object(
          {
            content: t.String({ example: 'Your order has shipped' }),
            sender: t.Optional(
              t.Object({
                id: t.String({ example: 'u-42' }),
                name: t.String({ example: 'Alice' }),
              }),
            ),
            idempotency_key: t.Optional(
              t.String({
                description: 'The same key within 24 h posts nothing again',
                example: 'order-81-shipped',
              }),
            ),
          },
          { title: 'ApiPostMessage' },
        ),
        detail: {
          summary: "Post a message: from a user of the app's, or a system notice without sender",
          tags: ['server API'],
          security,
        },
        response: { 201: MessageSchema, ...refusals, 429: ErrorSchema },
      },
    )
    .post(
      '/api/rooms/:id/bans',
      async ({ params, body, set }) => {
        const banned = await store.api.ban(params.id, body)
        set.status = 201
        return banned
      },
      {
        beforeHandle: check,
        params: t.Object({ id: t.String({ example: 'support' }) }),
        body: t.Object(
          {
            user_id: t.Optional(t.String({ example: 'u-42' })),
            username: t.Optional(t.String({ example: 'Mallory' })),
            reason: t.Optional(t.String({ example: 'spam' })),
            duration_ms: t.Optional(
              t.Integer({
                description:
                  'A timed ban: it ends after this long (at most a year); none: until lifted',
                minimum: 1,
                example: 3600000,
              }),
            ),
          },
          { title: 'ApiBan' },
        ),
        detail: {
          summary: 'Ban a user by user id or name (removed at once, as by a moderator)',
          tags: ['server API'],
          security,
        },
        response: {
          201: t.Object({
            room: t.String({ example: 'support' }),
            username: t.String({ example: 'Mallory' }),
            user_id: t.Optional(t.String({ example: 'u-42' })),
            until: t.Optional(
              t.Integer({ description: 'When a timed ban ends (ms)', example: 1732474800000 }),
            ),
          }),
          ...refusals,
        },
      },
    )
    .delete(
      '/api/rooms/:id/bans/:user',
      async ({ params, set }) => {
        await store.api.unban(params.id, params.user)
        set.status = 204
      },
      {
        beforeHandle: check,
        params: t.Object({
          id: t.String({ example: 'support' }),
          user: t.String({
            description: 'The banned username, or a user id banned by id',
            example: 'Mallory',
          }),
        }),
        detail: { summary: 'Lift a ban', tags: ['server API'], security },
        response: { 204: t.Void(), ...refusals },
      },
    )
    .post(
      '/api/users/:id/disconnect',
      async ({ params, body, set }) => {
        await store.api.disconnectUser(params.id, body ?? {})
        set.status = 204
      },
      {
        beforeHandle: check,
        params: t.Object({ id: t.String({ description: 'The user id (sub)', example: 'u-42' }) }),
        body: t.Optional(
          t.Object({
            reason: t.Optional(
              t.String({
                description: 'Sent to the user in the error frame',
                example: 'Signed out',
              }),
            ),
            block_ms: t.Optional(
              t.Integer({
                description: "Also refuse this user's tokens for this long (at most 30 days)",
                minimum: 1,
                example: 60000,
              }),
            ),
          }),
        ),
        detail: {
          summary:
            "Close every connection of a user, on every node (not_authorized, then 4403); block_ms also refuses the user's tokens",
          tags: ['server API'],
          security,
        },
        response: { 204: t.Void(), ...refusals },
      },
    )
    .delete(
      '/api/rooms/:id',
      async ({ params, set }) => {
        await store.api.deleteRoom(params.id)
        set.status = 204
      },
      {
        beforeHandle: check,
        params: t.Object({ id: t.String({ example: 'support' }) }),
        detail: {
          summary: 'Delete a room: its members get room_deleted; the room and its history are gone',
          tags: ['server API'],
          security,
        },
        response: { 204: t.Void(), ...refusals },
      },
    )
    .get(
      '/api/rooms/:id/members',
      async ({ params }) => ({ members: await store.api.members(params.id) }),
      {
        beforeHandle: check,
        params: t.Object({ id: t.String({ example: 'support' }) }),
        detail: { summary: 'Every member of a room', tags: ['server API'], security },
        response: {
          200: t.Object({ members: t.Array(MemberSchema) }, { title: 'MemberList' }),
          ...refusals,
        },
      },
    )
}
