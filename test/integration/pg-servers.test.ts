import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createClient, migrate, schemaStatus } from '../../src/db/index.js';
import { startPostgres, startReplica } from '../support/pg-servers.js';
import type { PgReplica, PgServer } from '../support/pg-servers.js';
import { repoRoot } from '../support/run-cli.js';

const childEntry = fileURLToPath(new URL('../support/pg-server-child.ts', import.meta.url));

let primary: PgServer;
let replica: PgReplica;

beforeAll(async () => {
  primary = await startPostgres();
  await primary.createDatabase('agate');
  replica = await startReplica(primary);
});

afterAll(async () => {
  await replica?.stop();
  await primary?.stop();
});

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function connectError(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  return client.connect().then(
    async () => {
      await client.end();
      return undefined;
    },
    (error: unknown) => error,
  );
}

/**
 * test/support/pg-server-child.ts in its own process: resolves with the server it started, once
 * it is up, and with how the process ended.
 */
function serverChild(mode: 'exit' | 'wait') {
  const child = spawn(process.execPath, ['--import', 'tsx', childEntry, mode], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<{ url: string; dir: string }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(JSON.parse(stdout) as { url: string; dir: string });
    });
    void exited.then(({ code }) => reject(new Error(`child exited (${code}): ${stderr}`)));
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { started, exited, kill: (signal: NodeJS.Signals) => child.kill(signal) };
}

/** A table of its own on the primary, so no test depends on another's rows. */
async function freshTable(): Promise<string> {
  const table = `probe_${randomBytes(4).toString('hex')}`;
  await withClient(primary.url('agate'), (c) =>
    c.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text NOT NULL)`),
  );
  return table;
}

async function notes(url: string, table: string): Promise<string[]> {
  const { rows } = await withClient(url, (c) =>
    c.query<{ note: string }>(`SELECT note FROM ${table} ORDER BY id`),
  );
  return rows.map((r) => r.note);
}

describe('PostgreSQL servers started by a test', () => {
  it('accepts a connection as root on its own port and answers SELECT 1', async () => {
    expect(primary.port).not.toBe(5432);
    const row = await withClient(primary.url('postgres'), async (c) => {
      const r = await c.query<{ one: number; who: string; data: string }>(
        'SELECT 1 AS one, current_user AS who, current_setting($1) AS data',
        ['data_directory'],
      );
      return r.rows[0];
    });
    expect(row).toEqual({ one: 1, who: 'root', data: `${primary.dir}/data` });
  });

  it('runs the migrations on a database there', async () => {
    const client = createClient({ connectionString: primary.url('agate') });
    await client.connect();
    try {
      const report = await migrate(client);
      expect(report.applied.length).toBeGreaterThan(0);
      const status = await schemaStatus(client);
      expect(status.pending).toEqual([]);
      expect(status.applied).toBe(status.expected);
    } finally {
      await client.end();
    }
  });

  it('runs a replica in recovery that shows rows written on the primary and refuses writes', async () => {
    const inRecovery = (url: string) =>
      withClient(url, (c) => c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).then(
        (result) => result.rows[0]?.r,
      );
    expect(await inRecovery(replica.url('agate'))).toBe(true);
    expect(await inRecovery(primary.url('agate'))).toBe(false);

    const table = await freshTable();
    await withClient(primary.url('agate'), (c) =>
      c.query(`INSERT INTO ${table} VALUES (1, 'written on the primary')`),
    );
    await replica.caughtUp(10_000);
    expect(await notes(replica.url('agate'), table)).toEqual(['written on the primary']);

    const write = withClient(replica.url('agate'), (c) =>
      c.query(`INSERT INTO ${table} VALUES (2, 'written on the replica')`),
    );
    await expect(write).rejects.toMatchObject({ code: '25006' });
  });

  it('starts a killed replica again, and it catches up with what was written meanwhile', async () => {
    const table = await freshTable();
    await replica.caughtUp(10_000);
    await replica.kill();
    expect(await connectError(replica.url('agate'))).toMatchObject({ code: 'ECONNREFUSED' });
    expect(existsSync(replica.dir)).toBe(true);

    await withClient(primary.url('agate'), (c) =>
      c.query(`INSERT INTO ${table} VALUES (1, 'written while the replica was down')`),
    );
    await replica.start();
    await replica.caughtUp(10_000);
    expect(await notes(replica.url('agate'), table)).toEqual([
      'written while the replica was down',
    ]);
  });

  it('says what failed, with the end of the server log, when a server cannot start', async () => {
    await replica.kill();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(replica.port, '127.0.0.1', resolve));
    try {
      await expect(replica.start()).rejects.toThrow(
        /^replica: start failed: [\s\S]*--- last lines of .*server\.log ---\n[\s\S]*Address already in use/,
      );
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    await replica.start();
    await replica.caughtUp(10_000);
  });

  it('says how far the replica got when it does not reach an LSN in time', async () => {
    await expect(replica.waitFor('FFFFFFFF/0', 100)).rejects.toThrow(
      /had replayed WAL up to [0-9A-F]+\/[0-9A-F]+, not FFFFFFFF\/0, after 100 ms\n--- last lines of .*server\.log ---/,
    );
  });

  it('refuses connections and is gone from disk after stop(), and a second stop() does nothing', async () => {
    const server = await startPostgres({ name: 'stopped' });
    expect(await connectError(server.url('postgres'))).toBeUndefined();
    await server.stop();
    expect(await connectError(server.url('postgres'))).toMatchObject({ code: 'ECONNREFUSED' });
    expect(existsSync(server.dir)).toBe(false);
    await expect(server.stop()).resolves.toBeUndefined();
    await expect(server.start()).rejects.toThrow(/its directory is gone; start a new server/);
  });

  it('stops the servers a process left running when it exits or is sent SIGTERM', async () => {
    const exiting = serverChild('exit');
    const waiting = serverChild('wait');
    const [exitedServer, waitingServer] = await Promise.all([exiting.started, waiting.started]);
    expect(await exiting.exited).toEqual({ code: 0, signal: null });
    expect(await connectError(waitingServer.url)).toBeUndefined();
    waiting.kill('SIGTERM');
    expect(await waiting.exited).toEqual({ code: null, signal: 'SIGTERM' });
    for (const server of [exitedServer, waitingServer]) {
      expect(await connectError(server.url)).toMatchObject({ code: 'ECONNREFUSED' });
      expect(existsSync(server.dir)).toBe(false);
    }
  });
});
