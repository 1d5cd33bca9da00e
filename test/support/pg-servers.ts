import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import {
  logTail,
  newInstance,
  removeInstance,
  restart,
  run,
  startOnFreePort,
  stopInstance,
} from './pg-server-instance.js';
import type { Instance } from './pg-server-instance.js';

/**
 * PostgreSQL servers a test starts for itself (issue 19: tenants on other servers, read
 * replicas): each in a fresh directory under the temp dir, on a free port, run as the `postgres`
 * user when the tests run as root (initdb refuses root). Every server still running when the
 * process exits is stopped (`-m immediate`) and its directory removed, so an aborted run leaves
 * no postgres processes behind.
 */

export type PgServer = {
  port: number;
  /** Holds `data/` (the cluster), `server.log` and the unix socket. */
  dir: string;
  /** `postgres://root@127.0.0.1:PORT/DATABASE`: the `root` superuser, trust auth. */
  url(database: string): string;
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown, then the directory is removed. Idempotent. */
  stop(): Promise<void>;
  /** Immediate shutdown (a crash, as far as the data is concerned); the directory stays. */
  kill(): Promise<void>;
  /** Starts it again after kill(), on the same port and data. */
  start(): Promise<void>;
};

export type PgReplica = Omit<PgServer, 'createDatabase'> & {
  /** Resolves once the replica has replayed WAL up to `lsn`; rejects after `timeoutMs`. */
  waitFor(lsn: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the replica has replayed everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
};

const pollMs = 20;

function urlOf(instance: Instance, user: string, database: string): string {
  return `postgres://${user}@127.0.0.1:${instance.port}/${encodeURIComponent(database)}`;
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function handles(instance: Instance): Omit<PgServer, 'createDatabase'> {
  return {
    port: instance.port,
    dir: instance.dir,
    url: (database) => urlOf(instance, 'root', database),
    stop: () => removeInstance(instance),
    kill: () => stopInstance(instance, 'immediate'),
    start: () => restart(instance),
  };
}

export async function startPostgres(options: { name?: string } = {}): Promise<PgServer> {
  const label = options.name ?? 'primary';
  if (!/^[a-z0-9-]{1,30}$/.test(label)) {
    throw new Error(`startPostgres: name '${label}' must be 1-30 of a-z, 0-9 and '-'`);
  }
  const instance = await newInstance(label);
  try {
    const args = ['-D', instance.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8'];
    await run(instance, 'initdb', 'initdb', [...args, '--no-sync']);
    await appendFile(
      join(instance.data, 'postgresql.conf'),
      [
        '',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${instance.dir}'`,
        'fsync = off',
        'wal_level = replica',
        'max_wal_senders = 5',
        'hot_standby = on',
        'shared_buffers = 32MB',
        'max_connections = 60',
        '',
      ].join('\n'),
    );
    await appendFile(
      join(instance.data, 'pg_hba.conf'),
      '\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n',
    );
    await startOnFreePort(instance);
    await query(urlOf(instance, 'postgres', 'postgres'), 'CREATE ROLE root SUPERUSER LOGIN');
  } catch (error) {
    await removeInstance(instance).catch(() => undefined);
    throw error;
  }
  return {
    ...handles(instance),
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
        throw new Error(`createDatabase: '${name}' must be a lower-case SQL identifier`);
      }
      await query(urlOf(instance, 'root', 'postgres'), `CREATE DATABASE "${name}"`);
    },
  };
}

/** A streaming replica of `primary` (pg_basebackup -R -X stream), hot standby, own port. */
export async function startReplica(primary: PgServer): Promise<PgReplica> {
  const instance = await newInstance('replica');
  try {
    // -c fast: the default spread checkpoint made this take ~90 s on an idle server.
    await run(instance, 'pg_basebackup', 'pg_basebackup', [
      ...['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'],
      ...['-D', instance.data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
    ]);
    await appendFile(
      join(instance.data, 'postgresql.conf'),
      `\nunix_socket_directories = '${instance.dir}'\n`,
    );
    await startOnFreePort(instance);
  } catch (error) {
    await removeInstance(instance).catch(() => undefined);
    throw error;
  }
  const waitFor = async (lsn: string, timeoutMs = 10_000): Promise<void> => {
    const client = new pg.Client({ connectionString: urlOf(instance, 'root', 'postgres') });
    await client.connect();
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const { rows } = await client.query<{ done: boolean; at: string | null }>(
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done, pg_last_wal_replay_lsn()::text AS at',
          [lsn],
        );
        if (rows[0]?.done === true) return;
        if (Date.now() > deadline) {
          const tail = await logTail(instance);
          throw new Error(
            `replica on port ${instance.port} had replayed WAL up to ${rows[0]?.at ?? 'nothing'}, not ${lsn}, after ${timeoutMs} ms\n--- last lines of ${instance.log} ---\n${tail}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    } finally {
      await client.end();
    }
  };
  return {
    ...handles(instance),
    waitFor,
    async caughtUp(timeoutMs) {
      const [row] = await query<{ lsn: string }>(
        primary.url('postgres'),
        'SELECT pg_current_wal_lsn()::text AS lsn',
      );
      if (row === undefined) throw new Error('pg_current_wal_lsn() returned no row');
      await waitFor(row.lsn, timeoutMs);
    },
  };
}
