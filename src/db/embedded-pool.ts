import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { AgateError } from '../errors/index.js';
import { abandonTransaction, embeddedClientClass } from './embedded-client.js';
import { createSessionGate } from './embedded-gate.js';
import { registerEmbedded } from './embedded-registry.js';

export type EmbeddedPoolOptions = {
  /** Where PGlite keeps its files; leave it out for a database in memory, gone on close. */
  dataDir?: string;
  /** Client objects the pool keeps (default 10). The session runs one transaction at a time regardless. */
  max?: number;
  /** How long a statement waits for the session before failing with `timeout` (default 60 s; 0 = forever). */
  waitTimeoutMs?: number;
};

/** A node-postgres pool on an in-process PGlite. `end()` and `close()` both close the database. */
export type EmbeddedPool = pg.Pool & {
  /** Names this database to `embeddedClientFor` (for code that opens its own session from a URL). */
  readonly url: string;
  readonly pglite: PGlite;
  /** A dedicated, connected client (what `connectClient` gives on a server), e.g. for `migrate`. */
  connectClient(): Promise<pg.Client>;
  close(): Promise<void>;
};

async function createPglite(dataDir: string | undefined): Promise<PGlite> {
  try {
    return await PGlite.create(dataDir);
  } catch (error) {
    const where = dataDir === undefined ? 'in memory' : `in ${dataDir}`;
    throw new AgateError(
      'unavailable',
      `Cannot open the embedded database ${where}: ${error instanceof Error ? error.message : String(error)}. Check that the folder is writable and no other process has it open.`,
      { cause: error },
    );
  }
}

/**
 * Opens PGlite (PostgreSQL 18 in WASM) behind a real `pg.Pool` whose clients speak to it through
 * PGlite's wire-protocol shim, so agate's code runs on it unchanged. PGlite has one session, so
 * work is serialised: one transaction (or autocommit statement) at a time, clients queueing for
 * the session, not for their whole checkout. Consequences of the one session:
 * - session-level advisory locks are re-entrant and never refuse: a second concurrent nightly run
 *   or partition maintenance is not turned away, and `migrate` must not run twice at once;
 * - a locked client's disconnect does not free its advisory locks (nothing waits on them anyway);
 * - a transaction that waits on another client's transaction cannot finish (it times out);
 * - startup settings (statement_timeout, application_name) are not applied; `SET LOCAL` works.
 */
export async function openEmbeddedPool(options: EmbeddedPoolOptions = {}): Promise<EmbeddedPool> {
  const pglite = await createPglite(options.dataDir);
  const Client = embeddedClientClass(pglite, createSessionGate(options.waitTimeoutMs ?? 60_000));
  const pool = new pg.Pool({ Client, max: options.max ?? 10 });
  pool.on('release', (_error, client) => {
    if (client.getTransactionStatus() !== 'I') abandonTransaction(client);
  });
  const { url, forget } = registerEmbedded(options.dataDir, () => new Client());
  const endPool: () => Promise<void> = pool.end.bind(pool);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      forget();
      await endPool();
      await pglite.close();
    })());
  pool.end = ((callback?: (error?: unknown) => void) => {
    if (callback === undefined) return close();
    close().then(() => callback(), callback);
    return undefined;
  }) as typeof pool.end;
  const connectClient = async (): Promise<pg.Client> => {
    const client = new Client();
    await client.connect();
    return client;
  };
  return Object.assign(pool, { url, pglite, connectClient, close });
}
