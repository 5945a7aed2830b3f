import type { Server } from 'bun'
import { Elysia } from 'elysia'
import { TokenVerifier } from './auth/tokens.ts'
import { type ChatEvents, noEvents } from './chat/events.ts'
import type { ClusterStore } from './cluster/cluster-store.ts'
import type { Config } from './config.ts'
import type { ChatStore } from './domain/chat-store.ts'
import { type Clock, systemClock } from './domain/clock.ts'
import type { Logger, PasswordHasher, RoomSink } from './domain/ports.ts'
import { RoomStore } from './domain/room-store.ts'
import { createLogger } from './logger.ts'
import { ServerMetrics } from './metrics.ts'
import { argon2Hasher } from './password.ts'
import { ChatError } from './protocol/errors.ts'
import { apiPlugin } from './transport/api.ts'
import { type AsyncApiInfo, asyncApiPlugin } from './transport/asyncapi.ts'
import { errorResponse, toChatError } from './transport/errors.ts'
import { httpPlugin } from './transport/http.ts'
import { allowedMethods, checkHeaderSize } from './transport/http-guards.ts'
import { metricsPlugin } from './transport/metrics.ts'
import { type DocumentInfo, openApiPlugin, type RouteInfo } from './transport/openapi.ts'
import { webPlugin } from './transport/web.ts'
import { roomTopic, wsPlugin } from './transport/ws.ts'
import { VERSION } from './version.ts'
import { WebhookSender } from './webhooks/webhook-sender.ts'

/**
 * Bun's `maxRequestBodySize`. Over it, Bun answers 413 with an empty body before any
 * handler runs (measured, Bun 1.4.5), and for a chunked body it replaces the handler's
 * answer with that bare 413. So it cannot carry MAX_BODY_BYTES and the error body both:
 * it stays a backstop, and MAX_BODY_BYTES is enforced by the Content-Length check in
 * REST parse hook (body-parser.ts) and its counting body reader (8 × 20 MB bodies refused that
 * way left the RSS flat: an unread body is not buffered).
 */
export const BODY_BACKSTOP_BYTES = 128 * 1024 * 1024

/** The OpenAPI document's title, description and tags (the operations come from the routes). */
const DOCUMENT_INFO: DocumentInfo = {
  title: 'Bun chat server',
  version: VERSION,
  license: { name: 'MIT', identifier: 'MIT' },
  description:
    'REST API of the chat server. Every refusal is `{"error":{"code","message"}}` with a code from the catalog (docs/protocol.md#error-codes). The WebSocket protocol at /ws is described in docs/protocol.md.',
  tags: [
    { name: 'server', description: 'Health, metrics and the sign-in mode' },
    { name: 'rooms', description: 'Rooms and their history' },
    { name: 'moderation', description: 'Moderator-only views' },
    { name: 'server API', description: "For the app's backend, with API_KEY" },
  ],
}

/** The AsyncAPI document's title and description (the frames come from their schemas). */
const ASYNCAPI_INFO: AsyncApiInfo = {
  title: 'Bun chat server: the WebSocket protocol',
  version: VERSION,
  description:
    'The WebSocket at /ws. Any client frame may carry `ref` (a string of at most 64 characters, or a number), which its direct reply echoes; every refusal is an `error` frame with a code from the catalog (docs/protocol.md#error-codes). The REST API is the OpenAPI document at /swagger/json.',
}

/** The app's routes as the OpenAPI generator reads them. */
const routesOf = (app: { routes: unknown }): RouteInfo[] => app.routes as RouteInfo[]

export interface AppDeps {
  clock?: Clock
  hasher?: PasswordHasher
  logger?: Logger
  /** The Redis engine's store, needed with REDIS_URL: `await loadClusterStore(config)`. */
  ClusterStore?: typeof ClusterStore
}

/**
 * The Redis engine's store class when REDIS_URL is set, else undefined. The cluster's
 * modules (and ioredis) are loaded only here, so that a node on the memory engine does
 * not hold them.
 */
