/**
 * The shipped form: `bun run build` compiles the server into dist/chat-server, and the
 * page (bundled into the executable) works from it with nothing else around.
 */
import { afterEach, beforeAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { SignJWT } from 'jose'
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

/** Runs dist/chat-server on a free loopback port with `env`, and resolves with its URL. */
async function startExecutable(env: Record<string, string> = {}): Promise<string> {
  // Run from another directory: whatever the page needs is inside the executable.
  server = Bun.spawn([join(ROOT, 'dist', 'chat-server')], {
    cwd: '/',
    env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return `http://127.0.0.1:${await listeningPort(server.stdout)}`
}

beforeAll(async () => {
  const build = Bun.spawn([process.execPath, 'run', 'build'], {
    cwd: ROOT,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const built = await build.exited
  expect({ built, stderr: built === 0 ? '' : await new Response(build.stderr).text() }).toEqual({
    built: 0,
    stderr: '',
  })
}, 60_000)

describe('Compiled executable', () => {
  it(
    'serves the chat page: two people chat through it',
    async () => {
      const url = await startExecutable()
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
    BROWSER_TEST_MS,
  )

  it(
    'serves the page that signs in with a #token= link in AUTH_MODE=required',
    async () => {
      const secret = 'a-test-secret-of-at-least-32-bytes!!'
      const url = await startExecutable({ AUTH_MODE: 'required', AUTH_JWT_SECRET: secret })
      const token = await new SignJWT({ name: 'Alice' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u-1')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(secret))
      const { page } = await newPerson(chrome.browser)
      await page.goto(`${url}/#token=${token}`)
      await page.getByText('Signed in as Alice', { exact: true }).waitFor()
      await joinFromList(page, 'general')
      await say(page, 'Signed in through the executable')
      await expect(
        message(page, 'Signed in through the executable').textContent(),
      ).resolves.toContain('Alice')
    },
    BROWSER_TEST_MS,
  )
})
