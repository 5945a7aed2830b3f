// Prints the size of a built file, for `bun run build`: bun scripts/print-size.ts dist/chat-server
import { statSync } from 'node:fs'

const path = process.argv[2] ?? 'dist/chat-server'
const bytes = statSync(path).size
console.log(`${path}: ${(bytes / 1024 / 1024).toFixed(1)} MiB (${bytes} bytes)`)
