// The servers under test. Every one is started fresh for each measurement and stopped by pid afterwards.
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { ClientKind, Proto } from './clients'
import { type Started, startServer, stopServer } from './proc'

export const REPO = resolve(import.meta.dir, '../..')
export const RESULTS = join(REPO, 'bench/results')
const PEERS = join(REPO, 'bench/peers')

export type TargetName = 'project' | 'bun' | 'elysia' | 'node-ws' | 'socketio' | 'socketio-bun'
export const ALL_TARGETS: TargetName[] = ['project', 'bun', 'node-ws', 'socketio']

interface Def {
  label: string
  proto: Proto
  cmd: (bun: string) => string[]
  /** With the memory probe (bench/lib/probe.ts) on BENCH_PROBE_PORT; only the Bun targets have one. */
  probeCmd?: (bun: string) => string[]
  env?: Record<string, string>
}

export const DEFS: Record<TargetName, Def> = {
  project: {
    label: 'project (bun run start)',
    proto: 'json',
    cmd: (bun) => [bun, 'run', 'start'],
    probeCmd: (bun) => [bun, join(REPO, 'bench/probe/project.ts')],
    // defaults except the caps; HOST only so that the benchmark listens on loopback alone
    env: {
      HOST: '127.0.0.1',
      MAX_CONNECTIONS_PER_IP: '20000',
      ROOM_CREATE_PER_MIN: '100000',
      MAX_ROOMS: '100000',
      DEFAULT_MAX_USERS: '10000',
    },
  },
  bun: {
    label: 'bare Bun.serve (ceiling)',
    proto: 'json',
    cmd: (bun) => [bun, join(PEERS, 'bun.ts')],
    probeCmd: (bun) => [bun, join(PEERS, 'bun.ts')],
  },
  elysia: {
    label: 'bare Elysia .ws() (floor)',
    proto: 'json',
    cmd: (bun) => [bun, join(PEERS, 'elysia.ts')],
    probeCmd: (bun) => [bun, join(PEERS, 'elysia.ts')],
  },
  'node-ws': { label: 'Node ws', proto: 'json', cmd: () => ['node', join(PEERS, 'node-ws.mjs')] },
  socketio: {
    label: 'Socket.IO 4 (node)',
    proto: 'sio',
    cmd: () => ['node', join(PEERS, 'socketio.mjs')],
  },
  'socketio-bun': {
    label: 'Socket.IO 4 (bun)',
    proto: 'sio',
    cmd: (bun) => [bun, join(PEERS, 'socketio.mjs')],
  },
}

export interface Running extends Started {
  name: TargetName
  port: number
  proto: Proto
  kind: ClientKind
  /** Port of the memory probe, when started with `probe` (bench/lib/probe.ts). */
  probePort: number | null
  /** Creates a room (POST /rooms on the project; peers create rooms on first join) and returns its id. */
  createRoom(name: string, maxUsers: number): Promise<string>
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const p = l.port
  l.stop(true)
  return p
}

/**
 * Runs `cmd` with the soft open-files limit raised to the hard one (one fd per socket: the default soft limit
 * of many systems, 1024, would cap the connections long before memory does). `exec` keeps the pid.
 */
export const withFdLimit = (cmd: string[]) => [
  'bash',
  '-c',
  'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
  'bash',
  ...cmd,
]

export async function startTarget(
  name: TargetName,
  kind: ClientKind,
  logTag: string,
  o: { probe?: boolean; env?: Record<string, string> } = {},
): Promise<Running> {
  const d = DEFS[name]
  const port = await freePort()
  const probeCmd = o.probe ? d.probeCmd : undefined
  const probePort = probeCmd ? await freePort() : null
  mkdirSync(join(RESULTS, 'logs'), { recursive: true })
  const s = await startServer(withFdLimit((probeCmd ?? d.cmd)(process.execPath)), {
    cwd: REPO,
    env: {
      PORT: String(port),
      ...(d.env ?? {}),
      ...(probePort ? { BENCH_PROBE_PORT: String(probePort) } : {}),
      ...(o.env ?? {}),
    },
    port,
    logPath: join(RESULTS, 'logs', `${logTag}-${name}.log`),
    timeoutMs: 20_000,
  })
  const createRoom = async (room: string, maxUsers: number): Promise<string> => {
    if (name !== 'project') return room
    const res = await fetch(`http://127.0.0.1:${port}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: room, max_users: maxUsers }),
      signal: AbortSignal.timeout(10_000),
    })
    const body = (await res.json().catch(() => ({}))) as { id?: string }
    if (res.status !== 201 || !body.id)
      throw new Error(`POST /rooms ${room}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`)
    return body.id
  }
  return { ...s, name, port, proto: d.proto, kind, probePort, createRoom }
}

export const stopTarget = (r: Running) => stopServer(r)
