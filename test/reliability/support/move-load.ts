// The load of tenant-move-load.test.ts: writers through the typed client, spread over several
// `agate serve` processes, each appending to a session of its own with explicit event ids, and
// one external reader of a tenant's feed. Every acknowledged event id is kept, with its tenant
// and session, and every append's start and end, so that the longest append during a move can be
// read afterwards.
import { setTimeout as pause } from 'node:timers/promises';
import { uuidv7 } from 'uuidv7';
import { AgateClient, isAgateClientError } from '../../../src/client/index.js';
import type { NewEvent } from '../../../src/client/index.js';

export type Ack = { tenantId: string; sessionId: string };
export type WriterTenant = { id: string; key: string };
export type Span = { start: number; end: number };

export type MoveLoad = {
  /** Event id -> where it was acknowledged. */
  acked: Map<string, Ack>;
  /** Error code -> appends that failed with it, after the client's retries. */
  errors: Map<string, number>;
  /** Every session written, with its tenant. */
  sessions: Ack[];
  /** Event ids the feed reader received, in order. */
  received: string[];
  /** What ended the feed reader, when something did before `stop`. */
  readerError(): unknown;
  /** Resolves once `n` more events of `tenantId` were acknowledged (bounded). */
  moreAcks(tenantId: string, n: number): Promise<void>;
  /** The longest acknowledged append that overlapped one of `spans`, in ms. */
  longestDuring(spans: readonly Span[]): number;
  /** Stops the writers; then waits until the reader received every acknowledged event of its tenant, and stops it. */
  stop(): Promise<void>;
};

/** Eight events a day of archive-gate: a day boundary (a snapshot) every eighth. */
function eventAt(k: number): NewEvent {
  const at = k % 8;
  if (at === 0) return { eventId: uuidv7(), type: 'day.started', version: 1, data: {} };
  if (at === 7) return { eventId: uuidv7(), type: 'day.ended', version: 1, data: {} };
  return {
    eventId: uuidv7(),
    type: 'request.investigated',
    version: 1,
    data: { requestId: `r${k}` },
  };
}

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(20);
  }
}

/**
 * Starts `writers` writers, writer w on tenant `tenants[w % tenants.length]` through
 * `urls[w % urls.length]`, and a reader of `read.tenant`'s feed through `read.url`.
 */
export async function startMoveLoad(input: {
  urls: readonly string[];
  tenants: readonly WriterTenant[];
  writers: number;
  /** A pause after each append (a game server's pace); 0: append again at once. */
  pauseMs: number;
  read: { url: string; key: string; tenantId: string };
}): Promise<MoveLoad> {
  const { urls, tenants } = input;
  const client = (url: string, key: string) =>
    // Up to 30 retries: a 503 tenant_moving names Retry-After 1 s; a move's switch never takes that long.
    new AgateClient({ baseUrl: url, apiKey: key, retries: 30, backoffMs: 20 });
  const acked = new Map<string, Ack>();
  const perTenant = new Map<string, number>();
  const errors = new Map<string, number>();
  const appends: Span[] = [];
  const sessions: Ack[] = [];
  let stopped = false;

  const plans = await Promise.all(
    Array.from({ length: input.writers }, async (_, w) => {
      const tenant = tenants[w % tenants.length] as WriterTenant;
      const writer = client(urls[w % urls.length] as string, tenant.key);
      const created = await writer.createSession({ rules: 'archive-gate' });
      const ack = { tenantId: tenant.id, sessionId: created.id };
      sessions.push(ack);
      return { writer, ack };
    }),
  );
  const writing = plans.map(async ({ writer, ack }) => {
    for (let k = 0; !stopped; k += 2) {
      const batch = [eventAt(k), eventAt(k + 1)];
      const start = performance.now();
      try {
        const result = await writer.append(ack.sessionId, batch);
        appends.push({ start, end: performance.now() });
        for (const e of result.events) acked.set(e.eventId, ack);
        perTenant.set(ack.tenantId, (perTenant.get(ack.tenantId) ?? 0) + result.events.length);
      } catch (error) {
        const code = isAgateClientError(error) ? error.code : String(error);
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
      if (input.pauseMs > 0) await pause(input.pauseMs);
    }
  });

  const received: string[] = [];
  let readerError: unknown;
  const controller = new AbortController();
  const reader = (async () => {
    const feed = client(input.read.url, input.read.key).feed({
      signal: controller.signal,
      pageSize: 500,
      idleMs: 50,
    });
    try {
      for await (const event of feed) received.push(event.eventId);
    } catch (error) {
      readerError = error;
    }
  })();

  const countOf = (tenantId: string) => perTenant.get(tenantId) ?? 0;
  return {
    acked,
    errors,
    sessions,
    received,
    readerError: () => readerError,
    async moreAcks(tenantId, n) {
      const target = countOf(tenantId) + n;
      await waitFor(`${n} more acknowledged events of tenant ${tenantId}`, () => {
        if (errors.size > 0) throw new Error(`appends failed: ${JSON.stringify([...errors])}`);
        return countOf(tenantId) >= target;
      });
    },
    longestDuring(spans) {
      let longest = 0;
      for (const a of appends) {
        if (spans.some((s) => a.start < s.end && a.end > s.start)) {
          longest = Math.max(longest, a.end - a.start);
        }
      }
      return Math.round(longest);
    },
    async stop() {
      stopped = true;
      await Promise.all(writing);
      const expected = countOf(input.read.tenantId);
      await waitFor(
        `the feed reader to receive all ${expected} acknowledged events`,
        () => readerError !== undefined || received.length >= expected,
      );
      controller.abort();
      await reader;
    },
  };
}
