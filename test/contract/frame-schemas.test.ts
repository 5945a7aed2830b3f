/**
 * The frame schemas as a contract: the hand-written `parseClientFrame` accepts exactly the
 * frames that the client frame schemas (the ones the AsyncAPI document is written from)
 * accept, over frames generated from those schemas, good and bad: fields dropped, of the
 * wrong type, at and past each limit, strings of astral characters, extra fields, `null`s,
 * other actions. Every action and every server frame has its schema.
 */
import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { CLIENT_FRAMES } from '../../src/protocol/client-frame-schemas.ts'
import { ACTIONS, FrameError, parseClientFrame } from '../../src/protocol/frames.ts'
import { SERVER_FRAMES } from '../../src/protocol/server-frame-schemas.ts'
import { clientFrameSchemas } from '../../src/transport/asyncapi.ts'
import { schemaErrors } from '../support/json-schema.ts'

type Json = Record<string, unknown>

const { frames, components } = clientFrameSchemas()
const root: Json = { components }

function resolve(schema: Json): Json {
  if (typeof schema.$ref !== 'string') return schema
  const name = schema.$ref.replace('#/components/schemas/', '')
  const target = (components.schemas as Json)[name]
  if (!target) throw new Error(`unresolved ${schema.$ref}`)
  return resolve(target as Json)
}

const actionOf = (schema: Json) => ((resolve(schema).properties as Json).action as Json).const

/**
 * Whether some client frame schema accepts `value`: what the document promises. Only the
 * schema of the frame's action can (the others want another `action`), so only it is asked.
 */
const schemasAccept = (value: unknown) =>
  Object.values(frames).some(
    (schema) =>
      (value as Json | null)?.action === actionOf(schema) &&
      schemaErrors(schema, value, root).length === 0,
  )

function parserAccepts(value: unknown): boolean {
  try {
    parseClientFrame(value)
    return true
  } catch (e) {
    if (e instanceof FrameError) return false
    throw e
  }
}

/** Every field name some frame takes, so extra fields also land on names the parser reads. */
const FIELDS = [
  ...new Set(
    Object.values(frames).flatMap((s) => Object.keys((resolve(s).properties as Json) ?? {})),
  ),
]
// One code unit, two (an astral emoji), a precomposed and a combining character.
const CHARS = ['a', '\u{1F600}', 'é', '\u0301', ' ']
// Short strings: those, a lone surrogate, JSON's escapes, a control character, any letter.
const SHORT_UNITS = fc.oneof(
  fc.constantFrom(...CHARS, '\ud800', '"', '\\', '\u0000'),
  fc.integer({ min: 0x20, max: 0x2fff }).map((c) => String.fromCodePoint(c)),
)
const ABSENT = Symbol('absent')

/** Strings around `max` characters, or any short one. */
function text(max: number | undefined): fc.Arbitrary<string> {
  const short = fc.string({ unit: SHORT_UNITS, maxLength: 12 })
  if (max === undefined) return fc.oneof(short, fc.constant('y'.repeat(20_000)))
  const lengths = fc.constantFrom(Math.max(0, max - 1), max, max + 1)
  return fc.oneof(
    { arbitrary: short, weight: 3 },
    fc.tuple(lengths, fc.constantFrom(...CHARS)).map(([n, c]) => c.repeat(n)),
    fc
      .tuple(lengths, fc.constantFrom(...CHARS), fc.constantFrom(...CHARS))
      .map(([n, a, b]) => (n === 0 ? '' : a.repeat(n - 1) + b)),
  )
}

/** Integers in and just out of [min, max], non-integers, and any number. */
function integer(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.integer({ min, max }), weight: 3 },
    fc.constantFrom(min - 1, min, max, max + 1, min + 0.5, 2 ** 53, -0),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  )
}

/** An object with exactly these own properties (a `__proto__` key stays a plain key). */
function own(entries: [string, unknown][]): Json {
  const out: Json = {}
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** Values near what `schema` accepts: mostly inside it, often just outside. */
function near(schema: Json): fc.Arbitrary<unknown> {
  const s = resolve(schema)
  if (Array.isArray(s.anyOf)) return fc.oneof(...s.anyOf.map((a) => near(a as Json)))
  if (s.const !== undefined) return fc.constant(s.const)
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum)
  switch (s.type) {
    case 'string':
      return text(s.maxLength as number | undefined)
    case 'integer':
      return integer(s.minimum as number, s.maximum as number)
    case 'number':
      return fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'object':
      return s.properties ? frameNear(s) : mapNear(s)
    default:
      throw new Error(`no generator for ${JSON.stringify(s).slice(0, 80)}`)
  }
}

