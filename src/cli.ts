/**
 * The command line around the server: settings from flags and the environment, and the
 * side modes `--help`, `--version` and `--health-check` (for a container's HEALTHCHECK,
 * whose slim image has no curl).
 */
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

/** GET /health on this node: 0 when it answers 200 within 3 s, else 1 (the reason on stderr). */
export async function healthCheck(config: Config): Promise<number> {
  const url = `http://${probeHost(config.host)}:${config.port}/health`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    if (res.status === 200) return 0
    process.stderr.write(`health check: ${url} answered ${res.status}\n`)
  } catch (e) {
    process.stderr.write(`health check: ${url} failed: ${(e as Error).message}\n`)
  }
  return 1
}
