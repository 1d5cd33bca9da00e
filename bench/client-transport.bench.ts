// CPU per `client.append` (1 event) of the typed client, its default transport (node:http, a
// keep-alive agent) against the global fetch (undici), in one run against one `agate serve`
// (built CLI, default settings, no Redis). The variants alternate, fetch first, so that a warming
// server or a neighbour's load falls on both. Run: npm run bench:client
// (AGATE_BENCH_ADMIN_URL picks the PostgreSQL server; AGATE_BENCH_CLIENTS, default 32, and
// AGATE_BENCH_APPENDS, per variant and round, default 3000, the load).
import { pino } from 'pino';
import { AgateClient } from '../src/client/index.js';
import { createPool } from '../src/db/index.js';
import { createKey } from '../src/keys/index.js';
import { createTenant } from '../src/tenants/index.js';
import { startAgateProcesses } from './support/agate-processes.js';
import { withBenchDatabase } from './support/bench-database.js';
import { cpuMicros } from './support/process-cpu.js';

const adminUrl = process.env.AGATE_BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const clients = Number(process.env.AGATE_BENCH_CLIENTS ?? 32);
const appends = Number(process.env.AGATE_BENCH_APPENDS ?? 3000);
const log = pino({ level: 'info' });

type Variant = 'fetch' | 'node:http';

async function round(client: AgateClient, variant: Variant, serverPid: number): Promise<void> {
  const sessions = await Promise.all(
    Array.from({ length: clients }, () => client.createSession({ rules: 'archive-gate' })),
  );
  const started = { self: process.cpuUsage(), server: cpuMicros(serverPid) ?? 0 };
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (session) => {
      for (let i = 0; i < appends / clients; i += 1) {
        await client.append(session.id, [{ type: 'day.started', data: {} }]);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(started.self);
  const server = (cpuMicros(serverPid) ?? 0) - started.server;
  log.info(
    {
      variant,
      clientCpuUsPerAppend: Math.round((self.user + self.system) / appends),
      serverCpuUsPerAppend: Math.round(server / appends),
      appendsPerSecond: Math.round(appends / seconds),
    },
    'client transport',
  );
}

await withBenchDatabase(adminUrl, async (db) => {
  const pool = createPool({ connectionString: db.url, max: 2 });
  const tenantId = (await createTenant(pool, { name: 'transport', actor: 'bench' })).id;
  const { key } = await createKey(pool, { tenantId, role: 'game_server', actor: 'bench' });
  await pool.end();
  const agate = await startAgateProcesses(db.url, null);
  try {
    const viaHttp = new AgateClient({ baseUrl: agate.url, apiKey: key });
    const viaFetch = new AgateClient({
      baseUrl: agate.url,
      apiKey: key,
      fetch: (input, init) => fetch(input, init),
    });
    for (let i = 0; i < 2; i += 1) {
      await round(viaFetch, 'fetch', agate.pids.server);
      await round(viaHttp, 'node:http', agate.pids.server);
    }
  } finally {
    await agate.stop();
  }
});
