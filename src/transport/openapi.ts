/**
 * The OpenAPI 3.1 document at `/swagger/json`, made from the routes themselves: each route's
 * `params`, `query`, `body` and `response` TypeBox schemas (the ones Elysia validates with)
 * and its `detail`. What the app does around every route (the error body, 400 for bad input,
 * 413/431 for sizes, 500, 503 in a cluster, `Retry-After` on 429) is added here once, as the
 * app's one `onError` answers it. Object schemas with a `title` become shared components.
 */
import { type ElysiaSwaggerConfig, swagger } from '@elysiajs/swagger'
import type { Config } from '../config.ts'
import { MAX_NAME_CHARS } from '../domain/names.ts'
import { ERRORS, type ErrorCode } from '../protocol/errors.ts'

type Json = Record<string, unknown>

/** What the generator reads of an Elysia route (`app.routes`). */
export interface RouteInfo {
  method: string
  path: string
  hooks: {
    params?: unknown
    query?: unknown
    body?: unknown
    response?: unknown
    detail?: {
      hide?: boolean
      summary?: string
      description?: string
      tags?: string[]
      security?: Record<string, string[]>[]
      deprecated?: boolean
    }
  }
}

/** The security schemes routes name in `detail.security`, so Swagger UI's Authorize sends them. */
export const SECURITY_SCHEMES = {
  moderatorToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'Authorization: Bearer <moderator_token>, the token POST /rooms answered once',
  },
  roomPassword: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Room-Password',
    description: "A private room's password",
  },
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description: "Authorization: Bearer <API_KEY>, for the app's backend (docs/sign-in.md)",
  },
  metricsToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'Authorization: Bearer <METRICS_TOKEN>, when the server has one',
  },
} as const

export type SecurityName = keyof typeof SECURITY_SCHEMES

/** `detail.security` for a route: any one of `names`, or none at all when `optional`. */
export function securedBy(names: SecurityName[], optional = false): Record<string, string[]>[] {
  const schemes = names.map((name) => ({ [name]: [] as string[] }))
  return optional ? [{}, ...schemes] : schemes
}

const REASONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '204': 'Done; no content',
  '400': 'Bad input: a malformed body, a wrong field or a broken limit (`invalid_message`)',
  '401': 'Credentials missing (`not_authorized`)',
  '403': 'Credentials wrong, or not allowed (`not_authorized`)',
  '404': 'No such room (`room_not_found`)',
  '409': 'A conflict with the room as it is',
  '413': 'The body is over MAX_BODY_BYTES (`payload_too_large`)',
  '429': 'Rate limited (`rate_limited`); retry after `Retry-After` seconds',
  '431': 'The request line and headers are over 16 KiB (`payload_too_large`)',
  '500': 'A server fault (`internal_error`); details are logged, never sent',
  '503': 'Shutting down, out of rooms, or (in a cluster) Redis out of reach; retry later',
}

