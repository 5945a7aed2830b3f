/**
 * The events the server reports by webhook, and the body each one is sent as. The body
 * follows the Standard Webhooks payload structure: `{"type","timestamp","data"}`.
 */
import { randomBytes } from 'node:crypto'

/** Every event type a webhook can carry, in the order the docs list them. */
export const WEBHOOK_EVENT_TYPES = [
  'room.created',
  'room.deleted',
  'member.joined',
  'member.left',
  'message.created',
  'message.edited',
  'message.deleted',
  'member.banned',
  'member.kicked',
] as const

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

/** Whether `s` names an event type (for parsing WEBHOOK_EVENTS). */
export function isWebhookEventType(s: string): s is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s)
}

/** The id of one event: the `webhook-id` header, the same on every retry. */
export type WebhookId = string

/** One event as it waits to be delivered: its body is fixed when it is enqueued. */
export interface WebhookEvent {
  readonly id: WebhookId
  readonly type: WebhookEventType
  /** The JSON that is signed and sent, byte for byte the same on every attempt. */
  readonly body: string
}

/**
 * A fresh event id: `msg_` and 16 random bytes in base64url. The spec asks that ids hold no
 * `.`, since the signed content is `id.timestamp.body`; base64url has none.
 */
export function newWebhookId(): WebhookId {
  return `msg_${randomBytes(16).toString('base64url')}`
}

/**
 * The event's body; `timestamp` is when it happened (ISO 8601), not when it is sent.
 * Throws when `data` cannot be serialized (a cycle, a BigInt).
 */
export function webhookBody(type: WebhookEventType, nowMs: number, data: unknown): string {
  return JSON.stringify({ type, timestamp: new Date(nowMs).toISOString(), data })
}