export async function loadClusterStore(config: Config): Promise<typeof ClusterStore | undefined> {
  if (config.redisUrl === undefined) return undefined
  return (await import('./cluster/cluster-store.ts')).ClusterStore
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

/** The store class for REDIS_URL; a caller that did not load it is a programming error. */
function clusterStore(deps: AppDeps): typeof ClusterStore {
  if (!deps.ClusterStore)
    throw new Error('REDIS_URL is set: pass `await loadClusterStore(config)` as deps.ClusterStore')
  return deps.ClusterStore
}

/**
 * Builds the server: the RoomStore, REST routes, the WebSocket route and Swagger docs.
 * It does not listen; call `app.listen(...)`.
 */
export function createApp(config: Config, deps: AppDeps = {}) {
  const logger =
    deps.logger ??
    createLogger({ level: config.logLevel, format: config.logFormat, nodeId: config.nodeId })
  // Set once listening; before that no room has a subscriber to publish to.
  let server: Server<unknown> | undefined
  const clock = deps.clock ?? systemClock
  const hasher = deps.hasher ?? argon2Hasher
  const metrics = new ServerMetrics(
    { stats: () => store.stats() },
    { redis: config.redisUrl !== undefined, nodeId: config.nodeId },
  )
  const publishJson = (room: string, json: string) => {
    if (!server) return
    const topic = roomTopic(room)
    metrics.delivered(server.subscriberCount(topic))
    server.publish(topic, json)
  }
  // With REDIS_URL the rooms are shared with the other nodes; without it, all in memory.
  const sink: RoomSink = {
    publishJson,
    publish: (room, frame) => publishJson(room, JSON.stringify(frame)),
  }
  const verifier =
    config.authMode === 'off'
      ? undefined
      : TokenVerifier.create({
          mode: config.authMode,
          jwtSecret: config.authJwtSecret,
          jwtPreviousSecret: config.authJwtPreviousSecret,
          jwtPublicKey: config.authJwtPublicKey,
          jwksUrl: config.authJwksUrl,
          issuer: config.authIssuer,
          audience: config.authAudience,
          clockToleranceS: config.authClockToleranceS,
        })
  // With WEBHOOK_URL, the rules' events go to the app's backend (src/webhooks).
  const webhooks =
    config.webhookUrl && config.webhookSecret
      ? new WebhookSender(
          {
            url: config.webhookUrl,
            secret: config.webhookSecret,
            events: config.webhookEvents,
            queueLimit: config.webhookQueueLimit,
          },
          { logger, clock, onDrop: (_type, reason) => metrics.webhookDropped(reason) },
        )
      : undefined
  metrics.webhooks = webhooks
  const events: ChatEvents = webhooks
    ? {
        wants: (type) => webhooks.wants(type),
        emit: (type, data) => void webhooks.enqueue(type, data),
      }
    : noEvents
  const storeDeps = { clock, hasher, logger, metrics, sink, verifier, events }
  const store: ChatStore = config.redisUrl
    ? new (clusterStore(deps))(config, storeDeps)
    : new RoomStore(config, storeDeps)

  /** The caller's address for per-address limits: the socket's peer, or behind a trusted proxy the first X-Forwarded-For entry. */
  const clientAddress = (request: Request): string => {
    if (config.trustProxy) {
      const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim()
      if (forwarded) return forwarded
    }
    return server?.requestIP(request)?.address ?? 'unknown'
  }

  // Built on the first unmatched request, once every route is registered.
  let allowOn: ((path: string) => string[]) | undefined
  const app = new Elysia({
    // Bun's own cap, a backstop: a body declared bigger is refused by Bun with a bare 413
    // (no body) before any handler runs. MAX_BODY_BYTES itself is enforced below, so that
    // the 413 carries the usual error body; see BODY_BACKSTOP_BYTES. And not Bun's development
    // mode (Elysia's default unless NODE_ENV=production): the page is bundled once at
    // startup, with no hot-reload script and no build lines on stdout.
    serve: { maxRequestBodySize: BODY_BACKSTOP_BYTES, development: false },
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
    .onError({ as: 'global' }, ({ code, error, request }) => {
      // A ChatError thrown while parsing (a body over MAX_BODY_BYTES) arrives as PARSE's cause.
      const thrown = code === 'PARSE' ? ((error as Error).cause ?? error) : error
      // No route of this method: 405 with Allow when the path has routes of other methods.
      let allow: string[] = []
      if (code === 'NOT_FOUND') {
        allowOn ??= allowedMethods(app.routes)
        allow = allowOn(new URL(request.url).pathname)
      }
      let chatError: ChatError
      try {
        if (code === 'NOT_FOUND') checkHeaderSize(request)
        chatError =
          thrown instanceof ChatError
            ? thrown
            : code === 'VALIDATION' || code === 'PARSE'
              ? new ChatError(
                  'invalid_message',
                  code === 'PARSE' ? 'The body is not valid JSON' : validationMessage(error),
                )
              : code === 'NOT_FOUND'
                ? new ChatError(allow.length > 0 ? 'method_not_allowed' : 'not_found')
                : toChatError(error, logger)
      } catch (tooLarge) {
        chatError = tooLarge as ChatError
      }
      metrics.refused(chatError.code, 'http')
      const response = errorResponse(chatError)
      if (chatError.code === 'method_not_allowed') response.headers.set('allow', allow.join(', '))
      return response
    })
    // The OpenAPI document from the routes below (src/transport/openapi.ts), read on the
    // first request, and the Swagger UI page for it (src/transport/web.ts).
    .use(openApiPlugin((): RouteInfo[] => routesOf(app), DOCUMENT_INFO, config))
    .use(webPlugin())
    // Request lines and headers over MAX_HEADER_BYTES: 431 with the JSON body, before
    // validation. Registered after the page's routes and for the routes below only: a global
    // hook (or an app-wide onRequest) turns Bun's static routes off, the chat page's among them.
    .onTransform(({ request }) => checkHeaderSize(request))
    .use(asyncApiPlugin(ASYNCAPI_INFO, config))
    .use(httpPlugin(store, clientAddress, config.maxBodyBytes, config.authMode))
    .use(apiPlugin(store, config.apiKey, config.maxBodyBytes))
    .use(metricsPlugin(metrics, config.metricsToken))
    .use(wsPlugin(store, config.allowedOrigins, clientAddress, logger, metrics))
    .onStart((started) => {
      server = started.server ?? undefined
      const listening = server
      if (listening) metrics.subscribers = (topic) => listening.subscriberCount(topic)
    })
    .onStop(async () => {
      await store.close()
      // What is still queued gets a last chance, then is logged as dropped.
      await webhooks?.drain(Math.max(100, Math.floor(config.shutdownTimeoutMs / 4)))
      metrics.close()
    })

  return { app, store, logger, metrics }
}

export type ChatApp = ReturnType<typeof createApp>['app']