/** Doc-only limits that the rules check (src/domain, src/chat) with the config's values. */
function limits(config: Config): Record<string, Json> {
  const name = { minLength: 1, maxLength: MAX_NAME_CHARS }
  const maxUsers = { minimum: 1, maximum: config.maxUsersLimit }
  return {
    'CreateRoom.name': name,
    'CreateRoom.max_users': maxUsers,
    'ApiCreateRoom.name': name,
    'ApiCreateRoom.max_users': maxUsers,
    'ApiPostMessage.content': { minLength: 1, maxLength: config.maxContentChars },
  }
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Elysia's coercion branch of `t.Integer`/`t.Numeric`: a string that holds a number. */
const isCoercion = (node: unknown) =>
  isObject(node) &&
  node.type === 'string' &&
  (node.format === 'integer' || node.format === 'numeric')

class SchemaWriter {
  readonly components: Record<string, Json> = {}
  /** The `limits` keys applied so far; each must be, or its schema's title has drifted. */
  readonly applied = new Set<string>()
  constructor(readonly limitsOf: Record<string, Json>) {}

  /** A TypeBox schema as plain JSON Schema 2020-12 (OpenAPI 3.1's dialect). */
  write(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((n) => this.write(n))
    if (!isObject(node)) return node
    const { anyOf } = node
    // t.Integer accepts "12" as well as 12 (for query strings); the document says integer.
    if (Array.isArray(anyOf) && anyOf.length === 2 && isCoercion(anyOf[0])) {
      const { anyOf: _, default: __, ...outer } = node
      return this.write({ ...outer, ...(anyOf[1] as Json) })
    }
    // A union of string literals: an enum.
    if (Array.isArray(anyOf) && anyOf.every((a) => isObject(a) && typeof a.const === 'string')) {
      const { anyOf: _, ...outer } = node
      return this.write({ ...outer, type: 'string', enum: anyOf.map((a) => (a as Json).const) })
    }
    const out: Json = {}
    for (const [key, value] of Object.entries(node)) {
      // OpenAPI 3.0's `nullable`; 3.1 says it with `anyOf: [..., {type: "null"}]`.
      if (key === 'nullable') continue
      out[key] =
        key === 'properties' && isObject(value)
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.write(v)]))
          : this.write(value)
    }
    if (typeof out.title === 'string' && out.type === 'object') return this.component(out)
    return out
  }

  private component(schema: Json): Json {
    const name = schema.title as string
    const properties = schema.properties as Record<string, Json> | undefined
    for (const [property, extra] of Object.entries(this.limitsOf)) {
      const [owner, field] = property.split('.')
      if (owner === name && field && properties?.[field]) {
        Object.assign(properties[field], extra)
        this.applied.add(property)
      }
    }
    this.components[name] = schema
    return { $ref: `#/components/schemas/${name}` }
  }
}

/** `/rooms/:id` → `/rooms/{id}`. */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}')

/** `GET /rooms/:id/messages` → `getRoomsByIdMessages`. */
function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .flatMap((part) => part.split(/[-_]/))
  return method.toLowerCase() + words.map((w) => (w[0] ?? '').toUpperCase() + w.slice(1)).join('')
}

function parameters(where: 'path' | 'query', schema: unknown, writer: SchemaWriter): Json[] {
  if (!isObject(schema) || !isObject(schema.properties)) return []
  const required = new Set((schema.required as string[] | undefined) ?? [])
  return Object.entries(schema.properties).map(([name, property]) => {
    const written = writer.write(property) as Json
    const { description, example, deprecated, ...rest } = written
    const parameter: Json = {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      schema: rest,
    }
    if (description !== undefined) parameter.description = description
    if (example !== undefined) parameter.example = example
    if (deprecated !== undefined) parameter.deprecated = deprecated
    return parameter
  })
}

const error = (status: string): Json => ({
  description: REASONS[status] ?? 'An error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  ...(status === '429'
    ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } }
    : {}),
})

/** The Error component: `{"error":{"code","message"}}`, `code` one of the catalog's. */
function errorComponent(): Json {
  return {
    title: 'Error',
    type: 'object',
    description: 'Every refusal, over REST and (as an `error` frame) over WebSocket',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: {
          code: {
            type: 'string',
            enum: Object.keys(ERRORS) as ErrorCode[],
            description: 'The protocol error code (docs/protocol.md#error-codes); branch on it',
            example: 'room_not_found',
          },
          message: {
            type: 'string',
            description: 'For people; may change',
            example: 'Room not found',
          },
        },
      },
    },
  }
}

