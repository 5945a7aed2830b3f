/**
 * Standard Webhooks signatures (symmetric scheme, `v1`): an HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the bytes of a `whsec_` secret.
 * The reference library `standardwebhooks` verifies what this signs (see the tests).
 */
import { createHmac } from 'node:crypto'
import type { WebhookId } from './events.ts'

const PREFIX = 'whsec_'
/** Shortest secret, in bytes: the spec asks for at least 24 (192 bits). */
export const MIN_WEBHOOK_SECRET_BYTES = 24
/** Longest secret, in bytes: the spec's maximum of 512 bits. */
export const MAX_WEBHOOK_SECRET_BYTES = 64

// Standard base64 with its padding, as the reference libraries decode it; base64url or
// stray characters would be silently skipped by Node's lenient decoder.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Says what is wrong with a webhook secret (`whsec_` + base64 of 24 to 64 bytes), or
 * `undefined` when it is usable. The message never holds the secret.
 */
export function checkWebhookSecret(secret: string): string | undefined {
  if (!secret.startsWith(PREFIX)) return `The webhook secret must start with "${PREFIX}"`
  const encoded = secret.slice(PREFIX.length)
  if (!BASE64.test(encoded)) return `The webhook secret must be "${PREFIX}" followed by base64`
  const bytes = Buffer.from(encoded, 'base64').length
  if (bytes < MIN_WEBHOOK_SECRET_BYTES || bytes > MAX_WEBHOOK_SECRET_BYTES) {
    return `The webhook secret holds ${bytes} bytes; it must hold ${MIN_WEBHOOK_SECRET_BYTES} to ${MAX_WEBHOOK_SECRET_BYTES}`
  }
  return undefined
}

/** Builds the signed headers of one attempt. */
export type WebhookSigner = (id: WebhookId, timestampS: number, body: string) => Headers

/**
 * A signer for `secret`; throws a plain `Error` (without the secret) when it is malformed.
 * The key stays inside the closure, so logging or inspecting its owner cannot show it.
 *
 * @example
 * const sign = webhookSigner(settings.secret)
 * fetch(url, { method: 'POST', headers: sign(event.id, nowS, event.body), body: event.body })
 */
export function webhookSigner(secret: string): WebhookSigner {
  const problem = checkWebhookSecret(secret)
  if (problem) throw new Error(problem)
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64')
  return (id, timestampS, body) => {
    const mac = createHmac('sha256', key).update(`${id}.${timestampS}.`).update(body)
    return new Headers({
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestampS),
      'webhook-signature': `v1,${mac.digest('base64')}`,
    })
  }
}
