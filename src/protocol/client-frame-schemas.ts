/**
 * The client → server frames as TypeBox schemas: one entry per action, with the limits
 * `parseClientFrame` (frames.ts) enforces. The AsyncAPI document (src/transport/asyncapi.ts)
 * is written from these, and test/contract/frame-schemas.test.ts proves over generated frames
 * that the parser accepts exactly what these schemas accept. Adding an action is one entry
 * here (the `Action` type makes it required) beside its case in the parser.
 */
import { type TSchema, t } from 'elysia'

// TypeBox's own types, as Elysia's `t` makes them (elysia exports only TSchema and Static).
type TObject = ReturnType<typeof t.Object>
type TProperties = Record<string, TSchema>

import { type Action, MAX_FIELD_LENGTH, MAX_REF_LENGTH, type ServerFrame } from './frames.ts'

/** One action: its frame's schema and the frames that answer it directly (echoing `ref`). */
export interface ClientFrameSpec {
  schema: TObject
  /** What the frame does, in a line. */
  summary: string
  /** The server frames that answer this one directly, with its `ref`. */
  replies: readonly ServerFrame['type'][]
}

export const RefSchema = t.Union([t.String({ maxLength: MAX_REF_LENGTH }), t.Number()], {
  title: 'Ref',
  description: 'Any request id the client chooses; echoed on the direct reply to its frame',
  examples: ['r-1'],
})

/** A string field with the parser's usual cap. */
const field = (description: string, example?: string) =>
  t.String({
    maxLength: MAX_FIELD_LENGTH,
    description,
    ...(example === undefined ? {} : { examples: [example] }),
  })

const room = () =>
  field('A room id, or a name that slugs to it (docs/protocol.md#identifiers)', 'general')
const username = (what: string) =>
  field(`${what} (1 to 32 characters: docs/protocol.md#identifiers)`, 'alice')

/** A frame's schema: its action, its fields, and the `ref` every frame may carry. */
function frame<P extends TProperties>(action: Action, title: string, properties: P) {
  return t.Object(
    { action: t.Literal(action), ...properties, ref: t.Optional(RefSchema) },
    { title },
  )
}

const moderation = (action: Action, title: string, verb: string) =>
  frame(action, title, { room: room(), username: username(`The member to ${verb}`) })

const MODERATED = ['moderated', 'error'] as const

/** A message id: its string (at most 64 characters), or the same as a number. */
const messageId = (description: string) =>
  t.Union([t.String({ maxLength: 64 }), t.Number()], {
    description,
    examples: ['000000000041'],
  })

