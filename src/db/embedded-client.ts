import type { PGlite } from '@electric-sql/pglite';
import { PglitePgConnection } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';
import { AgateError } from '../errors/index.js';
import { createLane } from './embedded-gate.js';
import { agateTypes } from './pg-types.js';
import type { Lane, SessionGate } from './embedded-gate.js';

type Callback = (error: unknown, result?: unknown) => void;
type RawQuery = (...args: unknown[]) => Promise<unknown>;

function isSubmittable(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { submit?: unknown }).submit === 'function'
  );
}

/** Splits a node-postgres call into its promise form and the callback it was given, if any. */
function promiseForm(args: unknown[]): { args: unknown[]; callback: Callback | undefined } {
  const [first] = args;
  if (isSubmittable(first)) {
    throw new AgateError(
      'internal',
      'The embedded database runs plain queries only; cursors and streams (Submittable) are not supported: read in pages instead.',
    );
  }
  const last = args.at(-1);
  if (typeof last === 'function') return { args: args.slice(0, -1), callback: last as Callback };
  const config = first as { callback?: unknown } | undefined;
  if (typeof config === 'object' && config !== null && typeof config.callback === 'function') {
    const { callback, ...rest } = config;
    return { args: [rest, ...args.slice(1)], callback: callback as Callback };
  }
  return { args, callback: undefined };
}

function guardedQuery(lane: Lane, raw: RawQuery): (...args: unknown[]) => unknown {
  return (...given: unknown[]) => {
    const { args, callback } = promiseForm(given);
    const result = lane.run(() => raw(...args));
    if (callback === undefined) return result;
    result.then(
      (value) => callback(null, value),
      (error: unknown) => callback(error),
    );
    return undefined;
  };
}

const lanes = new WeakMap<pg.Client, { lane: Lane; rollback: () => Promise<unknown> }>();

/**
 * Puts `client` behind the gate: each statement waits for the shared session, and a client that
 * opens a transaction (BEGIN, in any form) keeps the session until the server reports it idle
 * again (COMMIT/ROLLBACK). Ending the client rolls back what it left open, as a disconnect would.
 */
function guard(client: pg.Client, gate: SessionGate): void {
  const idle = () => {
    const status = client.getTransactionStatus();
    return status === null || status === 'I';
  };
  const lane = createLane(gate, client, idle);
  const raw = client.query.bind(client) as RawQuery;
  const end: () => Promise<void> = client.end.bind(client);
  const rollback = () => raw('ROLLBACK');
  lanes.set(client, { lane, rollback });
  client.query = guardedQuery(lane, raw) as typeof client.query;
  client.end = ((callback?: (error?: unknown) => void) => {
    const ended = lane.abandon(rollback).then(end);
    if (callback === undefined) return ended;
    ended.then(() => callback(), callback);
    return undefined;
  }) as typeof client.end;
}

/**
 * For a client going back to the pool with a transaction still open (a caller's bug): roll it
 * back, or the whole embedded database would wait for it forever.
 */
export function abandonTransaction(client: pg.Client): void {
  const entry = lanes.get(client);
  if (entry === undefined) return;
  entry.lane.abandon(entry.rollback).catch(() => undefined);
}

/**
 * PGlite's shim, with one fix: node-postgres passes a query's `types` (its parser overrides, as
 * Drizzle sets them) to Parse as if they were parameter type OIDs; pg's own serializer ignores a
 * non-array there, the shim's throws and leaves the client waiting forever.
 */
function pgliteConnection(pglite: PGlite): PglitePgConnection {
  const connection = new PglitePgConnection({ pglite });
  const parse = connection.parse.bind(connection);
  connection.parse = (query: { types?: unknown }) =>
    parse(Array.isArray(query.types) ? query : { ...query, types: undefined });
  return connection;
}

/**
 * node-postgres's Client on PGlite's wire-protocol shim, behind `gate`. A class because pg.Pool
 * builds its clients with `new options.Client(...)`; everything else is node-postgres itself, so
 * results, type parsing, multi-statement simple queries and DatabaseError fields are as with a
 * server.
 */
export function embeddedClientClass(pglite: PGlite, gate: SessionGate): typeof pg.Client {
  return class EmbeddedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({
        ...config,
        types: config?.types ?? agateTypes,
        connection: pgliteConnection(pglite),
      } as pg.ClientConfig);
      guard(this, gate);
    }
  };
}
