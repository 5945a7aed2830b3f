/**
 * Entry point: reads the config (flags and environment; see `--help`), starts the server, and shuts it down gracefully on
 * SIGTERM or SIGINT (tell clients, close them with 1001, exit 0 within SHUTDOWN_TIMEOUT_MS).
 */
import { createApp, loadClusterStore } from './app.ts'
import { healthCheck, readCommandLine, serverUrl, writeAddressFile } from './cli.ts'

/** How long /health keeps answering "draining" before the listener closes. */
const MIN_DRAIN_MS = 500

const { mode, config } = readCommandLine(Bun.argv.slice(2), Bun.env)
if (mode === 'health-check') process.exit(await healthCheck(config))

const { app, store, logger } = createApp(config, { ClusterStore: await loadClusterStore(config) })
app.listen({ port: config.port, hostname: config.host })
const port = app.server?.port
logger.info('listening', { url: `http://${config.host}:${port}`, port })
// For the container's health check: the port as it is, however it was set.
const removeAddressFile =
  config.addressFile !== undefined && port !== undefined
    ? await writeAddressFile(config.addressFile, serverUrl(config.host, port))
    : () => {}

let stopping = false

async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  const started = Date.now()
  logger.info('shutting down', { signal, connections: store.openConnections() })
  // Whatever happens below, the process is gone by the deadline.
  setTimeout(() => {
    logger.warn('shutdown timed out; exiting', { open: store.openConnections() })
    process.exit(0)
  }, config.shutdownTimeoutMs - 100).unref()
  store.drain()
  const deadline = started + config.shutdownTimeoutMs - 500
  while (
    (store.openConnections() > 0 || Date.now() - started < MIN_DRAIN_MS) &&
    Date.now() < deadline
  ) {
    await Bun.sleep(20)
  }
  removeAddressFile()
  await app.stop(true)
  // In a cluster: members go offline in Redis (to resume elsewhere) before the node leaves.
  await store.close()
  logger.info('stopped', { ms: Date.now() - started })
  process.exit(0)
}

process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
