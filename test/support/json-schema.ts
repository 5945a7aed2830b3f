/**
 * A JSON Schema checker for the keywords our OpenAPI (2020-12) and AsyncAPI (draft 07)
 * documents use, with `$ref`s into the document. TypeBox's checks its own schemas by their
 * symbols, not by `type`, and counts `maxLength` in UTF-16 units where JSON Schema counts
 * characters (code points); this subset is small, and an unknown keyword throws, so a schema
 * the checker does not understand cannot pass unseen.
 */

type Json = Record<string, unknown>

const ANNOTATIONS = new Set([
  'title',
  'description',
  'example',
  'examples',
  'default',
  'deprecated',
])

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

/** The ways `value` breaks `schema`, each with its JSON pointer; empty when it conforms. */
export function schemaErrors(schema: unknown, value: unknown, root: Json, at = ''): string[] {
  if (!isObject(schema)) throw new Error(`not a schema at ${at}: ${JSON.stringify(schema)}`)
  const errors: string[] = []
  const fail = (why: string) => errors.push(`${at || '/'}: ${why}`)
  for (const [key, rule] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue
    switch (key) {
      case '$ref': {
        const path = String(rule).replace(/^#\//, '').split('/')
        const target = path.reduce<unknown>((node, part) => (node as Json)?.[part], root)
        if (target === undefined) throw new Error(`unresolved $ref ${rule}`)
        errors.push(...schemaErrors(target, value, root, at))
        break
      }
      case 'type': {
        const actual = typeOf(value)
        const ok = rule === actual || (rule === 'number' && actual === 'integer')
        if (!ok) fail(`expected ${rule}, got ${actual} ${JSON.stringify(value)?.slice(0, 80)}`)
        break
      }
      case 'enum':
        if (!(rule as unknown[]).includes(value)) fail(`${JSON.stringify(value)} not in the enum`)
        break
      case 'const':
        if (value !== rule) fail(`expected ${JSON.stringify(rule)}`)
        break
      case 'anyOf':
        if (!(rule as unknown[]).some((s) => schemaErrors(s, value, root, at).length === 0))
          fail(`matches none of anyOf: ${JSON.stringify(value)?.slice(0, 80)}`)
        break
      case 'minimum':
        if (typeof value === 'number' && value < (rule as number)) fail(`under ${rule}`)
        break
      case 'maximum':
        if (typeof value === 'number' && value > (rule as number)) fail(`over ${rule}`)
        break
      case 'minLength':
        if (typeof value === 'string' && [...value].length < (rule as number)) fail('too short')
        break
      case 'maxLength':
        if (typeof value === 'string' && [...value].length > (rule as number)) fail('too long')
        break
      case 'required':
        if (isObject(value))
          for (const name of rule as string[]) if (!Object.hasOwn(value, name)) fail(`no ${name}`)
        break
      case 'properties':
        if (isObject(value))
          for (const [name, sub] of Object.entries(rule as Json))
            if (Object.hasOwn(value, name))
              errors.push(...schemaErrors(sub, value[name], root, `${at}/${name}`))
        break
      case 'additionalProperties':
        if (rule !== true && isObject(value)) {
          const known = Object.keys((schema.properties as Json | undefined) ?? {})
          for (const name of Object.keys(value)) {
            if (known.includes(name)) continue
            if (rule === false) fail(`extra ${name}`)
            else errors.push(...schemaErrors(rule, value[name], root, `${at}/${name}`))
          }
        }
        break
      case 'maxProperties':
        if (isObject(value) && Object.keys(value).length > (rule as number))
          fail(`more than ${rule} properties`)
        break
      case 'items':
        if (Array.isArray(value))
          value.forEach((item, i) => {
            errors.push(...schemaErrors(rule, item, root, `${at}/${i}`))
          })
        break
      default:
        throw new Error(`the checker does not know the keyword "${key}" (at ${at || '/'})`)
    }
  }
  return errors
}
