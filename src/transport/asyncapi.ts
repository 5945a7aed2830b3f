/**
 * The AsyncAPI 3.0 document of the WebSocket at `/ws`, served at `GET /asyncapi.json`: made
 * from the frame schemas themselves (src/protocol/client-frame-schemas.ts, the limits
 * `parseClientFrame` enforces, and server-frame-schemas.ts, one per `ServerFrame` type).
 * It describes the server: each client frame is an operation it `receive`s (with the frames
 * that answer it as the reply, matched by `ref`), each server frame one it `send`s.
 * Schemas with a `title` become shared components. AsyncAPI 3.0 rather than 3.1: it is the
 * version code generators read today, and the two differ in nothing used here.
 */
import { Elysia, t } from 'elysia'
import type { Config } from '../config.ts'
import { MAX_NAME_CHARS } from '../domain/names.ts'
import { CLIENT_FRAMES } from '../protocol/client-frame-schemas.ts'
import type { Action } from '../protocol/frames.ts'
import { SERVER_FRAMES, type ServerFrameType } from '../protocol/server-frame-schemas.ts'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Doc-only limits that the rules check (src/domain, src/chat) with the config's values, past
 * the frame parser: a frame that breaks one is refused as `invalid_message` all the same.
 * They stay out of the frame schemas, which say exactly what the parser takes.
 */
function limits(config: Config): Record<string, Json> {
  return {
    'ClientCreate.name': { minLength: 1, maxLength: MAX_NAME_CHARS },
    'ClientCreate.max_users': { maximum: config.maxUsersLimit },
    'ClientCreate.members': { enum: ['anyone', 'signed_in'] },
    'ClientMessage.content': { minLength: 1, maxLength: config.maxContentChars },
  }
}

/** Elysia's coercion branch of `t.Integer`: a string that holds a number. */
const isCoercion = (node: unknown) =>
  isObject(node) && node.type === 'string' && node.format === 'integer'

/** `user_joined` → `UserJoined`. */
const pascal = (name: string) =>
  name
    .split('_')
    .map((w) => (w[0] ?? '').toUpperCase() + w.slice(1))
    .join('')

/** TypeBox schemas as plain JSON Schema (draft 07, AsyncAPI's default schema format). */
class SchemaWriter {
  readonly components: Record<string, Json> = {}
  /** The `limits` keys applied so far; each must be, or its schema's title has drifted. */
  readonly applied = new Set<string>()
  constructor(readonly limitsOf: Record<string, Json>) {}

  write(node: unknown, withLimits: boolean): unknown {
    if (Array.isArray(node)) return node.map((n) => this.write(n, withLimits))
    if (!isObject(node)) return node
    const { anyOf } = node
    // Elysia's t.Integer also takes "12" (for query strings); a frame's integer is a number.
    if (Array.isArray(anyOf) && anyOf.length === 2 && isCoercion(anyOf[0])) {
      const { anyOf: _, default: __, ...outer } = node
      return this.write({ ...outer, ...(anyOf[1] as Json) }, withLimits)
    }
    // A union of string literals: an enum.
    if (Array.isArray(anyOf) && anyOf.every((a) => isObject(a) && typeof a.const === 'string')) {
      const { anyOf: _, ...outer } = node
      const values = anyOf.map((a) => (a as Json).const)
      return this.write({ ...outer, type: 'string', enum: values }, withLimits)
    }
    const out: Json = {}
    for (const [key, value] of Object.entries(node)) {
      out[key] =
        key === 'properties' && isObject(value)
          ? Object.fromEntries(
              Object.entries(value).map(([k, v]) => [k, this.write(v, withLimits)]),
            )
          : this.write(value, withLimits)
    }
    if (typeof out.title !== 'string') return out
    if (withLimits) this.limit(out)
    this.components[out.title] = out
    return { $ref: `#/components/schemas/${out.title}` }
  }

  private limit(schema: Json) {
    const properties = schema.properties as Record<string, Json> | undefined
    for (const [property, extra] of Object.entries(this.limitsOf)) {
      const [owner, field] = property.split('.')
      if (owner === schema.title && field && properties?.[field]) {
        Object.assign(properties[field], extra)
        this.applied.add(property)
      }
    }
  }
}

/**
 * The JSON Schema of each client frame exactly as `parseClientFrame` takes it (no doc-only
 * limits), with its shared parts under `components` (`$ref`s are `#/components/schemas/…`).
 */
export function clientFrameSchemas(): { frames: Record<Action, Json>; components: Json } {
  const writer = new SchemaWriter({})
  const frames = Object.fromEntries(
    Object.entries(CLIENT_FRAMES).map(([action, spec]) => [
      action,
      writer.write(spec.schema, false),
    ]),
  ) as Record<Action, Json>
  return { frames, components: { schemas: writer.components } }
}

