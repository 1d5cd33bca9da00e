import type pg from 'pg';
import { AgateError } from '../errors/index.js';

/**
 * Open embedded databases by the connection string their pool reports (`pool.url`). Code that
 * takes a connection string to open its own session (the migrator CLI, partition maintenance,
 * the nightly lock) finds them here; this file imports nothing from `pool.ts`, so `pool.ts` can
 * import it.
 */
const open = new Map<string, () => pg.Client>();
let opened = 0;

/** Registers a new embedded database; returns its connection string and the way to forget it. */
export function registerEmbedded(
  dataDir: string | undefined,
  newClient: () => pg.Client,
): { url: string; forget: () => void } {
  opened += 1;
  const url = `pglite:${dataDir ?? 'memory'}#${opened}`;
  open.set(url, newClient);
  return { url, forget: () => open.delete(url) };
}

/**
 * A new, unconnected client of the embedded database `connectionString` names; undefined for
 * any other connection string.
 */
export function embeddedClientFor(connectionString: string): pg.Client | undefined {
  if (!connectionString.startsWith('pglite:')) return undefined;
  const newClient = open.get(connectionString);
  if (newClient === undefined) {
    throw new AgateError(
      'unavailable',
      `The embedded database ${connectionString} is not open in this process (it was closed, or the URL comes from another process): open it with openEmbeddedPool and pass its pool.url.`,
    );
  }
  return newClient();
}
