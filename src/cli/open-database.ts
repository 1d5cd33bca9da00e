import { join } from 'node:path';
import { migrate, openEmbeddedPool } from '../db/index.js';
import type { EmbeddedPool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { requireDatabaseUrl } from './database-url.js';

/** Where a command's data is: PostgreSQL at DATABASE_URL, or the embedded database. */
export type DatabaseTarget = {
  /** DATABASE_URL, or the embedded database's `pglite:` URL (valid in this process only). */
  url: string;
  /** The open embedded database, when DATABASE_URL is not set; null on a server. */
  embedded: EmbeddedPool | null;
  /** What to say about where the data is, for humans. */
  where: string;
  close(): Promise<void>;
};

/** The folder the embedded database lives in, under the working directory. */
export const embeddedDir = '.agate';

/** AGATE_EMBEDDED=memory (or `--memory`): the embedded database in memory, gone on exit. */
export function embeddedInMemory(env: NodeJS.ProcessEnv): boolean {
  return env.AGATE_EMBEDDED?.trim() === 'memory';
}

/**
 * DATABASE_URL when it is set; otherwise PGlite in this process (data under `.agate/` in the
 * working directory, or in memory), migrated on open so that it needs no setup.
 */
export async function openDatabase(env: NodeJS.ProcessEnv): Promise<DatabaseTarget> {
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL.trim() !== '') {
    const url = requireDatabaseUrl(env);
    const shown = new URL(url);
    return {
      url,
      embedded: null,
      where: `PostgreSQL at ${shown.host}${shown.pathname}`,
      close: () => Promise.resolve(),
    };
  }
  const memory = embeddedInMemory(env);
  const dataDir = memory ? undefined : join(process.cwd(), embeddedDir);
  const embedded = await openEmbeddedPool(dataDir === undefined ? {} : { dataDir });
  try {
    const client = await embedded.connectClient();
    try {
      await migrate(client);
    } finally {
      await client.end();
    }
  } catch (error) {
    await embedded.close();
    throw error;
  }
  return {
    url: embedded.url,
    embedded,
    where: memory
      ? 'the embedded database, in memory (DATABASE_URL is not set)'
      : `the embedded database in ${embeddedDir}/ (DATABASE_URL is not set)`,
    close: () => embedded.close(),
  };
}

/** For commands other processes must reach (worker): the embedded database is this process's only. */
export function requireServerDatabase(env: NodeJS.ProcessEnv, command: string): void {
  if (env.DATABASE_URL === undefined || env.DATABASE_URL.trim() === '') {
    throw new AgateError(
      'invalid_request',
      `agate ${command} needs PostgreSQL: set DATABASE_URL, for example DATABASE_URL=postgres://postgres@127.0.0.1:5432/agate (the embedded database lives inside one process).`,
    );
  }
}
