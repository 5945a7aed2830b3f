import type { LogFields, Logger } from '../../src/domain/ports.ts'

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error'
  message: string
  fields?: LogFields
}

/** A logger that records entries; tests assert that no error was logged. */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = []
  debug(message: string, fields?: LogFields) {
    this.entries.push({ level: 'debug', message, fields })
  }
  info(message: string, fields?: LogFields) {
    this.entries.push({ level: 'info', message, fields })
  }
  warn(message: string, fields?: LogFields) {
    this.entries.push({ level: 'warn', message, fields })
  }
  error(message: string, fields?: LogFields) {
    this.entries.push({ level: 'error', message, fields })
  }
  errors(): LogEntry[] {
    return this.entries.filter((e) => e.level === 'error')
  }
}
