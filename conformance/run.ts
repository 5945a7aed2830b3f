/**
 * The protocol conformance suite: checks a server against docs/protocol.md over WebSocket
 * and HTTP only, so it can test any compatible server.
 *
 *   bun run conformance --url ws://host:port/ws [--http http://host:port]
 *                       [--url ws://node2/ws --http http://node2 …] [--jwt-secret SECRET]
 *                       [--max-payload-bytes N] [--max-content-chars N] [--rate-limit-burst N]
 *                       [--only TEXT] [--timeout-ms N] [--wait-ms N]
 *
 * Prints one line per check (PASS, FAIL with why, SKIP with the reason) and exits 1 when any
 * check failed, 2 on bad arguments. docs/conformance.md says what is checked.
 */
import { AREAS } from './checks/index.ts'
import { Skip } from './lib/assert.ts'
import { Context, type Options } from './lib/context.ts'

const USAGE =
  'usage: bun run conformance --url ws://host:port/ws [--http http://host:port] [--url … --http …] [--jwt-secret S] [--max-payload-bytes N] [--max-content-chars N] [--rate-limit-burst N] [--only TEXT] [--timeout-ms N] [--wait-ms N]'

function fail(message: string): never {
  console.error(`conformance: ${message}\n${USAGE}`)
  process.exit(2)
}

interface Args extends Options {
  only?: string
  timeoutMs: number
}

function parse(argv: string[]): Args {
  const urls: string[] = []
  const https: string[] = []
  const args: Partial<Args> = {}
  const positive = (flag: string, v: string) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) fail(`${flag} must be a positive whole number, got "${v}"`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined) fail(`${flag} needs a value`)
      return v
    }
    switch (flag) {
      case '--url':
        urls.push(value())
        break
      case '--http':
        https.push(value())
        break
      case '--jwt-secret':
        args.jwtSecret = value()
        break
      case '--max-payload-bytes':
        args.maxPayloadBytes = positive(flag, value())
        break
      case '--max-content-chars':
        args.maxContentChars = positive(flag, value())
        break
      case '--rate-limit-burst':
        args.rateLimitBurst = positive(flag, value())
        break
      case '--only':
        args.only = value()
        break
      case '--timeout-ms':
        args.timeoutMs = positive(flag, value())
        break
      case '--wait-ms':
        args.waitMs = positive(flag, value())
        break
      case '--help':
      case '-h':
        console.log(USAGE)
        process.exit(0)
        break
      default:
        fail(`unknown argument "${arg}"`)
    }
  }
  if (urls.length === 0) fail('give at least one --url')
  for (const u of urls) if (!/^wss?:\/\//.test(u)) fail(`--url must be ws:// or wss://, got "${u}"`)
  if (https.length > urls.length) fail('more --http than --url')
  // Without --http, a node's base URL is its WebSocket URL's origin.
  for (let i = https.length; i < urls.length; i++) {
    const u = new URL(urls[i] as string)
    https.push(`${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`)
  }
  return { urls, https, waitMs: 5000, timeoutMs: 20_000, ...args }
}

async function bounded(run: () => Promise<void>, ms: number): Promise<void> {
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the check did not finish within ${ms} ms`)), ms)
  })
  try {
    await Promise.race([run(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

const args = parse(Bun.argv.slice(2))
const ctx = new Context(args)
const color = process.stdout.isTTY
const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
const counts = { pass: 0, fail: 0, skip: 0 }
const started = Date.now()
console.log(
  `conformance: ${args.urls.join(', ')} (${args.urls.length} node${args.urls.length > 1 ? 's' : ''}), run ${ctx.runId}`,
)

for (const { area, checks } of AREAS) {
  for (const check of checks) {
    const title = `${area} › ${check.name}`
    if (args.only && !title.toLowerCase().includes(args.only.toLowerCase())) continue
    const t0 = Date.now()
    let outcome: { kind: 'pass' } | { kind: 'skip' | 'fail'; why: string }
    try {
      await bounded(() => check.run(ctx), check.timeoutMs ?? args.timeoutMs)
      outcome = { kind: 'pass' }
    } catch (e) {
      outcome =
        e instanceof Skip
          ? { kind: 'skip', why: e.message }
          : { kind: 'fail', why: (e as Error).message ?? String(e) }
    }
    const violations = ctx.endCheck()
    if (violations.length > 0 && outcome.kind !== 'fail')
      outcome = { kind: 'fail', why: violations.join('; ') }
    counts[outcome.kind] += 1
    const ms = `${Date.now() - t0} ms`
    if (outcome.kind === 'pass') console.log(`${paint(32, 'PASS')} ${title} (${ms})`)
    else if (outcome.kind === 'skip') console.log(`${paint(33, 'SKIP')} ${title}: ${outcome.why}`)
    else console.log(`${paint(31, 'FAIL')} ${title} (${ms})\n     ${outcome.why}`)
  }
}

console.log(
  `conformance: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped in ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
process.exit(counts.fail > 0 ? 1 : 0)
