/**
 * The chat client library: `import { ChatClient } from 'bun-chat-server/client'`.
 * Browser-safe: nothing here imports Bun, Elysia, Node modules or server code. The typed
 * REST helper lives apart, in `bun-chat-server/client/rest`, so that it stays out of
 * bundles that do not use it.
 */
export { backoffDelay } from './backoff.ts'
export { ChatClient } from './chat-client.ts'
export {
  type ChangeFrame,
  type ChatClientEvents,
  type ChatClientOptions,
  type ChatEventHandler,
  type ChatEventName,
  ChatRequestError,
  type ClientClock,
  type ClientErrorCode,
  type ConnectionState,
  type DirectFrame,
  type DisconnectInfo,
  type ErrorCode,
  type ErrorFrame,
  type FrameOf,
  type JoinedFrame,
  type MessageDeletedFrame,
  type MessageEditedFrame,
  type MessageFrame,
  type MessageId,
  type PresenceStatus,
  type ReactionFrame,
  type ReactionView,
  type ReadFrame,
  type ReconnectedInfo,
  type RoomId,
  type RoomMembership,
  type ServerFrame,
  type ServerFrameType,
  type StoredMessage,
  type SystemFrame,
  type UserView,
} from './types.ts'
