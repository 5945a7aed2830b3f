/**
 * What the rules tell the app's backend (webhooks, docs/sign-in.md): one event per thing
 * that happened, emitted by the node whose rule made it happen, so that on a cluster each
 * event is sent once. The sink (src/webhooks) queues, signs and delivers them.
 */
import type { RoomId } from '../protocol/frames.ts'
import type { WebhookEventType } from '../webhooks/events.ts'

export type ChatEventType = WebhookEventType

/** Where the rules send their events; `noEvents` when there are no webhooks. */
export interface ChatEvents {
  /** Whether an event of `type` goes anywhere: a rule builds an event's data only then. */
  wants(type: ChatEventType): boolean
  emit(type: ChatEventType, data: Record<string, unknown>): void
}

export const noEvents: ChatEvents = { wants: () => false, emit: () => {} }

/**
 * Why a member left: `left` (a leave, or a drop without grace), `expired` (grace), removed
 * (`kicked`, `banned`), or `access_revoked` (a refreshed token took their access away).
 */
export type LeaveReason = 'left' | 'expired' | 'kicked' | 'banned' | 'access_revoked'

/** The `data` of a member event: the room and the user (`user_id` when signed in). */
export function memberData(
  room: RoomId,
  username: string,
  userId: string | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const data: Record<string, unknown> = { room, username }
  if (userId !== undefined) data.user_id = userId
  return { ...data, ...extra }
}
