import { createPool } from '../db/index.js';
import { defaultGames } from '../game/index.js';
import { createAgate } from '../runtime/index.js';
import type { Agate } from '../runtime/index.js';
import { requireDatabaseUrl } from './database-url.js';

/** The store, replay and snapshots on DATABASE_URL, for commands that work on sessions. */
export function openAgate(env: NodeJS.ProcessEnv): {
  agate: Agate;
  url: string;
  close: () => Promise<void>;
} {
  const url = requireDatabaseUrl(env);
  const pool = createPool({ connectionString: url, applicationName: 'agate cli' });
  return { agate: createAgate({ pool, games: defaultGames }), url, close: () => pool.end() };
}
