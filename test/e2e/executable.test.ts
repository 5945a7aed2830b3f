/**
 * The shipped form: `bun run build` compiles the server into dist/chat-server, and the
 * page (bundled into the executable) works from it with nothing else around.
 */
import { afterEach, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { BROWSER_TEST_MS, newPerson, useBrowser } from './support/browser.ts'
import { joinFromList, message, open, say } from './support/chat.ts'

const ROOT = join(import.meta.dir, '..', '..')
const chrome = useBrowser()
let server: Bun.Subprocess<'ignore', 'pipe', 'pipe'> | undefined

afterEach(async () => {
  if (!server) return
  server.kill('SIGTERM')
  // It drains and exits 0 on SIGTERM, as in production.
  expect(await server.exited).toBe(0)
  server = undefined
})

/**
 * Reads the executable's JSON log lines (all of them, so that its later lines have a
 * reader) and resolves with the port of its `listening` line.
 */
function listeningPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  return new Promise((resolve, reject) => {
    const decoder = new TextDecoder()
    let text = ''
    void (async () => {
      for await (const chunk of stdout) {
        text += decoder.decode(chunk, { stream: true })
        const match = text.match(/"message":"listening".*"port":(\d+)/)
        if (match?.[1]) resolve(Number(match[1]))
      }
      reject(new Error(`the executable stopped before listening:\n${text}`))
    })()
  })
}

describe('Compiled executable', () => {
  it(
    'serves the chat page: two people chat through it',
    async () => {
      const build = Bun.spawn([process.execPath, 'run', 'build'], {
        cwd: ROOT,
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const built = await build.exited
      expect({ built, stderr: built === 0 ? '' : await new Response(build.stderr).text() }).toEqual(
        { built: 0, stderr: '' },
      )

      // Run from another directory: whatever the page needs is inside the executable.
      server = Bun.spawn([join(ROOT, 'dist', 'chat-server')], {
        cwd: '/',
        env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const url = `http://127.0.0.1:${await listeningPort(server.stdout)}`

      const alice = await newPerson(chrome.browser)
      const bob = await newPerson(chrome.browser)
      await open(alice.page, url, 'alice')
      await joinFromList(alice.page, 'general')
      await open(bob.page, url, 'bob')
      await joinFromList(bob.page, 'general')
      await say(alice.page, 'Hello from the executable')
      await message(bob.page, 'Hello from the executable').waitFor()
      await say(bob.page, 'Hi!')
      await message(alice.page, 'Hi!').waitFor()
    },
    BROWSER_TEST_MS + 30_000,
  )
})
