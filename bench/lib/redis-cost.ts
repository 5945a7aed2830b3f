// The cost scenario of bench/redis-clients.ts: publish, receive and script round trip.
import { cpuSeconds } from './proc'
import { fresh } from './redis-behaviour'
import type { Candidate } from './redis-candidates'
import type { RedisServer } from './redis-server'
import { Histogram, sleep } from './stats'

const PAYLOAD = 'x'.repeat(200)

export interface Perf {
  seqRate: number
  seqCpuUs: number
  pipeRate: number
  pipeCpuUs: number
  recvRate: number
  recvCpuUs: number
  delivered: number
  sent: number
  redisCpuUs: number
  p50: number
  p99: number
}

/** CPU of this process (µs) and of redis-server (µs) per unit, and units per second. */
async function measure(redis: RedisServer, body: (deadline: number) => Promise<number>) {
  const c0 = process.cpuUsage()
  const r0 = cpuSeconds(redis.pid)
  const t0 = performance.now()
  const n = await body(t0 + 30_000)
  const wall = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  return {
    n,
    rate: n / wall,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, n),
    redisUs: ((cpuSeconds(redis.pid) - r0) * 1e6) / Math.max(1, n),
  }
}

/** `count` PUBLISHes written by `redis-cli --pipe`, a separate process, so that this one only receives. */
async function blast(redis: RedisServer, channel: string, count: number): Promise<void> {
  const one = `*3\r\n$7\r\nPUBLISH\r\n$${channel.length}\r\n${channel}\r\n$${PAYLOAD.length}\r\n${PAYLOAD}\r\n`
  const proc = Bun.spawn(['redis-cli', '-p', String(redis.port), '--pipe'], {
    stdin: new TextEncoder().encode(one.repeat(count)),
    stdout: 'ignore',
    stderr: 'ignore',
  })
  const exited = await Promise.race([proc.exited, sleep(30_000).then(() => 'timeout')])
  if (exited === 'timeout') proc.kill('SIGKILL')
}

// (4) PUBLISH throughput (sequential, then 1000 in flight), the subscriber's cost per message
// received, and the message script's round trip. No subscriber while publishing, no
// publisher in this process while receiving: each figure is one side's cost.
export async function perfScenario(redis: RedisServer, c: Candidate, count: number): Promise<Perf> {
  const link = await fresh(redis, c, 'failfast')
  try {
    for (let i = 0; i < 2000; i++) await link.publish('bench:perf', PAYLOAD)
    const seq = await measure(redis, async (deadline) => {
      let n = 0
      for (; n < count && performance.now() < deadline; n++)
        await link.publish('bench:perf', PAYLOAD)
      return n
    })
    const pipe = await measure(redis, async (deadline) => {
      let n = 0
      while (n < count && performance.now() < deadline) {
        const batch: Promise<number>[] = []
        for (let i = 0; i < 1000 && n < count; i++, n++)
          batch.push(link.publish('bench:perf', PAYLOAD))
        await Promise.all(batch)
      }
      return n
    })
    let received = 0
    await link.subscribe('bench:recv', () => {
      received++
    })
    await blast(redis, 'bench:recv', 1000)
    const warm = performance.now() + 10_000
    while (received < 1000 && performance.now() < warm) await sleep(10)
    received = 0
    const recv = await measure(redis, async () => {
      const t0 = performance.now()
      await blast(redis, 'bench:recv', count)
      while (received < count && performance.now() < t0 + 15_000) await sleep(5)
      return received
    })
    const h = new Histogram()
    const keys: [string, string, string] = ['{p}:seq', '{p}:hist', 'bench:p']
    for (let i = 0; i < 1000; i++) await link.script(keys, PAYLOAD)
    const deadline = performance.now() + 30_000
    for (let i = 0; i < 5000 && performance.now() < deadline; i++) {
      const t = performance.now()
      await link.script(keys, PAYLOAD)
      h.add((performance.now() - t) * 1000)
    }
    return {
      seqRate: seq.rate,
      seqCpuUs: seq.cpuUs,
      pipeRate: pipe.rate,
      pipeCpuUs: pipe.cpuUs,
      recvRate: recv.rate,
      recvCpuUs: recv.cpuUs,
      delivered: received,
      sent: count,
      redisCpuUs: (seq.redisUs + pipe.redisUs) / 2,
      p50: h.quantileMs(0.5),
      p99: h.quantileMs(0.99),
    }
  } finally {
    await link.close()
  }
}
