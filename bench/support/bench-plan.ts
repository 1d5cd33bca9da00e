// How big each part of the bench is, in full and in --quick mode. The full sizes are the issue's
// (1,000 sessions, ~200-byte payloads, 8 and 32 clients, two runs, medians); quick mode keeps
// every check and shrinks everything else so that the whole bench is a one-to-two-minute smoke.
import type { AppendOptions } from './append-section.js';
import type { BenchArgs } from './bench-args.js';
import type { FeedOptions } from './feed-section.js';
import type { ImportOptions } from './import-section.js';
import type { NightlyOptions } from './nightly-section.js';
import type { ReplayOptions } from './replay-section.js';
import type { VerdictsOptions } from './verdicts-section.js';
import { scenarios } from './scenarios.js';

/** Positive whole numbers from a comma-separated environment variable (none when unset). */
function envNumbers(name: string): number[] {
  const value = process.env[name]?.trim() ?? '';
  if (value === '') return [];
  const numbers = value.split(',').map(Number);
  if (numbers.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new Error(
      `${name} must be positive whole numbers separated by commas; it is "${value}".`,
    );
  }
  return numbers;
}

function listOr(list: number[], fallback: number[]): number[] {
  return list.length === 0 ? fallback : list;
}

/**
 * The append rows quick mode runs unless --only names others: one of each kind (the minimal
 * baselines, the HTTP floor, the library, HTTP without Redis, with Redis and worker, many sessions per request),
 * so that the smoke run checks every path without starting a server for every row.
 */
const quickAppendRows = [
  'minimal-1',
  'minimal-10',
  'http-floor-1',
  'library-10',
  'http-10',
  'http-redis-1',
  'http-redis-many',
];

function listOrIds(list: string[], fallback: string[]): string[] {
  return list.length === 0 ? fallback : list;
}

export function appendOptions(args: BenchArgs): AppendOptions {
  const ids = new Set(scenarios.map((s) => s.id));
  return {
    adminUrl: args.adminUrl,
    redisUrl: args.redisUrl,
    only: listOrIds(
      args.only.filter((id) => ids.has(id)),
      args.quick ? quickAppendRows : [],
    ),
    // Issue 18: windows of at least 60 s, one run each (15 scenarios x 2 client counts).
    durationMs: envNumbers('AGATE_BENCH_WINDOW_MS')[0] ?? (args.quick ? 1_000 : 60_000),
    repeats: 1,
    clientCounts: listOr(envNumbers('AGATE_BENCH_CLIENTS'), args.quick ? [8] : [8, 32]),
    sessions: args.quick ? 100 : 1_000,
    drainTimeoutMs: 30_000,
  };
}

export function importOptions(args: BenchArgs): ImportOptions {
  return {
    adminUrl: args.adminUrl,
    sessions: args.quick ? 100 : 1_000,
    eventsPerSession: args.quick ? 50 : 200,
    payloadChars: 200,
    clientCounts: args.quick ? [8] : [8, 32],
    repeats: args.quick ? 1 : 2,
  };
}

export function replayOptions(args: BenchArgs): ReplayOptions {
  const bigSession = args.quick ? 10_000 : 100_000;
  return {
    adminUrl: args.adminUrl,
    foldEvents: 5_000,
    foldDurationMs: args.quick ? 1_000 : 3_000,
    foldWarmupMs: args.quick ? 200 : 500,
    bigSession,
    sessionSizes: [...new Set([1_000, 10_000, bigSession])],
    tail: 37,
    warmups: args.quick ? 3 : 5,
    samples: args.quick ? 20 : 50,
    genesisRuns: args.quick ? 1 : 3,
  };
}

export function verdictsOptions(args: BenchArgs): VerdictsOptions {
  return {
    adminUrl: args.adminUrl,
    lengths: args.quick ? [1_000, 5_000] : [1_000, 100_000],
    batchSizes: [1, 10],
    samples: args.quick ? 25 : 200,
    warmups: args.quick ? 3 : 20,
  };
}

export function nightlyOptions(args: BenchArgs): NightlyOptions {
  return {
    adminUrl: args.adminUrl,
    redisUrl: args.redisUrl,
    sessions: args.quick ? 200 : 10_000,
    events: { min: 15, max: 25 },
    workerConcurrency: 2,
    waitTimeoutMs: args.quick ? 120_000 : 900_000,
    hotSessions: args.quick ? 20 : 200,
    hotEvents: { min: 115, max: 125 },
    hotBatch: 10,
    warmups: 5,
    calls: args.quick ? 100 : 500,
  };
}

export function feedOptions(args: BenchArgs): FeedOptions {
  return {
    adminUrl: args.adminUrl,
    redisUrl: args.redisUrl,
    // 1,000,000 events (quick: 20,000) of bot-played sessions, 100 events per append.
    fill: {
      sessions: args.quick ? 40 : 2_000,
      eventsPerSession: 500,
      batch: 100,
      clients: 8,
    },
    catchUpRuns: args.quick ? 1 : 2,
    horizonTimeoutMs: 600_000,
    // Quick mode has 8 writers, as the append part's quick mode has 8 clients: the smoke run
    // shares the server with the test suite, whose max_connections (100) 32 writers and their
    // consumers would crowd.
    live: {
      writers: args.quick ? 8 : 32,
      durationMs: args.quick ? 2_000 : 10_000,
      sessionEvents: 200,
      runs: args.quick ? 1 : 2,
      catchUpTimeoutMs: 120_000,
    },
  };
}
