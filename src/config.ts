/**
 * The server's settings. This is the only file that reads the environment and the
 * command line: `loadConfig` parses both once (a flag wins over its variable), applies
 * defaults, fails fast on bad values and returns a frozen Config. Tests build a Config
 * with `defaultConfig(overrides)` instead. `SETTINGS` (in settings.ts) is the one list of
 * settings: the parser, `--help` and the README's table are all made from it.
 */
import { parseArgs } from 'node:util'
import type { Config } from './config-fields.ts'
import { DEFAULTS, flagOf, SETTINGS } from './settings.ts'
import { checkAuthSettings } from './settings-auth.ts'
import { checkWebhookSettings } from './settings-webhooks.ts'

export type { Config } from './config-fields.ts'

export { flagOf, helpText, SETTINGS, type Setting, settingsTable } from './settings.ts'

/** A Config with the defaults, changed by `overrides`. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({ ...DEFAULTS, ...overrides })
}

type Env = Record<string, string | undefined>

/** What the command line asks for: run the server (the default), or one of the side modes. */
export type Mode = 'serve' | 'help' | 'version' | 'health-check'

/**
 * Reads the Config from the environment and the command-line flags (a flag wins over its
 * variable); throws one clear message naming the setting on a bad value or unknown flag.
 */
export function loadConfig(env: Env = Bun.env, argv: readonly string[] = []): Config {
  return parseCommandLine(env, argv).config
}

/** Like `loadConfig`, and also tells whether `--help`, `--version` or `--health-check` was given. */
export function parseCommandLine(
  env: Env,
  argv: readonly string[],
): { mode: Mode; config: Config } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    'health-check': { type: 'boolean' },
  }
  for (const s of SETTINGS) options[flagOf(s.env)] = { type: 'string' }
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
      .values as typeof values
  } catch (e) {
    throw new Error(argvMessage(e))
  }
  const mode: Mode = values.help
    ? 'help'
    : values.version
      ? 'version'
      : values['health-check']
        ? 'health-check'
        : 'serve'
  const sofar: Record<string, unknown> = {}
  for (const s of SETTINGS) {
    const flag = values[flagOf(s.env)]
    const raw = typeof flag === 'string' ? flag : env[s.env]
    try {
      sofar[s.key] = s.read(raw, sofar as Partial<Config>)
    } catch (e) {
      const message = (e as Error).message
      // Name the flag too when the value came from it.
      throw new Error(
        typeof flag === 'string' ? message.replace(s.env, `--${flagOf(s.env)}`) : message,
      )
    }
  }
  checkAuthSettings(sofar as Partial<Config>)
  checkWebhookSettings(sofar as Partial<Config>)
  return { mode, config: defaultConfig(sofar as Partial<Config>) }
}

/** One line for a parseArgs failure. */
function argvMessage(e: unknown): string {
  const err = e as { code?: string; message?: string }
  const option = err.message?.match(/'(-{1,2}[^' ]+)/)?.[1]
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''} (see --help)`.replace('  ', ' ')
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `option ${option ?? ''} needs a value, as in ${option ?? '--name'}=VALUE`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${err.message?.match(/'([^']*)'/)?.[1] ?? ''}: settings are given as --name=VALUE (see --help)`
    default:
      return err.message ?? String(e)
  }
}
