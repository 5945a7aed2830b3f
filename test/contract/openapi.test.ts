/**
 * The OpenAPI document as a contract: the server started as `bun run start` starts it serves
 * /swagger/json, `@redocly/cli lint` (recommended rules) finds no error in it, and requests
 * replayed through it, good and bad ones for every operation, get a declared status, the
 * declared content type and headers, and a body the declared schema accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import packageJson from '../../package.json'
import { type ChildServer, startChild } from '../support/child.ts'
import { schemaErrors } from '../support/json-schema.ts'

type Json = Record<string, unknown>

const root = join(import.meta.dir, '../..')
const API_KEY = 'k'.repeat(32)
const METRICS_TOKEN = 'metrics-token'
let server: ChildServer
let doc: Json

beforeAll(async () => {
  // `bun run start`'s own words, so Bun's header limit is the one the server runs with.
  const [, ...args] = packageJson.scripts.start.split(' ')
  server = await startChild(
    [process.execPath, ...args.map((a) => (a.endsWith('.ts') ? join(root, a) : a))],
    {
      API_KEY,
      METRICS_TOKEN,
      DEFAULT_ROOMS: 'general',
      ROOM_CREATE_PER_MIN: '6',
      LOG_LEVEL: 'info',
    },
  )
  doc = (await (await fetch(`${server.httpUrl}/swagger/json`)).json()) as Json
}, 15_000)

afterAll(async () => {
  if (!server) return
  expect(await server.stop()).toBe(0)
  // Refusals are logged at warn; nothing at error.
  expect(server.lines.filter((l) => l.includes('"level":"error"'))).toEqual([])
})

describe('the OpenAPI document', () => {
  it('passes @redocly/cli lint with its recommended rules, with no error', async () => {
    const file = join(root, 'node_modules/.cache/openapi-under-lint.json')
    await Bun.write(file, JSON.stringify(doc))
    const lint = Bun.spawn(
      [
        process.execPath,
        join(root, 'node_modules/@redocly/cli/bin/cli.js'),
        'lint',
        file,
        '--format=json',
      ],
      {
        // No telemetry, no update check: nothing leaves the machine.
        env: { ...Bun.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        stdout: 'pipe',
        stderr: 'pipe',
      },
    )
    const [out, code] = await Promise.all([new Response(lint.stdout).text(), lint.exited])
    const report = JSON.parse(out.slice(out.indexOf('{'))) as {
      problems: { ruleId: string; severity: string; message: string }[]
    }
    const errors = report.problems.filter((p) => p.severity === 'error')
    expect(errors).toEqual([])
    expect(code).toBe(0)
    // The one warning left: no license (the project has not chosen one; see the report).
    expect(report.problems.map((p) => p.ruleId)).toEqual(['info-license'])
  }, 30_000)

  it('declares integers as integers, JSON request bodies only, and the error codes as an enum', () => {
    const text = JSON.stringify(doc)
    expect(text).not.toContain('"format":"integer"')
    expect(text).not.toContain('multipart/form-data')
    expect(text).not.toContain('"nullable"')
    const schemas = (doc.components as Json).schemas as Json
    const code = ((schemas.Error as Json).properties as Json).error as Json
    expect(((code.properties as Json).code as Json).enum).toContain('method_not_allowed')
    const roomsPost = ((doc.paths as Json)['/rooms'] as Json).post as Json
    expect(Object.keys(((roomsPost.requestBody as Json).content as Json) ?? {})).toEqual([
      'application/json',
    ])
    const createRoom = (schemas.CreateRoom as Json).properties as Json
    expect(createRoom.max_users).toMatchObject({ type: 'integer', minimum: 1, maximum: 10_000 })
    expect(createRoom.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 32 })
  })
})

interface Case {
  method: string
  path: string
  headers?: Record<string, string>
  body?: unknown
  /** Sent as is, with this content type, instead of JSON. */
  raw?: { type: string; text: string }
  status: number
}

const key = { authorization: `Bearer ${API_KEY}` }
const bigHeader = { 'x-padding': 'p'.repeat(17_000) }

