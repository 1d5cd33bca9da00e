import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { feedEventJson } from '../api/index.js';
import type { Pool } from '../db/index.js';
import {
  feedNow,
  feedStart,
  formatFeedPosition,
  parseFeedPosition,
  readFeed,
} from '../events/index.js';
import type { FeedEvent, FeedPosition } from '../events/index.js';
import { isAgateError } from '../errors/index.js';
import { tenantArgument, wholeNumberArgument } from './cli-arguments.js';
import { openAgateFor } from './open-agate.js';

type From = 'start' | 'now' | FeedPosition;

type TailFlags = {
  tenant: string;
  from: From;
  types?: string[];
  session?: string;
  follow?: boolean;
  json?: boolean;
  pageSize: number;
};

const idlePollMs = 200;
const heldPollMs = 20;

function fromArgument(value: string): From {
  if (value === 'start' || value === 'now') return value;
  try {
    return parseFeedPosition(value, '--from');
  } catch (error) {
    if (isAgateError(error)) {
      throw new InvalidArgumentError(`--from takes start, now or a position: ${error.message}`);
    }
    throw error;
  }
}

function typesArgument(value: string): string[] {
  const types = value.split(',').map((t) => t.trim());
  if (types.some((t) => t === '')) {
    throw new InvalidArgumentError(
      `--types must list event types separated by commas, got "${value}".`,
    );
  }
  return types;
}

function describeEvent(event: FeedEvent): string {
  return [
    formatFeedPosition(event.position),
    event.sessionId,
    String(event.sequence).padStart(6),
    `${event.type} v${event.version}`,
    event.serverTime.toISOString(),
  ].join('  ');
}

/** Writes one line, waiting when stdout is a slow pipe rather than buffering the whole feed. */
async function printLine(line: string): Promise<void> {
  if (process.stdout.write(`${line}\n`)) return;
  await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}

/**
 * Prints the tenant's feed from `from`, page by page (one short transaction each), read as
 * agate_analyst. Without --follow it stops at the first empty page; with it, it waits for more
 * until SIGINT or SIGTERM.
 */
async function tail(pool: Pool, flags: TailFlags, signal: AbortSignal): Promise<void> {
  let after =
    flags.from === 'start' ? feedStart : flags.from === 'now' ? await feedNow(pool) : flags.from;
  while (!signal.aborted) {
    const page = await readFeed(
      { pool },
      {
        tenantId: flags.tenant,
        role: 'agate_analyst',
        after,
        limit: flags.pageSize,
        types: flags.types ?? null,
        sessionId: flags.session ?? null,
      },
    );
    for (const event of page.events) {
      await printLine(
        flags.json === true ? JSON.stringify(feedEventJson(event)) : describeEvent(event),
      );
      after = event.position;
    }
    if (page.events.length > 0) continue;
    if (flags.follow !== true) {
      if (page.held) {
        console.error(
          'agate: more committed events wait behind a transaction still open; run again (or with --follow) to get them.',
        );
      }
      return;
    }
    await sleep(page.held ? heldPollMs : idlePollMs, undefined, { signal }).catch(() => undefined);
  }
}

export function addFeedCommands(program: Command): void {
  const group = program
    .command('feed')
    .description("a tenant's feed: every committed event in one order");
  group
    .command('tail')
    .description(
      "print the tenant's feed (DATABASE_URL, else the embedded database); with --follow, keep printing new events until SIGINT or SIGTERM",
    )
    .requiredOption('--tenant <id>', 'the tenant (a UUID)', tenantArgument)
    .option(
      '--from <start|now|position>',
      'start at the beginning, at now (events committed from now on), or after a position the feed printed',
      fromArgument,
      'start' as From,
    )
    .option('--types <a,b>', 'only these event types, comma-separated', typesArgument)
    .option('--session <id>', "only this session's events")
    .option('--follow', 'keep waiting for new events')
    .option('--json', 'print one JSON object per event (NDJSON), as GET /v1/feed sends them')
    .option(
      '--page-size <n>',
      'events per read, 1 to 1000',
      wholeNumberArgument('--page-size', 1, 1000),
      500,
    )
    .action(async (flags: TailFlags) => {
      const { agate, close } = await openAgateFor(process.env, flags.tenant, { inline: true });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await tail(agate.pool, flags, stop.signal);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await close();
      }
    });
}
