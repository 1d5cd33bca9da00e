import pg from 'pg';
import { embeddedClientFor } from './embedded-registry.js';
import { fromPgError } from './pg-errors.js';
import { agateTypes } from './pg-types.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs one statement: a pool (autocommit) or a client (maybe inside a transaction). */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export type PoolOptions = {
  connectionString: string;
  /** Connections in the pool (default 10). */
  max?: number;
  /** Server-side limit for one statement, sent at connect (default 10 s). */
  statementTimeoutMs?: number;
  applicationName?: string;
  /** Called when an idle connection fails; the pool has already dropped it. */
  onIdleError?: (error: Error) => void;
};

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'agate',
    types: agateTypes,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  // pg-pool listens for a client's errors only while it is idle or inside pool.query, and only
  // once; a connection lost at any other moment (a terminated backend mid-transaction, or an
  // error after a first one) would be an uncaught 'error' that ends the process. The query in
  // flight rejects on its own and the pool drops the broken client; this listener only keeps the
  // event from being unhandled.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/**
 * A single connection with the same settings, for work that needs its own session. An embedded
 * database's URL (`pglite:…`, from openEmbeddedPool) gives a client of that database.
 */
export function createClient(options: Omit<PoolOptions, 'max' | 'onIdleError'>): pg.Client {
  const embedded = embeddedClientFor(options.connectionString);
  if (embedded !== undefined) return embedded;
  return new pg.Client({
    connectionString: options.connectionString,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'agate',
    types: agateTypes,
  });
}

/** A dedicated connection, connected; a failure to connect becomes an AgateError that names the fix. */
export async function connectClient(
  options: Omit<PoolOptions, 'max' | 'onIdleError'>,
): Promise<pg.Client> {
  const client = createClient(options);
  // Without a listener a lost connection (a terminated backend) would be an uncaught 'error'
  // that ends the process; the next query on the client fails instead, and that is reported.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw fromPgError(error);
  }
  return client;
}
