/**
 * The command line around the server: settings from flags and the environment, and the
 * side modes `--help`, `--version` and `--health-check` (for a container's HEALTHCHECK,
 * whose slim image has no curl).
 */
import { renameSync, rmSync } from 'node:fs'
import { type Config, helpText, parseCommandLine } from './config.ts'
import { VERSION } from './version.ts'

/**
 * Parses the command line and the environment. Prints the help or the version and exits
 * 0 for those; prints one line and exits 2 on a bad setting. Otherwise returns what to run.
 */
export function readCommandLine(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): { mode: 'serve' | 'health-check'; config: Config } {
  let parsed: ReturnType<typeof parseCommandLine>
  try {
    parsed = parseCommandLine(env, argv)
  } catch (e) {
    process.stderr.write(`chat-server: invalid configuration: ${(e as Error).message}\n`)
    process.exit(2)
  }
  if (parsed.mode === 'help') {
    process.stdout.write(helpText(VERSION))
    process.exit(0)
  }
  if (parsed.mode === 'version') {
    process.stdout.write(`chat-server ${VERSION}\n`)
    process.exit(0)
  }
  return { mode: parsed.mode, config: parsed.config }
}

/** The address to probe: the bound host, or loopback when it binds every address. */
function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === '' || host === '::' || host === '[::]') return '127.0.0.1'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/** The URL this node answers on, as ADDRESS_FILE holds it: loopback when it binds every address. */
export function serverUrl(host: string, port: number): string {
  return `http://${probeHost(host)}:${port}`
}

/**
 * Writes the node's URL to ADDRESS_FILE (a temporary file renamed over it, so a health check
 * never reads half a line). The returned function removes it again, for shutdown.
 */
export async function writeAddressFile(path: string, url: string): Promise<() => void> {
  const temporary = `${path}.${process.pid}.tmp`
  await Bun.write(temporary, `${url}\n`)
  renameSync(temporary, path)
  return () => rmSync(path, { force: true })
}

/**
 * GET /health on this node: 0 when it answers 200 within 3 s, else 1 (the reason on stderr).
 * With ADDRESS_FILE it asks the URL the server wrote there, so a port set by a flag
 * (`chat-server --port 4001`, which the health check's own command line lacks) is followed.
 */
export async function healthCheck(config: Config): Promise<number> {
  let base = serverUrl(config.host, config.port)
  if (config.addressFile !== undefined) {
    const file = Bun.file(config.addressFile)
    if (!(await file.exists())) {
      process.stderr.write(
        `health check: no ${config.addressFile} yet: the server is not listening\n`,
      )
      return 1
    }
    base = (await file.text()).trim()
  }
  const url = `${base}/health`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    if (res.status === 200) return 0
    process.stderr.write(`health check: ${url} answered ${res.status}\n`)
  } catch (e) {
    process.stderr.write(`health check: ${url} failed: ${(e as Error).message}\n`)
  }
  return 1
}
