/**
 * The server → client frames as TypeBox schemas, one per `type` of the `ServerFrame` union
 * (frames.ts). The AsyncAPI document (src/transport/asyncapi.ts) is written from these. The
 * mapped type at the bottom makes `bun run typecheck` fail, naming the frame, when a frame
 * of the union has no schema here or its schema's fields differ from the union's.
 */
import { type Static, type TSchema, t } from 'elysia'

// TypeBox's own types, as Elysia's `t` makes them (elysia exports only TSchema and Static).
type TObject = ReturnType<typeof t.Object>
type TProperties = Record<string, TSchema>

import { RefSchema } from './client-frame-schemas.ts'
import { ERRORS, type ErrorCode } from './errors.ts'
import type { ServerFrame, StoredMessage, UserView } from './frames.ts'

export type ServerFrameType = ServerFrame['type']

const roomId = () => t.String({ description: 'The room id', examples: ['general'] })
const messageId = (description: string) => t.String({ description, examples: ['000000000041'] })
const userId = () =>
  t.Optional(
    t.String({ description: 'The user id, when signed in (AUTH_MODE)', examples: ['u-42'] }),
  )
const ms = (description: string) => t.Integer({ description })
const ref = () => t.Optional(RefSchema)
const eventId = () =>
  t.String({
    description:
      "The change's place in the room's sequence (the id space of messages): use it in last_ids",
    examples: ['000000000042'],
  })
const readMarks = () =>
  t.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: "Each member's last-read message id, by username (only yours in a big room)",
    examples: [{ alice: '000000000041' }],
  })
const unread = () =>
  t.Integer({ minimum: 0, description: 'Kept text messages of others after your read marker' })

const PresenceStatusSchema = t.Union([t.Literal('online'), t.Literal('offline')], {
  title: 'PresenceStatus',
})

export const UserViewSchema = t.Object(
  {
    username: t.String({ examples: ['alice'] }),
    status: PresenceStatusSchema,
    moderator: t.Boolean(),
    user_id: userId(),
  },
  { title: 'UserView', description: 'A member as user lists show them' },
)

const ReactionViewSchema = t.Object(
  {
    count: t.Integer({ minimum: 1, description: 'How many reacted with this emoji' }),
    users: t.Array(t.String(), { maxItems: 50, description: 'Who (the first 50)' }),
  },
  { title: 'ReactionView' },
)

/** An object keyed by emoji (a map: `additionalProperties`, as for `last_ids`). */
export const ReactionsSchema = t.Unsafe<Record<string, Static<typeof ReactionViewSchema>>>({
  type: 'object',
  additionalProperties: ReactionViewSchema,
  title: 'Reactions',
  description: 'By emoji',
  examples: [{ '👍': { count: 1, users: ['bob'] } }],
})

export const StoredMessageSchema = t.Object(
  {
    id: messageId('Increasing within the room; 12-digit zero-padded decimal'),
    type: t.Union([t.Literal('text'), t.Literal('system')], { title: 'MessageKind' }),
    sender: t.String({ description: '"system" for a system message', examples: ['bob'] }),
    content: t.Optional(
      t.String({ description: 'The latest text; absent on a deleted message', examples: ['Hi!'] }),
    ),
    timestamp: ms('Milliseconds since the epoch'),
    room_id: roomId(),
    user_id: userId(),
    reply_to: t.Optional(messageId('The id of the message this one replies to')),
    edited_at: t.Optional(ms('When the text was last edited (ms)')),
    deleted: t.Optional(t.Literal(true, { description: 'A tombstone: no content' })),
    reactions: t.Optional(ReactionsSchema),
  },
  {
    title: 'StoredMessage',
    description: 'A message as the room keeps it (joined.history, history, REST)',
  },
)

const ErrorCodeSchema = t.Unsafe<ErrorCode>({
  title: 'ErrorCode',
  type: 'string',
  enum: Object.keys(ERRORS),
  description: 'The protocol error code (docs/protocol.md#error-codes); branch on it',
})

const ModeratedActionSchema = t.Union(
  [t.Literal('ban'), t.Literal('kick'), t.Literal('unban'), t.Literal('mute'), t.Literal('unmute')],
  { title: 'ModerationAction' },
)

