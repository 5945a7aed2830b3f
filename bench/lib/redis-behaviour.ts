// The behaviour scenarios of bench/redis-clients.ts: what each client does when Redis is
// restarted, away, or has lost its scripts. Every wait is bounded.
import type { Candidate, Link, Mode } from './redis-candidates'
import type { RedisServer } from './redis-server'
import { sleep } from './stats'

/** How long a scenario waits for something that may never happen. */
export const GIVE_UP_MS = 8000

/** Opens a link on a fresh, empty Redis. */
export async function fresh(redis: RedisServer, c: Candidate, mode: Mode): Promise<Link> {
  await redis.stop()
  await redis.start()
  return c.open(redis.url, mode)
}

/** Settles within `ms` or gives 'timeout'; never throws. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | Error | 'timeout'> {
  let timer: Timer | undefined
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms)
  })
  try {
    return await Promise.race([p.catch((e: unknown) => e as Error), timeout])
  } finally {
    clearTimeout(timer)
  }
}

const ms = (x: number) => `${Math.round(x)} ms`
const short = (e: Error) => `"${e.message.replace(/\s+/g, ' ').slice(0, 60)}"`

// (1) After SIGKILL + restart on the same port: is the subscription back, and when? Several
// clients can share one outage (each on its own channel), which keeps the long one short.
export async function restartScenario(
  redis: RedisServer,
  cs: Candidate[],
  mode: Mode,
  outageMs = 300,
): Promise<{ subAt: number; cmdAt: number }[]> {
  await redis.stop()
  await redis.start()
  const links: Link[] = []
  try {
    for (const c of cs) links.push(await c.open(redis.url, mode))
    const arrivals = cs.map(() => 0)
    for (const [i, link] of links.entries()) {
      await link.subscribe(`bench:room:${i}`, () => {
        arrivals[i] = performance.now()
      })
    }
    const end0 = performance.now() + 2000
    for (const [i, c] of cs.entries()) {
      while (arrivals[i] === 0 && performance.now() < end0) {
        await redis.command(['PUBLISH', `bench:room:${i}`, 'before'])
        await sleep(10)
      }
      if (arrivals[i] === 0) throw new Error(`${c.name}: not subscribed at start`)
    }
    await redis.stop()
    await sleep(outageMs)
    await redis.start()
    const t0 = performance.now()
    const watch = links.map(async (link, i) => {
      let subAt = -1
      let cmdAt = -1
      const probes = (async () => {
        while (performance.now() - t0 < GIVE_UP_MS && subAt < 0) {
          await redis.command(['PUBLISH', `bench:room:${i}`, 'after']).catch(() => 0)
          const at = arrivals[i] ?? 0
          if (at > t0) subAt = at - t0
          else await sleep(10)
        }
      })()
      const commands = (async () => {
        while (performance.now() - t0 < GIVE_UP_MS && cmdAt < 0) {
          const r = await within(link.incr('bench:alive'), 500)
          if (typeof r === 'number') cmdAt = performance.now() - t0
          else await sleep(20)
        }
      })()
      await Promise.all([probes, commands])
      return { subAt, cmdAt }
    })
    return await Promise.all(watch)
  } finally {
    for (const link of links) await link.close()
  }
}

/** "12 / 80 / 35 ms" over the repetitions, or how many never came back. */
export function times(xs: number[], what: string): string {
  const ok = xs.filter((x) => x >= 0)
  const never = xs.length - ok.length
  if (ok.length === 0) return `NOT ${what} in ${GIVE_UP_MS / 1000} s (${never} of ${never})`
  const list = `${ok.map((x) => Math.round(x)).join(' / ')} ms`
  return never > 0 ? `${list}; not in ${GIVE_UP_MS / 1000} s ${never} of ${xs.length} times` : list
}

interface Outcome {
  state: 'pending' | 'resolved' | 'rejected'
  at: number
  error?: Error
}

function track(p: Promise<unknown>): Outcome {
  const o: Outcome = { state: 'pending', at: 0 }
  p.then(
    () => Object.assign(o, { state: 'resolved', at: performance.now() }),
    (e: Error) => Object.assign(o, { state: 'rejected', at: performance.now(), error: e }),
  )
  return o
}

