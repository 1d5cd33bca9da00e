import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Whether a process with this id is running (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite has no locking of its own: two processes on one data directory would corrupt it. The
 * lock file names the process holding it; a lock whose process is gone is taken over.
 */
function lockDirectory(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isSafeInteger(holder) && holder > 0 && alive(holder)) {
        throw new AgateError(
          'unavailable',
          `The embedded database in ${embeddedDir}/ is open in process ${holder} (one process at a time); stop that process, or use --memory, or set DATABASE_URL to use PostgreSQL.`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new AgateError('unavailable', `Could not lock ${dir}; try again.`);
}

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
  const dir = join(process.cwd(), embeddedDir);
  const unlock = memory ? () => undefined : lockDirectory(dir);
  let embedded: EmbeddedPool;
  try {
    embedded = await openEmbeddedPool(memory ? {} : { dataDir: join(dir, 'pgdata') });
  } catch (error) {
    unlock();
    throw error;
  }
  const close = async () => {
    try {
      await embedded.close();
    } finally {
      unlock();
    }
  };
  try {
    const client = await embedded.connectClient();
    try {
      await migrate(client);
    } finally {
      await client.end();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url: embedded.url,
    embedded,
    where: memory
      ? 'the embedded database, in memory (DATABASE_URL is not set)'
      : `the embedded database in ${embeddedDir}/ (DATABASE_URL is not set)`,
    close,
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