/** A server frame's schema: its type and its fields. */
function frame<T extends ServerFrameType, P extends TProperties>(
  type: T,
  title: string,
  description: string,
  properties: P,
) {
  return t.Object({ type: t.Literal(type), ...properties }, { title, description })
}

/** Every frame the server sends, by `type`. */
export const SERVER_FRAMES = {
  welcome: frame('welcome', 'ServerWelcome', 'The first frame of every connection', {
    session: t.String({ description: 'The bearer secret that resumes this session' }),
    resume_within_ms: ms('How long a dropped session may be resumed (RESUME_GRACE_MS)'),
  }),
  authenticated: frame('authenticated', 'ServerAuthenticated', 'The answer to a good `auth`', {
    user: t.Object(
      { id: t.String({ examples: ['u-42'] }), name: t.String({ examples: ['Alice'] }) },
      { title: 'SignedInUser', description: "The token's user: its sub and display name" },
    ),
    expires_at: ms('When the token expires (ms since the epoch); refresh before with `auth`'),
    ref: ref(),
  }),
  joined: frame('joined', 'ServerJoined', 'You are in the room (join, create)', {
    room: roomId(),
    username: t.String({ examples: ['alice'] }),
    moderator: t.Boolean(),
    users: t.Array(UserViewSchema),
    history: t.Array(StoredMessageSchema, { description: 'Kept messages, oldest first' }),
    read: readMarks(),
    unread: unread(),
    moderator_token: t.Optional(t.String({ description: 'Only after `create`; shown once' })),
    ref: ref(),
  }),
  left: frame('left', 'ServerLeft', 'You are out of the room', {
    room: roomId(),
    reason: t.Optional(
      t.Literal('access_revoked', { description: 'A sign-in refresh took the access away' }),
    ),
    ref: ref(),
  }),
  message: frame('message', 'ServerMessage', 'A chat message, to every member', {
    room: roomId(),
    id: messageId('The message id'),
    sender: t.String({ examples: ['bob'] }),
    content: t.String({ examples: ['Hi!'] }),
    ts: ms('Milliseconds since the epoch'),
    user_id: userId(),
    reply_to: t.Optional(messageId('The id of the message this one replies to')),
    edited_at: t.Optional(ms('Only on a replayed message that was edited meanwhile')),
    reactions: t.Optional(ReactionsSchema),
  }),
  message_edited: frame('message_edited', 'ServerMessageEdited', 'A kept message was edited', {
    room: roomId(),
    id: messageId('The message edited'),
    content: t.String({ description: 'Its new text' }),
    edited_at: ms('When (ms)'),
    event_id: eventId(),
  }),
  message_deleted: frame('message_deleted', 'ServerMessageDeleted', 'A kept message was deleted', {
    room: roomId(),
    id: messageId('The message deleted'),
    by: t.String({ description: 'Who deleted it: its sender or a moderator' }),
    event_id: eventId(),
  }),
  reaction: frame('reaction', 'ServerReaction', 'A reaction was set or cleared', {
    room: roomId(),
    id: messageId('The message reacted to'),
    emoji: t.String({ examples: ['👍'] }),
    username: t.String(),
    user_id: userId(),
    on: t.Boolean({ description: 'Set (true) or cleared (false)' }),
    count: t.Integer({
      minimum: 0,
      description: "That emoji's total on the message after the change",
    }),
    event_id: eventId(),
  }),
  read: frame('read', 'ServerRead', "A member's read marker moved (at most one per second)", {
    room: roomId(),
    username: t.String(),
    user_id: userId(),
    id: messageId('The last message they have read'),
  }),
  direct: frame(
    'direct',
    'ServerDirect',
    'Someone wrote the first message of a direct conversation with you',
    {
      room: roomId(),
      from: t.Object(
        { user_id: t.String(), username: t.String() },
        { title: 'DirectFrom', description: 'Who wrote' },
      ),
    },
  ),
  directs: frame('directs', 'ServerDirects', 'Your direct conversations', {
    rooms: t.Array(
      t.Object(
        { room: roomId(), user_id: t.String({ description: 'The other user' }) },
        { title: 'DirectRoom' },
      ),
    ),
    ref: ref(),
  }),
  system: frame('system', 'ServerSystem', 'A stored system note sent live (moderation acts)', {
    room: roomId(),
    id: messageId('The message id'),
    content: t.String({ examples: ['bob was kicked by alice'] }),
    ts: ms('Milliseconds since the epoch'),
  }),
  user_joined: frame('user_joined', 'ServerUserJoined', 'Someone joined', {
    room: roomId(),
    username: t.String(),
    user_id: userId(),
  }),
  user_left: frame('user_left', 'ServerUserLeft', 'Someone left for good', {
    room: roomId(),
    username: t.String(),
    user_id: userId(),
  }),
  presence: frame('presence', 'ServerPresence', 'A member went offline or came back', {
    room: roomId(),
    username: t.String(),
    status: PresenceStatusSchema,
    user_id: userId(),
  }),
  presence_diff: frame(
    'presence_diff',
    'ServerPresenceDiff',
    'Batched presence in big rooms: remove `leaves`, then upsert `joins`',
    { room: roomId(), joins: t.Array(UserViewSchema), leaves: t.Array(t.String()) },
  ),
  typing: frame('typing', 'ServerTyping', 'Someone is typing, or stopped', {
    room: roomId(),
    username: t.String(),
    active: t.Boolean(),
    user_id: userId(),
  }),
  history: frame('history', 'ServerHistory', 'A page of kept messages, oldest first', {
    room: roomId(),
    messages: t.Array(StoredMessageSchema),
    has_more: t.Boolean(),
    ref: ref(),
  }),
  resumed: frame(
    'resumed',
    'ServerResumed',
    'A room of a resumed session (then its missed messages); recovered false: some are missing',
    {
      room: roomId(),
      username: t.String(),
      moderator: t.Boolean(),
      recovered: t.Boolean(),
      users: t.Array(UserViewSchema),
      read: readMarks(),
      unread: unread(),
      ref: ref(),
    },
  ),
  banned: frame('banned', 'ServerBanned', 'You were banned from the room', {
    room: roomId(),
    by: t.String(),
  }),
  kicked: frame('kicked', 'ServerKicked', 'You were removed from the room', {
    room: roomId(),
    by: t.String(),
  }),
  room_deleted: frame('room_deleted', 'ServerRoomDeleted', 'The room was deleted; you are out', {
    room: roomId(),
  }),
  moderated: frame('moderated', 'ServerModerated', 'Your moderation act was done', {
    room: roomId(),
    action: ModeratedActionSchema,
    user_id: userId(),
    ref: ref(),
  }),
  pong: frame('pong', 'ServerPong', 'The answer to `ping`', { ref: ref() }),
  shutdown: frame('shutdown', 'ServerShutdown', 'The server is going away', {
    reconnect_in_ms: ms('Wait this long, then reconnect and resume'),
  }),
  error: frame('error', 'ServerError', 'A refusal; the connection stays open', {
    code: ErrorCodeSchema,
    message: t.String({ description: 'For people; may change' }),
    room: t.Optional(roomId()),
    ref: ref(),
  }),
} as const satisfies Record<ServerFrameType, TObject>

// ── The schemas and the TypeScript types agree ────────────────────────────────────────

/**
 * `true` when A and B are assignable both ways and name the same keys (an optional field
 * missing on one side is assignable both ways, so the keys are compared too).
 */
type Same<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [keyof A] extends [keyof B]
      ? [keyof B] extends [keyof A]
        ? true
        : false
      : false
    : false
  : false

/** Per frame type, whether its schema's type is the union member's. */
type Agreement = {
  [T in ServerFrameType]: Same<Static<(typeof SERVER_FRAMES)[T]>, Extract<ServerFrame, { type: T }>>
}
// A type error here names the frame whose schema and type differ.
const agreement: Agreement = null as unknown as { [T in ServerFrameType]: true }
void agreement
const parts: [
  Same<Static<typeof UserViewSchema>, UserView>,
  Same<Static<typeof StoredMessageSchema>, StoredMessage>,
] = [true, true]
void parts
