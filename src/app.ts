import { swagger } from '@elysiajs/swagger'
import type { Server } from 'bun'
import { Elysia } from 'elysia'
import type { Config } from './config.ts'
import { type Clock, systemClock } from './domain/clock.ts'
import type { Logger, PasswordHasher, RoomSink } from './domain/ports.ts'
import { RoomStore } from './domain/room-store.ts'
import { jsonLogger } from './logger.ts'
import { argon2Hasher } from './password.ts'
import { ChatError } from './protocol/errors.ts'
import { errorResponse, toChatError } from './transport/errors.ts'
import { httpPlugin } from './transport/http.ts'
import { webPlugin } from './transport/web.ts'
import { roomTopic, wsPlugin } from './transport/ws.ts'

export interface AppDeps {
  clock?: Clock
  hasher?: PasswordHasher
  logger?: Logger
}

/** Short text for an Elysia validation error: the first failing field and why. */
function validationMessage(error: unknown): string {
  const first = (error as { all?: { path?: string; message?: string }[] }).all?.[0]
  if (!first) return 'Invalid request'
  const field = first.path ? first.path.replace(/^\//, '').replaceAll('/', '.') : 'request'
  return `Invalid ${field}: ${first.message ?? 'wrong value'}`
}

/**
 * Bun's `idleTimeout` (whole seconds, at most 960) for HEARTBEAT_TIMEOUT_MS. 0 turns
 * heartbeats off; anything else rounds up, so a sub-second timeout never becomes 0.
 */
export function idleTimeoutSeconds(heartbeatTimeoutMs: number): number {
  if (heartbeatTimeoutMs === 0) return 0
  return Math.min(960, Math.max(1, Math.ceil(heartbeatTimeoutMs / 1000)))
}

/**
 * Builds the server: the RoomStore, REST routes, the WebSocket route and Swagger docs.
 * It does not listen; call `app.listen(...)`.
 */
export function createApp(config: Config, deps: AppDeps = {}) {
  const logger = deps.logger ?? jsonLogger(config.logLevel)
  // Set once listening; before that no room has a subscriber to publish to.
  let server: Server<unknown> | undefined
  const sink: RoomSink = {
    publish: (room, frame) => void server?.publish(roomTopic(room), JSON.stringify(frame)),
  }
  const store = new RoomStore(config, {
    clock: deps.clock ?? systemClock,
    sink,
    hasher: deps.hasher ?? argon2Hasher,
    logger,
  })

  /** The caller's address for per-address limits: the socket's peer, or behind a trusted proxy the first X-Forwarded-For entry. */
  const clientAddress = (request: Request): string => {
    if (config.trustProxy) {
      const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim()
      if (forwarded) return forwarded
    }
    return server?.requestIP(request)?.address ?? 'unknown'
  }

  const app = new Elysia({
    // Not Bun's development mode (Elysia's default unless NODE_ENV=production): the page is
    // bundled once at startup, with no hot-reload script and no build lines on stdout.
    serve: { development: false },
    // Elysia ignores these on the .ws() route; they only take effect here.
    websocket: {
      maxPayloadLength: config.maxPayloadBytes,
      idleTimeout: idleTimeoutSeconds(config.heartbeatTimeoutMs),
      sendPings: true,
      backpressureLimit: config.backpressureLimitBytes,
      closeOnBackpressureLimit: true,
      perMessageDeflate: false,
      publishToSelf: false,
    },
  })
    .error({ ChatError })
    .onError({ as: 'global' }, ({ code, error }) => {
      if (code === 'VALIDATION' || code === 'PARSE') {
        return errorResponse(
          new ChatError(
            'invalid_message',
            code === 'PARSE' ? 'The body is not valid JSON' : validationMessage(error),
          ),
        )
      }
      if (code === 'NOT_FOUND') return errorResponse(new ChatError('not_found'))
      return errorResponse(toChatError(error, logger))
    })
    .use(
      swagger({
        path: '/swagger',
        documentation: {
          info: {
            title: 'Bun chat server',
            version: '0.1.0',
            description:
              'REST API of the chat server. The WebSocket protocol at /ws is described in docs/protocol.md.',
          },
          tags: [
            { name: 'server', description: 'Health' },
            { name: 'rooms', description: 'Rooms and their history' },
            { name: 'moderation', description: 'Moderator-only views' },
          ],
        },
      }),
    )
    // After swagger(): its /swagger page (CDN script) is replaced by a local one.
    .use(webPlugin())
    .use(httpPlugin(store, clientAddress))
    .use(wsPlugin(store, config.allowedOrigins, clientAddress, logger))
    .onStart((started) => {
      server = started.server ?? undefined
    })
    .onStop(() => store.close())

  return { app, store, logger }
}

export type ChatApp = ReturnType<typeof createApp>['app']
