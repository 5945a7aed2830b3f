/**
 * The REST schemas shared by the route plugins (http.ts, api.ts, metrics.ts): the error body,
 * rooms, users and messages.
 */
import { t } from 'elysia'

// These schemas are also the OpenAPI document's (openapi.ts): examples sit on the fields, and
// an object with a `title` becomes a shared component of that name.

export const ErrorSchema = t.Object(
  {
    error: t.Object({
      code: t.String({ example: 'room_not_found', description: 'One of the protocol error codes' }),
      message: t.String({ example: 'No room with id "lobby"' }),
    }),
  },
  // The document's Error component (openapi.ts) is written from the catalog, `code` an enum.
  { title: 'Error' },
)

const UserSchema = t.Object(
  {
    username: t.String({ example: 'alice' }),
    status: t.Union([t.Literal('online'), t.Literal('offline')], { example: 'online' }),
    moderator: t.Boolean({ example: false }),
    user_id: t.Optional(t.String({ description: 'When signed in (AUTH_MODE)', example: 'u-42' })),
  },
  { title: 'User' },
)

const roomFields = {
  id: t.String({ description: 'URL-safe slug of the name', example: 'general-chat' }),
  name: t.String({ example: 'General Chat' }),
  is_private: t.Boolean({ example: false }),
  max_users: t.Integer({ example: 1000 }),
  user_count: t.Integer({
    description: 'Members, counting those offline in their resume grace',
    example: 2,
  }),
  created_at: t.Integer({ description: 'Milliseconds since the epoch', example: 1732471200000 }),
  members: t.Optional(
    t.Literal('signed_in', { description: 'Present on a room only signed-in users may join' }),
  ),
}

/** `members` of a new room: who may join it. */
export const MembersField = t.Optional(
  t.String({
    description: '"anyone" (default) or "signed_in": only signed-in users may join (AUTH_MODE)',
    example: 'anyone',
  }),
)

export const RoomSchema = t.Object(roomFields, { title: 'Room' })

export const RoomDetailsSchema = t.Object(
  {
    ...roomFields,
    users: t.Optional(t.Array(UserSchema, { description: 'Public rooms only' })),
  },
  { title: 'RoomDetails' },
)
export const CreatedRoomSchema = t.Object(
  {
    ...roomFields,
    moderator_token: t.String({
      description: 'Join with it as "token" to be a moderator; shown only here',
      example: 'q4E9xv0m2N8rTt1kHq0pZbWc5dYl3sAa',
    }),
  },
  { title: 'CreatedRoom' },
)
export const MessageSchema = t.Object(
  {
    id: t.String({
      description: 'Increasing within the room; zero-padded decimal',
      example: '000000000041',
    }),
    type: t.Union([t.Literal('text'), t.Literal('system')], { example: 'text' }),
    sender: t.String({ example: 'bob' }),
    content: t.Optional(
      t.String({ description: 'The latest text; absent on a deleted message', example: 'Hi!' }),
    ),
    timestamp: t.Integer({ description: 'Milliseconds since the epoch', example: 1732471200000 }),
    room_id: t.String({ example: 'general-chat' }),
    user_id: t.Optional(t.String({ description: 'The sender, when signed in', example: 'u-42' })),
    reply_to: t.Optional(
      t.String({
        description: 'The id of the message this one replies to',
        example: '000000000041',
      }),
    ),
    edited_at: t.Optional(
      t.Integer({ description: 'When the text was last edited (ms)', example: 1732471260000 }),
    ),
    deleted: t.Optional(
      t.Literal(true, { description: 'A deleted message: a tombstone, with no content' }),
    ),
    reactions: t.Optional(
      t.Record(
        t.String(),
        t.Object({
          count: t.Integer({ minimum: 1, description: 'How many reacted with this emoji' }),
          users: t.Array(t.String(), { maxItems: 50, description: 'Who (the first 50)' }),
        }),
        {
          description: 'By emoji, in the order first used',
          example: { '👍': { count: 1, users: ['bob'] } },
        },
      ),
    ),
  },
  { title: 'Message' },
)
