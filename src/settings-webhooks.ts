import type { Config } from './config-fields.ts'
import { blank, int, type Setting } from './setting-kinds.ts'
import { isWebhookEventType, WEBHOOK_EVENT_TYPES } from './webhooks/events.ts'
import { checkWebhookSecret } from './webhooks/signing.ts'

// The webhook settings (docs/sign-in.md, "Webhooks"). The secret is never echoed.

export const WEBHOOK_SETTINGS: readonly Setting[] = [
  {
    key: 'webhookUrl',
    env: 'WEBHOOK_URL',
    default: '(unset: no webhooks)',
    literal: false,
    meaning:
      'where the server POSTs its events (room, member and message events), signed as Standard Webhooks say',
    read: (raw) => {
      if (blank(raw)) return undefined
      const value = raw.trim()
      let url: URL | undefined
      try {
        url = new URL(value)
      } catch {}
      if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
        throw new Error(`WEBHOOK_URL must be an http:// or https:// URL, got "${value}"`)
      return value
    },
  },
  {
    key: 'webhookSecret',
    env: 'WEBHOOK_SECRET',
    default: '(unset)',
    literal: false,
    meaning: 'the key the webhooks are signed with: `whsec_` followed by 24–64 bytes in base64',
    read: (raw) => {
      if (blank(raw)) return undefined
      const value = raw.trim()
      const problem = checkWebhookSecret(value)
      if (problem) throw new Error(`WEBHOOK_SECRET: ${problem}`)
      return value
    },
  },
  {
    key: 'webhookEvents',
    env: 'WEBHOOK_EVENTS',
    default: '(all)',
    literal: false,
    meaning: `the event types sent, comma-separated, of: ${WEBHOOK_EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}`,
    read: (raw) => {
      if (blank(raw)) return WEBHOOK_EVENT_TYPES
      const types = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
      for (const t of types)
        if (!isWebhookEventType(t))
          throw new Error(
            `WEBHOOK_EVENTS: unknown event "${t}" (known: ${WEBHOOK_EVENT_TYPES.join(', ')})`,
          )
      return types
    },
  },
  int(
    'webhookQueueLimit',
    'WEBHOOK_QUEUE_LIMIT',
    1,
    10_000_000,
    'events waiting or being sent at most; past it new events are dropped (counted in `/metrics`, logged)',
  ),
]

/** A webhook URL needs its secret, and a secret its URL. */
export function checkWebhookSettings(config: Partial<Config>): void {
  if (config.webhookUrl !== undefined && config.webhookSecret === undefined)
    throw new Error('WEBHOOK_URL needs WEBHOOK_SECRET (whsec_ + base64) to sign the events')
  if (config.webhookSecret !== undefined && config.webhookUrl === undefined)
    throw new Error('WEBHOOK_SECRET is set but WEBHOOK_URL is not')
}
