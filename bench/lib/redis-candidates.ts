// The Redis clients under comparison, each behind the same small interface, opened either with
// the library's defaults or with the settings that make it fail fast (for ioredis: exactly
// src/cluster/redis-link.ts). Each link has two connections, as the cluster does: one for
// commands and scripts, one for pub/sub.
import { readFileSync } from 'node:fs'
import Redis from 'ioredis'
import { createClient, defineScript } from 'redis'

export type Mode = 'default' | 'failfast'

/** The per-message script's shape: sequence, capped history, publish (as src/cluster/scripts.ts). */
export const MESSAGE_SCRIPT = `
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -100, -1)
redis.call('PUBLISH', KEYS[3], seq .. '|' .. ARGV[1])
return seq
`
const MESSAGE_SHA = new Bun.CryptoHasher('sha1').update(MESSAGE_SCRIPT).digest('hex')

export interface Link {
  incr(key: string): Promise<unknown>
  publish(channel: string, payload: string): Promise<number>
  /** The message script through EVALSHA, falling back to EVAL on NOSCRIPT. */
  script(keys: [string, string, string], payload: string): Promise<number>
  subscribe(channel: string, onMessage: (text: string) => void): Promise<void>
  close(): Promise<void>
}

export interface Candidate {
  name: string
  version: string
  /** The settings of each mode, as shown in the report. */
  settings: Record<Mode, string>
  /** How EVALSHA with EVAL fallback is obtained. */
  scripts: string
  open(url: string, mode: Mode): Promise<Link>
}

function pkgVersion(name: string): string {
  const path = Bun.resolveSync(`${name}/package.json`, import.meta.dir)
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
}

/** Capped, jittered backoff: src/cluster/redis-link.ts's `retry`. */
function backoff(times: number): number {
  const cap = Math.min(2000, 50 * 2 ** Math.min(times, 10))
  return Math.floor(cap / 2 + Math.random() * (cap / 2))
}

const ioredis: Candidate = {
  name: 'ioredis',
  version: pkgVersion('ioredis'),
  settings: {
    default: 'defaults (offline queue on, maxRetriesPerRequest 20)',
    failfast:
      'enableOfflineQueue:false, maxRetriesPerRequest:0, commandTimeout:2000 (subscriber: offline queue on)',
  },
  scripts: 'built in: defineCommand (EVALSHA, EVAL on NOSCRIPT)',
  async open(url, mode) {
    const options =
      mode === 'failfast'
        ? {
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            commandTimeout: 2000,
            retryStrategy: backoff,
          }
        : {}
    const cmd = new Redis(url, { ...options, lazyConnect: true })
    // As in the project: the subscriber queues its SUBSCRIBEs and resubscribes by itself.
    const sub = new Redis(url, {
      ...options,
      lazyConnect: true,
      enableOfflineQueue: true,
      commandTimeout: undefined,
    })
    cmd.on('error', () => {})
    sub.on('error', () => {})
    cmd.defineCommand('chatMessage', { numberOfKeys: 3, lua: MESSAGE_SCRIPT })
    await Promise.all([cmd.connect(), sub.connect()])
    const listeners = new Map<string, (text: string) => void>()
    sub.on('message', (channel: string, text: string) => listeners.get(channel)?.(text))
    const run = (cmd as unknown as Record<string, (...a: string[]) => Promise<number>>)
      .chatMessage as (...a: string[]) => Promise<number>
    return {
      incr: (key) => cmd.incr(key),
      publish: (channel, payload) => cmd.publish(channel, payload),
      script: (keys, payload) => run.call(cmd, ...keys, payload),
      async subscribe(channel, onMessage) {
        listeners.set(channel, onMessage)
        await sub.subscribe(channel)
      },
      async close() {
        cmd.disconnect()
        sub.disconnect()
      },
    }
  },
}

