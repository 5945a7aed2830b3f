import type { Config } from './config.ts'
import type { LogFields, Logger } from './domain/ports.ts'

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const

/** A logger that writes one JSON object per line: info and below to stdout, the rest to stderr. */
export function jsonLogger(level: Config['logLevel']): Logger {
  const min = LEVELS[level]
  const write = (lvl: keyof typeof LEVELS, message: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return
    const line = `${JSON.stringify({ time: new Date().toISOString(), level: lvl, message, ...fields })}\n`
    if (LEVELS[lvl] >= LEVELS.warn) process.stderr.write(line)
    else process.stdout.write(line)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}