function operation(route: RouteInfo, writer: SchemaWriter): Json {
  const { hooks } = route
  const detail = hooks.detail ?? {}
  const op: Json = {
    operationId: operationId(route.method, route.path),
    summary: detail.summary ?? `${route.method} ${route.path}`,
  }
  if (detail.description) op.description = detail.description
  if (detail.tags) op.tags = detail.tags
  op.security = detail.security ?? []
  const params = [
    ...parameters('path', hooks.params, writer),
    ...parameters('query', hooks.query, writer),
  ]
  if (params.length > 0) op.parameters = params
  if (hooks.body !== undefined) {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: writer.write(hooks.body) } },
    }
  }
  const responses: Json = {}
  const declared = isObject(hooks.response) ? hooks.response : {}
  for (const [status, schema] of Object.entries(declared)) {
    if (isObject(schema) && schema.title === 'Error') {
      responses[status] = error(status)
    } else if (status === '204') {
      responses[status] = { description: REASONS[status] }
    } else if (isObject(schema) && schema.type === 'string' && route.path === '/metrics') {
      const { example, ...rest } = schema
      responses[status] = {
        description: REASONS[status] ?? 'OK',
        content: { 'text/plain; version=0.0.4': { schema: writer.write(rest), example } },
      }
    } else {
      responses[status] = {
        description: REASONS[status] ?? 'OK',
        content: { 'application/json': { schema: writer.write(schema) } },
      }
    }
  }
  // What the app answers around every route (app.ts's onError and the header-size hook).
  const generic = ['431', '500']
  if (params.length > 0 || hooks.body !== undefined) generic.push('400')
  if (hooks.body !== undefined) generic.push('413')
  if (route.path !== '/metrics') generic.push('503')
  for (const status of generic) responses[status] ??= error(status)
  op.responses = Object.fromEntries(
    Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)),
  )
  if (detail.deprecated) op.deprecated = true
  return op
}

export interface DocumentInfo {
  title: string
  version: string
  description: string
  tags: { name: string; description: string }[]
  license?: { name: string; identifier?: string }
}

/** The OpenAPI 3.1 document of `routes` (those with `detail.hide` and the WebSocket route left out). */
export function openApiDocument(routes: readonly RouteInfo[], info: DocumentInfo, config: Config) {
  const writer = new SchemaWriter(limits(config))
  writer.components.Error = errorComponent()
  const paths: Record<string, Json> = {}
  for (const route of routes) {
    if (route.hooks.detail?.hide || route.method === 'WS') continue
    const path = openApiPath(route.path)
    paths[path] ??= {}
    ;(paths[path] as Json)[route.method.toLowerCase()] = operation(route, writer)
  }
  // Without API_KEY the server API's routes (and their limits) are absent.
  const expected = Object.keys(writer.limitsOf).filter(
    (k) => config.apiKey !== undefined || !k.startsWith('Api'),
  )
  const missed = expected.filter((k) => !writer.applied.has(k))
  if (missed.length > 0)
    throw new Error(`OpenAPI limits name no schema field: ${missed.join(', ')}`)
  const { tags, ...rest } = info
  return {
    openapi: '3.1.0',
    info: rest,
    servers: [{ url: '/', description: 'This server' }],
    tags,
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(writer.components).sort(([a], [b]) => a.localeCompare(b)),
      ),
      headers: {
        RetryAfter: {
          description: 'Seconds to wait before retrying',
          schema: { type: 'integer', minimum: 1 },
        },
      },
      securitySchemes: SECURITY_SCHEMES,
    },
  }
}

/**
 * `GET /swagger/json`, served by `@elysiajs/swagger` with this document: `routes` is read on
 * the first request, when every route is registered, and the document made once. The
 * plugin's own reading of the routes (3.0 with `anyOf` integers and three body types, which
 * no validator accepts) is left out (`exclude`); its `documentation`, read on each request,
 * is this document, so what it serves is exactly `openApiDocument`'s. Its Swagger UI page
 * (scripts from a CDN) is replaced by src/transport/web.ts's local one, registered after.
 */
export function openApiPlugin(
  routes: () => readonly RouteInfo[],
  info: DocumentInfo,
  config: Config,
) {
  let document: ReturnType<typeof openApiDocument> | undefined
  const made = () => {
    document ??= openApiDocument(routes(), info, config)
    return document
  }
  const documentation = {
    get openapi() {
      return made().openapi
    },
    // Read when the plugin is made (its page's title), before the routes are there.
    info: { title: info.title, version: info.version, description: info.description },
    get servers() {
      return made().servers
    },
    get tags() {
      return made().tags
    },
    get paths() {
      return made().paths
    },
    get components() {
      return made().components
    },
  }
  return swagger({
    path: '/swagger',
    specPath: '/swagger/json',
    exclude: [/./],
    // The plugin types `documentation` as 3.0; this one is 3.1.
    documentation: documentation as unknown as ElysiaSwaggerConfig['documentation'],
  })
}
