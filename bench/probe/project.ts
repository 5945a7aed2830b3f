// Bench-only entry point of the project: the same server as src/main.ts (createApp + listen with the environment's
// config), plus the memory probe of bench/lib/probe.ts when BENCH_PROBE_PORT is set. SIGTERM stops it at once.
import { createApp, loadClusterStore } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { startProbe } from '../lib/probe.ts'

const config = loadConfig()
const { app, store } = createApp(config, { ClusterStore: await loadClusterStore(config) })
app.listen({ port: config.port, hostname: config.host })
startProbe()
process.on('SIGTERM', () => {
  store.drain()
  void app.stop(true).then(() => process.exit(0))
})