/** Waits until `o` settles or `limitMs` passes, then says what happened and whether it ran. */
async function verdict(redis: RedisServer, o: Outcome, t0: number, restartAt: number, key: string) {
  const end = performance.now() + 5000
  while (o.state === 'pending' && performance.now() < end) await sleep(10)
  const ran = (await redis.command(['GET', key])) === '1' ? 'ran' : 'did not run'
  if (o.state === 'pending') return `hangs (>5 s after restart), ${ran}`
  const error = o.error ? ` ${short(o.error)}` : ''
  if (o.at < restartAt) {
    const when = o.at - t0 < 50 ? 'at once' : `after ${ms(o.at - t0)}`
    return `${o.state} ${when}${error}, ${ran}`
  }
  return `waited; ${o.state} ${ms(o.at - restartAt)} after restart${error}, ${ran}`
}

// (2a) A command issued while Redis is down (the client has seen the connection drop).
export async function offlineScenario(redis: RedisServer, c: Candidate, mode: Mode) {
  const link = await fresh(redis, c, mode)
  try {
    await link.incr('bench:warm')
    await redis.stop()
    await sleep(300)
    const t0 = performance.now()
    const o = track(link.incr('bench:offline'))
    await sleep(1000)
    await redis.start()
    return await verdict(redis, o, t0, performance.now(), 'bench:offline')
  } finally {
    await link.close()
  }
}

// (2b) A command written to the socket but unanswered when Redis dies (DEBUG SLEEP holds it):
// re-sending it after reconnect means a command that did run would run twice.
export async function inFlightScenario(redis: RedisServer, c: Candidate, mode: Mode) {
  const link = await fresh(redis, c, mode)
  try {
    await link.incr('bench:warm')
    await redis.command(['DEBUG', 'SLEEP', '3'], false)
    await sleep(100)
    const o = track(link.incr('bench:inflight'))
    await sleep(150)
    const t0 = performance.now()
    await redis.stop()
    await sleep(700)
    await redis.start()
    return await verdict(redis, o, t0, performance.now(), 'bench:inflight')
  } finally {
    await link.close()
  }
}

/** `INFO` field counts such as calls=3 of cmdstat_evalsha. */
async function infoCount(redis: RedisServer, section: string, field: string): Promise<number> {
  const text = String(await redis.command(['INFO', section]))
  return Number(new RegExp(`^${field}:(?:count|calls)=(\\d+)`, 'm').exec(text)?.[1] ?? 0)
}

// (3) EVALSHA with an automatic EVAL fallback: first call, after SCRIPT FLUSH, after a restart.
export async function scriptScenario(redis: RedisServer, c: Candidate) {
  const link = await fresh(redis, c, 'failfast')
  const keys: [string, string, string] = ['{r}:seq', '{r}:hist', 'bench:r']
  const attempt = async () => {
    const r = await within(link.script(keys, 'hello'), 2000)
    return typeof r === 'number' ? `ok (${r})` : r === 'timeout' ? 'hangs' : `fails ${short(r)}`
  }
  try {
    const first = await attempt()
    await redis.command(['SCRIPT', 'FLUSH'])
    const flushed = await attempt()
    const seen = `EVALSHA ${await infoCount(redis, 'commandstats', 'cmdstat_evalsha')}, EVAL ${await infoCount(redis, 'commandstats', 'cmdstat_eval')}, NOSCRIPT ${await infoCount(redis, 'errorstats', 'errorstat_NOSCRIPT')}`
    await redis.stop()
    await sleep(300)
    await redis.start()
    // The command connection needs a moment to come back; count only the first answer after it.
    let restarted = 'not back in 8 s'
    const end = performance.now() + GIVE_UP_MS
    while (performance.now() < end) {
      const r = await within(link.script(keys, 'hello'), 2000)
      if (typeof r === 'number') {
        restarted = `ok (${r})`
        break
      }
      if (r instanceof Error && /NOSCRIPT|script/i.test(r.message)) {
        restarted = `fails ${short(r)}`
        break
      }
      await sleep(50)
    }
    return { first, flushed, seen, restarted }
  } finally {
    await link.close()
  }
}
