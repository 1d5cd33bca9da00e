// One measurement of the replay bench, alone in its process so that its peak RSS is its own.
// Usage (compiled by compileChild in run-child.ts): node replay-child.js <agate-genesis|raw-read> <url> <tenant> <session>
// Prints one JSON line (see ChildResult in run-child.ts).
import { readFileSync } from 'node:fs';
import { createClient, createPool } from '../../src/db/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { childModes } from './run-child.js';
import type { ChildArgs, ChildMode, ChildResult } from './run-child.js';

type Work = { events: number; stateHash: string | null };

const rawPageSize = 1_000;

/** The plain baseline: the columns replay needs, in sequence order, keyset pages, as the owner. */
const rawPageSql = `
  SELECT event_id, sequence, event_type, event_version, event_data, client_time, server_time, hash
    FROM game.events
   WHERE session_id = $1 AND sequence > $2
   ORDER BY sequence
   LIMIT $3`;

type RawRow = {
  event_id: string;
  sequence: number;
  event_type: string;
  event_version: number;
  event_data: Record<string, unknown>;
  client_time: Date | null;
  server_time: Date;
  hash: Buffer;
};

function parseArgs(argv: readonly string[]): ChildArgs {
  const [mode, url, tenantId, sessionId, ...rest] = argv;
  const known = childModes.find((m) => m === mode);
  if (known === undefined || !url || !tenantId || !sessionId || rest.length > 0) {
    throw new Error(
      `Usage: replay-child.ts <${childModes.join('|')}> <database url> <tenant id> <session id>; got ${argv.join(' ')}`,
    );
  }
  return { mode: known, url, tenantId, sessionId };
}

/**
 * This process's peak resident set, in MB: VmHWM from /proc where there is one. Not
 * `resourceUsage().maxRSS`: Linux carries the high-water mark across fork and exec, so a child
 * of a large parent (the whole bench) reports the parent's size before doing anything.
 */
function maxRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kb !== undefined) return Number(kb) / 1024;
  } catch {
    // No /proc (not Linux): fall back to getrusage.
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function timed(mode: ChildMode, work: () => Promise<Work>): Promise<ChildResult> {
  const baseRssMb = maxRssMb();
  const t0 = performance.now();
  const done = await work();
  const ms = performance.now() - t0;
  return {
    mode,
    ms,
    events: done.events,
    maxRssMb: maxRssMb(),
    baseRssMb,
    stateHash: done.stateHash,
  };
}

async function agateGenesis(args: ChildArgs): Promise<ChildResult> {
  const pool = createPool({ connectionString: args.url, max: 2, applicationName: 'agate-bench' });
  try {
    await pool.query('SELECT 1');
    const agate = createAgate({ pool, games: defaultGames, consumers: false });
    return await timed(args.mode, async () => {
      const result = await agate.replay({
        tenantId: args.tenantId,
        sessionId: args.sessionId,
        from: 'genesis',
      });
      return { events: result.eventsReplayed, stateHash: result.stateHash };
    });
  } finally {
    await pool.end();
  }
}

async function rawRead(args: ChildArgs): Promise<ChildResult> {
  const client = createClient({ connectionString: args.url, applicationName: 'agate-bench-raw' });
  await client.connect();
  try {
    await client.query('SELECT 1');
    return await timed(args.mode, async () => {
      let after = 0;
      let events = 0;
      for (;;) {
        const page = await client.query<RawRow>(rawPageSql, [args.sessionId, after, rawPageSize]);
        events += page.rows.length;
        const last = page.rows.at(-1);
        if (last === undefined || page.rows.length < rawPageSize) break;
        after = last.sequence;
      }
      return { events, stateHash: null };
    });
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let result: ChildResult;
  switch (args.mode) {
    case 'agate-genesis':
      result = await agateGenesis(args);
      break;
    case 'raw-read':
      result = await rawRead(args);
      break;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
