import { describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import packageJson from '../../package.json'

interface Instruction {
  keyword: string
  args: string
}

/** The Dockerfile's stages, each a list of instructions (continuation lines joined, comments dropped). */
function stages(text: string): { name: string | undefined; instructions: Instruction[] }[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  const out: { name: string | undefined; instructions: Instruction[] }[] = []
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    if (keyword.toUpperCase() === 'FROM') {
      out.push({ name: args.match(/\sAS\s+(\S+)$/i)?.[1], instructions: [] })
    }
    out.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args })
  }
  return out
}

const dockerfile = await Bun.file(join(import.meta.dir, '../../Dockerfile')).text()
const [build, runtime, ...extra] = stages(dockerfile)
const all = (stage: typeof build, keyword: string) =>
  (stage?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => i.args)

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage', () => {
    expect(extra).toEqual([])
    expect(build?.name).toBe('build')
    expect(all(build, 'FROM')[0]).toStartWith('oven/bun:')
    expect(all(runtime, 'FROM')[0]).toBe('debian:bookworm-slim')
  })

  it('builds with the command CI uses, and runs what it built as the entrypoint', () => {
    // package.json's build script compiles to dist/chat-server.
    const script = packageJson.scripts.build
    const outfile = script.match(/^bun build --compile .*--outfile (\S+)/)?.[1]
    expect(outfile).toBe('dist/chat-server')
    // The build stage runs that very script, from its WORKDIR.
    expect(all(build, 'RUN')).toContain('bun run build')
    expect(all(build, 'RUN')).toContain('bun install --frozen-lockfile --production')
    const workdir = all(build, 'WORKDIR').at(-1)
    // The runtime stage copies that output and makes it the entrypoint.
    const copy = all(runtime, 'COPY').find((a) => a.startsWith('--from=build '))
    const [, from, to] = copy?.split(/\s+/) ?? []
    expect(from).toBe(`${workdir}/${outfile}`)
    expect(all(runtime, 'ENTRYPOINT')).toEqual([JSON.stringify([to])])
  })

  it('runs as a non-root user, health-checks with the executable, exposes the port, stops with SIGTERM', () => {
    const user = all(runtime, 'USER').at(-1)
    expect(user).toBeDefined()
    expect(user).not.toMatch(/^(root|0)(:|$)/)
    const entry = JSON.parse(all(runtime, 'ENTRYPOINT')[0] ?? '[]') as string[]
    const healthcheck = all(runtime, 'HEALTHCHECK')[0] ?? ''
    expect(healthcheck).toContain(
      `CMD ${JSON.stringify([entry[0], '--health-check'])}`.replace(/,/g, ', '),
    )
    const env = all(runtime, 'ENV').join(' ')
    const port = env.match(/\bPORT=(\d+)/)?.[1] ?? 'no PORT in ENV'
    // The health check follows the port however it was set: through the file the server
    // writes (test/integration/shipped.test.ts runs that against the executable).
    expect(env).toMatch(/\bADDRESS_FILE=\/tmp\/\S+/)
    expect(all(runtime, 'EXPOSE')).toEqual([port])
    expect(all(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM'])
  })

  it('labels the image with OCI annotations', () => {
    const labels = all(runtime, 'LABEL').join(' ')
    for (const key of ['title', 'description', 'version']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`)
    }
  })
})

describe('Dockerfile build context', () => {
  it('holds everything `bun run build` needs: the build stage, replayed in an empty folder, builds', async () => {
    // No container engine here: copy exactly what the build stage COPYs (and nothing else)
    // into an empty folder, then run its RUN lines there.
    const root = join(import.meta.dir, '../..')
    const dir = await Bun.$`mktemp -d`.text().then((t) => t.trim())
    try {
      for (const args of all(build, 'COPY')) {
        const parts = args.split(/\s+/)
        const dest = parts.pop() as string
        for (const source of parts) {
          const target =
            dest.endsWith('/') || parts.length > 1 ? join(dir, dest, source) : join(dir, dest)
          await Bun.$`mkdir -p ${join(target, '..')} && cp -r ${join(root, source)} ${target}`.quiet()
        }
      }
      for (const command of all(build, 'RUN')) {
        const run = await Bun.$`sh -c ${command}`.cwd(dir).quiet().nothrow()
        expect({ command, exit: run.exitCode, stderr: run.stderr.toString().slice(-500) }).toEqual({
          command,
          exit: 0,
          stderr: expect.any(String),
        })
      }
      expect(await Bun.file(join(dir, 'dist/chat-server')).exists()).toBe(true)
    } finally {
      await Bun.$`rm -rf ${dir}`.quiet()
    }
  }, 120_000)
})