/** A map (`additionalProperties` a schema): a few entries, or around `maxProperties`. */
function mapNear(s: Json): fc.Arbitrary<Json> {
  const value = fc.oneof(
    { arbitrary: near(s.additionalProperties as Json), weight: 4 },
    fc.jsonValue(),
  )
  const max = s.maxProperties as number | undefined
  const few = fc
    .array(fc.tuple(fc.oneof(fc.string(), fc.constant('__proto__')), value), { maxLength: 4 })
    .map(own)
  if (max === undefined) return few
  const many = fc
    .tuple(fc.constantFrom(max, max + 1), fc.oneof(fc.constant('000000000001'), fc.constant(1)))
    .map(([n, id]) => own(Array.from({ length: n }, (_, i) => [`room-${i}`, id])))
  return fc.oneof({ arbitrary: few, weight: 4 }, many)
}

/** A frame near `s`: each field right, wrong or absent, plus a few extra fields. */
function frameNear(s: Json): fc.Arbitrary<Json> {
  const required = new Set((s.required as string[] | undefined) ?? [])
  const fields = Object.entries(s.properties as Json).map(([name, sub]) =>
    fc
      .oneof(
        { arbitrary: near(sub as Json), weight: 12 },
        { arbitrary: fc.jsonValue(), weight: 1 },
        name === 'action'
          ? { arbitrary: fc.constantFrom(...ACTIONS, 'edit', 'JOIN', ''), weight: 1 }
          : { arbitrary: fc.constant(ABSENT), weight: required.has(name) ? 1 : 6 },
      )
      .map((value) => [name, value] as const),
  )
  const extras = fc.array(
    fc.tuple(fc.oneof(fc.constantFrom(...FIELDS, '__proto__'), fc.string()), fc.jsonValue()),
    { maxLength: 2 },
  )
  return fc.tuple(extras, fc.tuple(...fields)).map(([extra, own_]) => {
    const entries = new Map<string, unknown>(extra)
    for (const [name, value] of own_) {
      if (value === ABSENT) entries.delete(name)
      else entries.set(name, value)
    }
    return own([...entries])
  })
}

/** As a frame arrives: JSON text, parsed. */
const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

function agree(value: unknown): void {
  const frame = wire(value)
  const parser = parserAccepts(frame)
  const schemas = schemasAccept(frame)
  if (parser !== schemas) {
    const shown = JSON.stringify(frame, (_, v) =>
      typeof v === 'string' && v.length > 80 ? `${v.slice(0, 20)}…(${[...v].length} chars)` : v,
    )
    throw new Error(
      `parser ${parser ? 'accepts' : 'refuses'}, schemas ${schemas ? 'accept' : 'refuse'}: ${shown}`,
    )
  }
}

describe('the client frame schemas', () => {
  it('have one schema for every action the parser takes, and no other', () => {
    const missing = ACTIONS.filter((a) => !Object.hasOwn(CLIENT_FRAMES, a))
    const extra = Object.keys(CLIENT_FRAMES).filter(
      (a) => !(ACTIONS as readonly string[]).includes(a),
    )
    expect({ missing, extra }).toEqual({ missing: [], extra: [] })
    for (const [action, schema] of Object.entries(frames)) {
      expect({ action, is: (resolve(schema).properties as Json).action }).toEqual({
        action,
        is: { const: action, type: 'string' },
      })
    }
  })

  for (const action of ACTIONS) {
    it(`accept exactly what parseClientFrame accepts: ${action}`, () => {
      const schema = frames[action]
      expect(schema).toBeDefined()
      const arbitrary = frameNear(resolve(schema))
      // The generated frames are both good and bad, or the agreement would prove little.
      const sample = fc.sample(arbitrary, { numRuns: 400, seed: 17 }).map(wire)
      const good = sample.filter(parserAccepts).length
      expect({ action, good: good >= 40, bad: sample.length - good >= 40 }).toEqual({
        action,
        good: true,
        bad: true,
      })
      fc.assert(fc.property(arbitrary, agree), { numRuns: 400 })
    }, 30_000)
  }

  it('accept exactly what parseClientFrame accepts, for any JSON at all', () => {
    fc.assert(fc.property(fc.jsonValue(), agree), { numRuns: 1000 })
    for (const value of [null, [], 'ping', 42, {}, { action: 'nope' }, { ref: 'x' }]) agree(value)
  }, 30_000)
})

describe('the server frame schemas', () => {
  // That every ServerFrame type has a schema, and the same fields, is checked by the
  // compiler (src/protocol/server-frame-schemas.ts, `Agreement`): `bun run typecheck`.
  it('name their own type', () => {
    for (const [type, schema] of Object.entries(SERVER_FRAMES)) {
      const field = (schema.properties as Json).type as Json
      expect({ type, is: field.const }).toEqual({ type, is: type })
    }
  })
})
