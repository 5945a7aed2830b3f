/** Runs a command to its end and collects what it wrote: for tests of whole processes. */

export interface ProcessResult {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/**
 * Runs `cmd` with nothing on stdin and both outputs piped, and waits for it to exit.
 * `cwd` and `env` as for `Bun.spawn` (env: the whole environment of the child).
 */
export async function runProcess(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<ProcessResult> {
  const proc = Bun.spawn(cmd, { ...options, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { stdout, stderr, code }
}
