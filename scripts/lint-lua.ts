/**
 * Lints every Redis script with luacheck, as Redis runs it: the prelude (and, for the
 * per-room scripts, the room's key locals) followed by the script, each written to a
 * temporary file. Exits non-zero on any warning or error. Run by `bun run lint:lua`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SCRIPTS } from '../src/cluster/scripts.ts'

const dir = mkdtempSync(join(tmpdir(), 'lua-lint-'))
try {
  const files: string[] = []
  for (const [name, spec] of Object.entries(SCRIPTS)) {
    const file = join(dir, `${name}.lua`)
    writeFileSync(file, spec.lua)
    files.push(file)
  }
  const config = join(import.meta.dir, '..', '.luacheckrc')
  const run = Bun.spawnSync(['luacheck', '--config', config, '--formatter', 'plain', ...files], {
    stdout: 'inherit',
    stderr: 'inherit',
  })
  if (run.exitCode !== 0) {
    console.error(`lint:lua: luacheck found problems (exit ${run.exitCode})`)
    process.exit(1)
  }
  console.log(`lint:lua: ${files.length} scripts, no warnings`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
