/**
 * `GET /metrics`: the Prometheus text exposition. With METRICS_TOKEN set it needs
 * `Authorization: Bearer <token>` (401 without one, 403 with a wrong one).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia, t } from 'elysia'
import type { ServerMetrics } from '../metrics.ts'
import { ChatError } from '../protocol/errors.ts'
import { securedBy } from './openapi.ts'
import { ErrorSchema } from './rest-schemas.ts'

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** The metrics route, as a named plugin. */
export function metricsPlugin(metrics: ServerMetrics, token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token)
  return new Elysia({ name: 'chat-metrics' }).get(
    '/metrics',
    async ({ request }) => {
      if (expected) {
        const given = request.headers
          .get('authorization')
          ?.match(/^Bearer\s+(.+)$/i)?.[1]
          ?.trim()
        if (given === undefined) {
          throw new ChatError('not_authorized', 'The metrics token is required', undefined, 401)
        }
        // Compare digests: equal length, and no timing hint of how much matched.
        if (!timingSafeEqual(digest(given), expected)) {
          throw new ChatError('not_authorized', 'Wrong metrics token')
        }
      }
      return new Response(await metrics.text(), {
        headers: { 'content-type': metrics.contentType },
      })
    },
    {
      detail: {
        summary: 'Prometheus metrics',
        description:
          'The Prometheus text format. With METRICS_TOKEN set, send it as Authorization: Bearer. See docs/operations.md.',
        tags: ['server'],
        security: securedBy(['metricsToken'], true),
      },
      response: {
        200: t.String({ example: 'chat_connections 17' }),
        401: ErrorSchema,
        403: ErrorSchema,
      },
    },
  )
}