export interface AsyncApiInfo {
  title: string
  version: string
  description: string
}

const CHANNEL = { $ref: '#/channels/chat' }
const channelMessage = (name: string) => ({ $ref: `#/channels/chat/messages/${name}` })
const titleOf = (schema: unknown) => (schema as { title: string }).title

/** The AsyncAPI 3.0 document of `/ws`. */
export function asyncApiDocument(info: AsyncApiInfo, config: Config) {
  const writer = new SchemaWriter(limits(config))
  const messages: Record<string, Json> = {}
  const operations: Record<string, Json> = {}
  const serverTitle = (type: ServerFrameType) => titleOf(SERVER_FRAMES[type])

  for (const [action, spec] of Object.entries(CLIENT_FRAMES)) {
    const name = titleOf(spec.schema)
    messages[name] = {
      name: action,
      title: `${action} (client → server)`,
      summary: spec.summary,
      contentType: 'application/json',
      payload: writer.write(spec.schema, true),
      correlationId: { $ref: '#/components/correlationIds/ref' },
    }
    operations[`receive${pascal(action)}`] = {
      action: 'receive',
      channel: CHANNEL,
      summary: spec.summary,
      messages: [channelMessage(name)],
      reply: {
        channel: CHANNEL,
        messages: spec.replies.map((type) => channelMessage(serverTitle(type))),
      },
    }
  }
  for (const [type, schema] of Object.entries(SERVER_FRAMES) as [ServerFrameType, unknown][]) {
    const name = titleOf(schema)
    const written = writer.write(schema, true)
    messages[name] = {
      name: type,
      title: `${type} (server → client)`,
      summary: (schema as { description: string }).description,
      contentType: 'application/json',
      payload: written,
      ...('ref' in ((schema as Json).properties as Json)
        ? { correlationId: { $ref: '#/components/correlationIds/ref' } }
        : {}),
    }
    operations[`send${pascal(type)}`] = {
      action: 'send',
      channel: CHANNEL,
      summary: (schema as { description: string }).description,
      messages: [channelMessage(name)],
    }
  }
  const missed = Object.keys(writer.limitsOf).filter((k) => !writer.applied.has(k))
  if (missed.length > 0)
    throw new Error(`AsyncAPI limits name no schema field: ${missed.join(', ')}`)
  // In the schemas' order: the client frames as CLIENT_FRAMES lists them, then the server's.
  const names = Object.keys(messages)
  const host = {
    host: {
      default: `localhost:${config.port || 3000}`,
      description: 'The server (or the proxy in front of it) and its port',
    },
  }
  return {
    asyncapi: '3.0.0' as const,
    info,
    defaultContentType: 'application/json',
    servers: {
      plain: { host: '{host}', protocol: 'ws', description: 'Without TLS', variables: host },
      tls: {
        host: '{host}',
        protocol: 'wss',
        description: 'Behind a TLS proxy (docs/deployment.md)',
        variables: host,
      },
    },
    channels: {
      chat: {
        address: '/ws',
        title: 'The chat socket',
        description:
          'One JSON object per text frame, both ways; a binary frame, JSON that is not an object, an unknown action or a wrong field is answered with an `error` frame (`invalid_message`) and the connection stays open. docs/protocol.md has the rules.',
        messages: Object.fromEntries(names.map((n) => [n, { $ref: `#/components/messages/${n}` }])),
      },
    },
    operations,
    components: {
      schemas: Object.fromEntries(
        Object.entries(writer.components).sort(([a], [b]) => a.localeCompare(b)),
      ),
      messages: Object.fromEntries(names.map((n) => [n, messages[n]])),
      correlationIds: {
        ref: {
          description: 'The client frame’s `ref`, echoed on its direct reply',
          location: '$message.payload#/ref',
        },
      },
    },
  }
}

/** `GET /asyncapi.json`: the document, made once on first request. */
export function asyncApiPlugin(info: AsyncApiInfo, config: Config) {
  let document: ReturnType<typeof asyncApiDocument> | undefined
  return new Elysia({ name: 'asyncapi' }).get(
    '/asyncapi.json',
    () => {
      document ??= asyncApiDocument(info, config)
      return document
    },
    {
      response: {
        200: t.Object(
          { asyncapi: t.Literal('3.0.0', { example: '3.0.0' }) },
          {
            title: 'AsyncApiDocument',
            description:
              'An AsyncAPI 3.0 document (https://www.asyncapi.com/docs/reference/specification/v3.0.0)',
            additionalProperties: true,
          },
        ),
      },
      detail: {
        summary: 'The AsyncAPI 3.0 document of the WebSocket at /ws',
        description:
          'Every client frame (action) and server frame (type) with its JSON Schema, made from the same schemas the frame parser is tested against (docs/protocol.md#the-asyncapi-document).',
        tags: ['server'],
      },
    },
  )
}