/** The operation of the document that `path` (no query) and `method` name. */
function operationFor(method: string, path: string): { template: string; op: Json } {
  for (const [template, methods] of Object.entries(doc.paths as Json)) {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`)
    const op = (methods as Json)[method.toLowerCase()]
    if (pattern.test(path) && op) return { template, op: op as Json }
  }
  throw new Error(`no operation for ${method} ${path}`)
}

/** Sends `c` over a socket and checks the answer against the document; returns the body. */
async function replay(c: Case): Promise<unknown> {
  const headers: Record<string, string> = { ...c.headers }
  let body: string | undefined
  if (c.raw) {
    headers['content-type'] = c.raw.type
    body = c.raw.text
  } else if (c.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(c.body)
  }
  const res = await fetch(`${server.httpUrl}${c.path}`, { method: c.method, headers, body })
  const text = await res.text()
  const where = `${c.method} ${c.path.slice(0, 60)} → ${res.status} ${text.slice(0, 200)}`
  expect({ where, status: res.status }).toEqual({ where, status: c.status })
  const { template, op } = operationFor(c.method, c.path.split('?')[0] ?? '')
  const declared = ((op.responses as Json)[String(res.status)] ?? undefined) as Json | undefined
  expect({ where, declared: declared !== undefined }).toEqual({ where, declared: true })
  seen.add(`${c.method} ${template} ${res.status}`)
  for (const name of Object.keys((declared?.headers as Json) ?? {})) {
    expect({ where, header: name, present: res.headers.has(name) }).toEqual({
      where,
      header: name,
      present: true,
    })
  }
  const content = declared?.content as Record<string, { schema: Json }> | undefined
  if (!content) {
    expect({ where, body: text }).toEqual({ where, body: '' })
    return undefined
  }
  const type = res.headers.get('content-type') ?? ''
  const essence = (t: string) => t.split(';')[0]?.trim().toLowerCase()
  const media = Object.keys(content).find((m) => essence(m) === essence(type))
  expect({ where, type, media: media !== undefined }).toEqual({ where, type, media: true })
  const schema = content[media as string]?.schema as Json
  const value = essence(type) === 'application/json' ? JSON.parse(text) : text
  expect({ where, errors: schemaErrors(schema, value, doc) }).toEqual({ where, errors: [] })
  return value
}

const seen = new Set<string>()

describe('requests replayed through the document', () => {
  it('answers every operation, good requests and bad, as the document declares', async () => {
    // Public
    await replay({ method: 'GET', path: '/health', status: 200 })
    await replay({ method: 'GET', path: '/health', headers: bigHeader, status: 431 })
    await replay({ method: 'GET', path: '/auth', status: 200 })
    await replay({ method: 'GET', path: '/auth', headers: bigHeader, status: 431 })
    await replay({ method: 'GET', path: '/asyncapi.json', status: 200 })
    await replay({ method: 'GET', path: '/asyncapi.json', headers: bigHeader, status: 431 })
    await replay({ method: 'GET', path: '/rooms', status: 200 })
    await replay({ method: 'GET', path: '/rooms?limit=2&q=gen', status: 200 })
    await replay({ method: 'GET', path: '/rooms?limit=0', status: 400 })
    await replay({ method: 'GET', path: '/rooms?limit=many', status: 400 })
    await replay({ method: 'GET', path: `/rooms?q=${'q'.repeat(20_000)}`, status: 431 })
    const created = (await replay({
      method: 'POST',
      path: '/rooms',
      body: { name: 'Doc Room', max_users: 10 },
      status: 201,
    })) as { moderator_token: string }
    const secret = (await replay({
      method: 'POST',
      path: '/rooms',
      body: { name: 'Secret', is_private: true, password: 'pw-1' },
      status: 201,
    })) as { moderator_token: string }
    await replay({ method: 'POST', path: '/rooms', body: { name: 'Doc Room' }, status: 409 })
    await replay({ method: 'POST', path: '/rooms', body: { name: 'n'.repeat(33) }, status: 400 })
    await replay({
      method: 'POST',
      path: '/rooms',
      body: { name: 'Too big', max_users: 10_001 },
      status: 400,
    })
    await replay({ method: 'POST', path: '/rooms', body: { max_users: 'ten' }, status: 400 })
    await replay({
      method: 'POST',
      path: '/rooms',
      raw: { type: 'application/json', text: '{"name":' },
      status: 400,
    })
    await replay({
      method: 'POST',
      path: '/rooms',
      raw: { type: 'text/plain', text: 'name=Plain' },
      status: 400,
    })
    await replay({
      method: 'POST',
      path: '/rooms',
      body: { name: 'Huge', password: 'x'.repeat(70_000) },
      status: 413,
    })
    await replay({ method: 'GET', path: '/rooms/general', status: 200 })
    await replay({ method: 'GET', path: '/rooms/nowhere', status: 404 })
    await replay({ method: 'GET', path: '/rooms/general/messages?limit=5', status: 200 })
    await replay({ method: 'GET', path: '/rooms/general/messages?limit=101', status: 400 })
    await replay({ method: 'GET', path: '/rooms/nowhere/messages', status: 404 })
    await replay({ method: 'GET', path: '/rooms/secret/messages', status: 401 })
    await replay({
      method: 'GET',
      path: '/rooms/secret/messages',
      headers: { 'x-room-password': 'wrong' },
      status: 403,
    })
    await replay({
      method: 'GET',
      path: '/rooms/secret/messages',
      headers: { 'x-room-password': 'pw-1' },
      status: 200,
    })
    await replay({
      method: 'GET',
      path: '/rooms/secret/messages',
      headers: { authorization: `Bearer ${secret.moderator_token}` },
      status: 200,
    })
    const moderator = { authorization: `Bearer ${created.moderator_token}` }
    await replay({ method: 'GET', path: '/rooms/doc-room/bans', headers: moderator, status: 200 })
    await replay({ method: 'GET', path: '/rooms/doc-room/bans', status: 401 })
    await replay({
      method: 'GET',
      path: '/rooms/doc-room/bans',
      headers: { authorization: 'Bearer wrong' },
      status: 403,
    })
    await replay({ method: 'GET', path: '/rooms/nowhere/bans', headers: moderator, status: 404 })

    // The server API
    await replay({
      method: 'POST',
      path: '/api/rooms',
      headers: key,
      body: { name: 'Support' },
      status: 201,
    })
    await replay({ method: 'POST', path: '/api/rooms', body: { name: 'Nope' }, status: 401 })
    await replay({ method: 'POST', path: '/api/rooms', headers: key, body: {}, status: 400 })
    await replay({
      method: 'POST',
      path: '/api/rooms',
      headers: key,
      body: { name: 'Support' },
      status: 409,
    })
    await replay({
      method: 'POST',
      path: '/api/rooms/support/messages',
      headers: key,
      body: { content: 'Shipped', sender: { id: 'u-1', name: 'Alice' } },
      status: 201,
    })
    await replay({
      method: 'POST',
      path: '/api/rooms/support/messages',
      headers: key,
      body: { content: 42 },
      status: 400,
    })
    await replay({
      method: 'POST',
      path: '/api/rooms/nowhere/messages',
      headers: key,
      body: { content: 'Hello' },
      status: 404,
    })
    await replay({
      method: 'POST',
      path: '/api/rooms/support/messages',
      body: { content: 'Hello' },
      status: 401,
    })
    await replay({
      method: 'POST',
      path: '/api/rooms/support/bans',
      headers: key,
      body: { username: 'Mallory' },
      status: 201,
    })
    await replay({
      method: 'POST',
      path: '/api/rooms/support/bans',
      headers: key,
      body: { username: 7 },
      status: 400,
    })
    await replay({
      method: 'POST',
      path: '/api/rooms/nowhere/bans',
      headers: key,
      body: { username: 'Mallory' },
      status: 404,
    })
    await replay({
      method: 'DELETE',
      path: '/api/rooms/support/bans/Mallory',
      headers: key,
      status: 204,
    })
    await replay({ method: 'DELETE', path: '/api/rooms/support/bans/Mallory', status: 401 })
    await replay({
      method: 'DELETE',
      path: '/api/rooms/nowhere/bans/Mallory',
      headers: key,
      status: 404,
    })
    await replay({
      method: 'GET',
      path: '/api/rooms/support/members',
      headers: key,
      status: 200,
    })
    await replay({ method: 'GET', path: '/api/rooms/nowhere/members', headers: key, status: 404 })
    await replay({ method: 'GET', path: '/api/rooms/support/members', status: 401 })
    await replay({
      method: 'POST',
      path: '/api/users/u-1/disconnect',
      headers: key,
      body: { reason: 'Signed out', block_ms: 1000 },
      status: 204,
    })
    await replay({
      method: 'POST',
      path: '/api/users/u-1/disconnect',
      headers: key,
      body: { block_ms: 0 },
      status: 400,
    })
    await replay({ method: 'POST', path: '/api/users/u-1/disconnect', body: {}, status: 401 })
    await replay({
      method: 'POST',
      path: '/api/rooms',
      headers: key,
      body: { name: 'Gone' },
      status: 201,
    })
    await replay({ method: 'DELETE', path: '/api/rooms/gone', headers: key, status: 204 })
    await replay({ method: 'DELETE', path: '/api/rooms/gone', headers: key, status: 404 })
    await replay({ method: 'DELETE', path: '/api/rooms/support', status: 401 })

    // Metrics
    await replay({
      method: 'GET',
      path: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      status: 200,
    })
    await replay({ method: 'GET', path: '/metrics', status: 401 })
    await replay({
      method: 'GET',
      path: '/metrics',
      headers: { authorization: 'Bearer wrong' },
      status: 403,
    })

    // Rate limited: room creation per address (ROOM_CREATE_PER_MIN=6) answers 429 with
    // Retry-After, which the document declares.
    let status = 0
    for (let i = 0; i < 8 && status !== 429; i++) {
      const res = await fetch(`${server.httpUrl}/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Burst ${i}` }),
      })
      status = res.status
      await res.body?.cancel()
    }
    await replay({ method: 'POST', path: '/rooms', body: { name: 'One more' }, status: 429 })

    // Every operation was answered at least once well and once badly.
    for (const [template, methods] of Object.entries(doc.paths as Json)) {
      for (const method of Object.keys(methods as Json)) {
        const statuses = [...seen]
          .filter((s) => s.startsWith(`${method.toUpperCase()} ${template} `))
          .map((s) => Number(s.split(' ')[2]))
        const op = `${method.toUpperCase()} ${template}`
        expect({ op, good: statuses.some((s) => s < 300) }).toEqual({ op, good: true })
        expect({ op, bad: statuses.some((s) => s >= 400) }).toEqual({ op, bad: true })
      }
    }
  }, 20_000)
})