const nodeRedisScripts = {
  chatMessage: defineScript({
    SCRIPT: MESSAGE_SCRIPT,
    NUMBER_OF_KEYS: 3,
    parseCommand(
      parser: { pushKey(k: string): void; push(a: string): void },
      k1: string,
      k2: string,
      k3: string,
      payload: string,
    ) {
      parser.pushKey(k1)
      parser.pushKey(k2)
      parser.pushKey(k3)
      parser.push(payload)
    },
    transformReply: undefined as unknown as () => number,
  }),
}

const nodeRedis: Candidate = {
  name: 'node-redis',
  version: pkgVersion('redis'),
  settings: {
    default: 'defaults (offline queue on, backoff to 2 s)',
    failfast: 'disableOfflineQueue:true, commandOptions.timeout:2000 (subscriber: defaults)',
  },
  scripts: 'built in: defineScript (EVALSHA, EVAL on NOSCRIPT)',
  async open(url, mode) {
    const cmd = createClient({
      url,
      scripts: nodeRedisScripts,
      ...(mode === 'failfast'
        ? { disableOfflineQueue: true, commandOptions: { timeout: 2000 } }
        : {}),
    })
    const sub = createClient({ url })
    cmd.on('error', () => {})
    sub.on('error', () => {})
    await Promise.all([cmd.connect(), sub.connect()])
    return {
      incr: (key) => cmd.incr(key),
      publish: (channel, payload) => cmd.publish(channel, payload),
      script: (keys, payload) =>
        cmd.chatMessage(keys[0], keys[1], keys[2], payload) as unknown as Promise<number>,
      async subscribe(channel, onMessage) {
        await sub.subscribe(channel, (text) => onMessage(text))
      },
      async close() {
        cmd.destroy()
        sub.destroy()
      },
    }
  },
}

/** Bun's client has no script helper: EVALSHA, then EVAL when Redis answers NOSCRIPT. */
async function bunScript(client: Bun.RedisClient, keys: string[], payload: string) {
  const tail = [String(keys.length), ...keys, payload]
  try {
    return (await client.send('EVALSHA', [MESSAGE_SHA, ...tail])) as number
  } catch (e) {
    if (!String((e as Error).message).includes('NOSCRIPT')) throw e
    return (await client.send('EVAL', [MESSAGE_SCRIPT, ...tail])) as number
  }
}

function bunCandidate(resubscribe: boolean): Candidate {
  return {
    name: resubscribe ? 'Bun.RedisClient + own resubscribe' : 'Bun.RedisClient',
    version: `Bun ${Bun.version}`,
    settings: {
      default: 'defaults (offline queue on, autoReconnect, maxRetries 20)',
      failfast: 'enableOfflineQueue:false (subscriber: defaults)',
    },
    scripts: 'none: send("EVALSHA"), EVAL on NOSCRIPT by hand (8 lines)',
    async open(url, mode) {
      const cmd = new Bun.RedisClient(url, mode === 'failfast' ? { enableOfflineQueue: false } : {})
      const sub = new Bun.RedisClient(url)
      await Promise.all([cmd.connect(), sub.connect()])
      const listeners = new Map<string, (text: string) => void>()
      if (resubscribe) {
        // The workaround: subscribe again every time the subscriber (re)connects.
        sub.onconnect = () => {
          for (const [channel, fn] of listeners) void sub.subscribe(channel, fn).catch(() => {})
        }
      }
      return {
        incr: (key) => cmd.incr(key),
        publish: (channel, payload) => cmd.publish(channel, payload),
        script: (keys, payload) => bunScript(cmd, keys, payload),
        async subscribe(channel, onMessage) {
          listeners.set(channel, onMessage)
          await sub.subscribe(channel, (text) => onMessage(text))
        },
        async close() {
          cmd.close()
          sub.close()
        },
      }
    },
  }
}

export const CANDIDATES: Candidate[] = [ioredis, nodeRedis, bunCandidate(false)]
/** Only for the restart scenario: shows what it takes to make Bun's client resubscribe. */
export const BUN_RESUBSCRIBE = bunCandidate(true)