/** Every action a client may send, with its frame's schema. */
export const CLIENT_FRAMES = {
  auth: {
    summary: 'Sign in, or refresh the sign-in with a new token (AUTH_MODE optional or required)',
    replies: ['authenticated', 'error'],
    schema: frame('auth', 'ClientAuth', {
      // No cap: a token over 8 KB is refused as `invalid_token` by the sign-in rules.
      token: t.String({ description: "A JWT signed by the app's backend (docs/sign-in.md)" }),
    }),
  },
  join: {
    summary: 'Join a room',
    replies: ['joined', 'error'],
    schema: frame('join', 'ClientJoin', {
      room: room(),
      username: t.Optional(username('Required unless signed in (then ignored)')),
      password: t.Optional(field('Required for a private room')),
      token: t.Optional(field("The room's moderator token: join as a moderator")),
    }),
  },
  create: {
    summary: 'Create a room and join it as its moderator',
    replies: ['joined', 'error'],
    schema: frame('create', 'ClientCreate', {
      name: field('The room name; its slug becomes the room id', 'General Chat'),
      username: t.Optional(username('Required unless signed in (then ignored)')),
      max_users: t.Optional(
        t.Integer({ minimum: 1, maximum: 1_000_000, description: 'Default DEFAULT_MAX_USERS' }),
      ),
      is_private: t.Optional(
        t.Boolean({ description: 'Default: whether a password is given; private needs one' }),
      ),
      password: t.Optional(field('Makes the room private (at most 128 characters)')),
      members: t.Optional(field('"anyone" (the default) or "signed_in"', 'anyone')),
    }),
  },
  message: {
    summary:
      'Post a message; it reaches every member, the sender included, as a `message` frame (which carries no ref)',
    replies: ['error'],
    schema: frame('message', 'ClientMessage', {
      room: room(),
      // No field cap: the rules count code points against MAX_CONTENT_CHARS (which may exceed
      // 4096); the frame size bounds it.
      content: t.String({ description: 'Plain text, delivered as sent', examples: ['Hi!'] }),
      reply_to: t.Optional(field('The id of a kept message of the same room', '000000000041')),
    }),
  },
  typing: {
    summary: 'Say you are typing; the others get `typing` (throttled, never an error for that)',
    replies: ['error'],
    schema: frame('typing', 'ClientTyping', { room: room() }),
  },
  leave: {
    summary: 'Leave a room',
    replies: ['left', 'error'],
    schema: frame('leave', 'ClientLeave', { room: room() }),
  },
  history: {
    summary: "A page of a room's kept messages, oldest first",
    replies: ['history', 'error'],
    schema: frame('history', 'ClientHistory', {
      room: room(),
      before: t.Optional(
        t.Union([field('A message id'), t.Number()], {
          description: 'Messages before this id (a string, or the same as a number)',
          examples: ['000000000041'],
        }),
      ),
      limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, description: 'Default 50' })),
    }),
  },
  resume: {
    summary: 'Take over a dropped session, before joining anything',
    replies: ['resumed', 'error'],
    schema: frame('resume', 'ClientResume', {
      session: field('The `welcome.session` of the dropped connection'),
      last_ids: t.Optional(
        t.Unsafe<Record<string, string | number> | null>({
          anyOf: [
            {
              type: 'object',
              maxProperties: 1000,
              additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }] },
            },
            { type: 'null' },
          ],
          description: 'Per room id, the id of the last message the client saw (null: none)',
          examples: [{ general: '000000000041' }],
        }),
      ),
    }),
  },
  ban: {
    summary: 'Ban a user from the room (moderators)',
    replies: MODERATED,
    schema: moderation('ban', 'ClientBan', 'ban'),
  },
  kick: {
    summary: 'Remove a member; they may come back (moderators)',
    replies: MODERATED,
    schema: moderation('kick', 'ClientKick', 'kick'),
  },
  unban: {
    summary: 'Lift a ban (moderators)',
    replies: MODERATED,
    schema: moderation('unban', 'ClientUnban', 'unban'),
  },
  mute: {
    summary: "Refuse a user's messages for a while (moderators)",
    replies: MODERATED,
    schema: frame('mute', 'ClientMute', {
      room: room(),
      username: username('The member to mute'),
      duration_ms: t.Integer({
        minimum: 1,
        maximum: 7 * 24 * 3600 * 1000,
        description: 'Milliseconds, 1 ms to 7 days',
      }),
    }),
  },
  unmute: {
    summary: 'Lift a mute (moderators)',
    replies: MODERATED,
    schema: moderation('unmute', 'ClientUnmute', 'unmute'),
  },
  edit: {
    summary:
      'Replace the text of your own message; every member gets `message_edited` (which carries no ref)',
    replies: ['error'],
    schema: frame('edit', 'ClientEdit', {
      room: room(),
      id: messageId('The id of a kept message you sent'),
      // No field cap: the rules count code points against MAX_CONTENT_CHARS, as for `message`.
      content: t.String({ description: 'The new text', examples: ['Hi all!'] }),
    }),
  },
  delete: {
    summary:
      'Delete your message (moderators: anyone’s); every member gets `message_deleted` (no ref)',
    replies: ['error'],
    schema: frame('delete', 'ClientDelete', {
      room: room(),
      id: messageId('The id of a kept message'),
    }),
  },
  react: {
    summary: 'Set or clear your reaction on a message; every member gets `reaction` (no ref)',
    replies: ['error'],
    schema: frame('react', 'ClientReact', {
      room: room(),
      id: messageId('The id of a kept text message'),
      emoji: t.String({
        maxLength: 64,
        description: 'One emoji, or a :short_name: of 1 to 32 letters, digits, _ or -',
        examples: ['👍'],
      }),
      on: t.Boolean({ description: 'true sets the reaction, false clears it' }),
    }),
  },
  read: {
    summary: 'Move your read marker in the room forward; the others get `read` (no reply)',
    replies: ['error'],
    schema: frame('read', 'ClientRead', {
      room: room(),
      id: messageId('The last message you have read'),
    }),
  },
  direct: {
    summary: 'Open the direct conversation with another signed-in user',
    replies: ['joined', 'error'],
    schema: frame('direct', 'ClientDirect', {
      user_id: field("The other user's id (their token's sub, 1 to 256 characters)", 'u-42'),
    }),
  },
  directs: {
    summary: 'List your direct conversations',
    replies: ['directs', 'error'],
    schema: frame('directs', 'ClientDirects', {}),
  },
  ping: {
    summary: 'Ask for a `pong` (browsers cannot see protocol pings)',
    replies: ['pong', 'error'],
    schema: frame('ping', 'ClientPing', {}),
  },
} as const satisfies Record<Action, ClientFrameSpec>
