import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AgateError, isAgateError } from '../errors/index.js';
import { defaultLimits, drawSeed, prepareBatch, shapeBatch } from '../events/index.js';
import { importFixture, isMissingFolder, loadFixtures } from '../fixtures/index.js';
import type { Fixture } from '../fixtures/index.js';
import { createAgate } from '../runtime/index.js';
import type { Agate } from '../runtime/index.js';
import { tenantArgument } from './cli-arguments.js';
import { exitCodes } from './exit-codes.js';
import { openAgateFor } from './open-agate.js';

type ImportedSession = {
  fixture: string;
  sessionId: string;
  events: number;
  stateHash: string;
  /** The replayed state hash equals the fixture's last recorded checkpoint. */
  matchesRecording: boolean;
};

type ImportReport = { tenantId: string; sessions: ImportedSession[]; events: number };

/** Sessions imported side by side; each is one append, so more only queue on the pool. */
const concurrency = 4;

/**
 * An Agate whose batch limit holds the longest fixture: each session's events then go in one
 * append, one transaction, so a session gets all of its events or none of them.
 */
function importingAgate(agate: Agate, fixtures: readonly Fixture[]): Agate {
  const longest = Math.max(...fixtures.map((f) => f.events.length));
  return createAgate({
    pool: agate.pool,
    games: agate.games,
    limits: { maxBatchEvents: Math.max(defaultLimits.maxBatchEvents, longest) },
    // A one-shot command: the sessions' snapshots follow from the feed wherever agate's own
    // consumers run (serve, worker, demo), which resume from their checkpoints.
    consumers: false,
  });
}

/** Everything an append would refuse, checked before anything is written. */
function checkFixture(agate: Agate, fixture: Fixture): void {
  try {
    const rules = agate.games.find(fixture.rules, fixture.rulesVersion);
    if (rules === undefined) {
      throw new AgateError(
        'unknown_rules',
        `it plays ${fixture.rules} v${fixture.rulesVersion}, which this build of agate does not register.`,
      );
    }
    const config = rules.eventTypes.configSchema.safeParse(fixture.config);
    if (!config.success) {
      throw new AgateError('invalid_request', `its config is not valid for ${fixture.rules}.`);
    }
    // A check only, nothing is stored: the recorded seeds are kept, as the import keeps them.
    prepareBatch(rules.eventTypes, shapeBatch(fixture.events, agate.store.deps.limits), {
      seedFor: () => drawSeed(),
      recordedSeeds: true,
    });
  } catch (error) {
    if (!isAgateError(error)) throw error;
    throw new AgateError(
      error.code,
      `Fixture ${fixture.name}: ${error.message} Nothing was imported.`,
      { cause: error },
    );
  }
}

async function importOne(agate: Agate, tenantId: string, f: Fixture): Promise<ImportedSession> {
  const sessionId = await importFixture(agate, tenantId, f, { batchSize: f.events.length });
  const replayed = await agate.replay({ tenantId, sessionId, role: 'agate_analyst' });
  const recorded = f.checkpoints.at(-1)?.stateHash;
  return {
    fixture: f.name,
    sessionId,
    events: f.events.length,
    stateHash: replayed.stateHash,
    matchesRecording: replayed.stateHash === recorded,
  };
}

/**
 * Imports the fixtures a few at a time. After a failure no new fixture starts; the ones under way
 * finish, so the error can name every session that was imported completely.
 */
async function importAll(
  agate: Agate,
  tenantId: string,
  fixtures: readonly Fixture[],
  onProgress: ((done: number, total: number) => void) | undefined,
): Promise<ImportedSession[]> {
  const imported: ImportedSession[] = [];
  let next = 0;
  let failed = false;
  const work = async () => {
    for (let i = next++; i < fixtures.length && !failed; i = next++) {
      try {
        imported.push(await importOne(agate, tenantId, fixtures[i] as Fixture));
      } catch (error) {
        failed = true;
        throw error;
      }
      onProgress?.(imported.length, fixtures.length);
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, fixtures.length) }, work);
  const failure = (await Promise.allSettled(workers)).find((r) => r.status === 'rejected');
  if (failure !== undefined) {
    const error: unknown = failure.reason;
    if (!isAgateError(error)) throw error;
    const done = imported.map((s) => `${s.fixture} ${s.sessionId}`).join(', ') || 'none';
    throw new AgateError(
      error.code,
      `${error.message} Sessions imported completely before the failure: ${done}.`,
      { cause: error, details: error.details },
    );
  }
  const order = new Map(fixtures.map((f, i) => [f.name, i]));
  return imported.sort((a, b) => (order.get(a.fixture) ?? 0) - (order.get(b.fixture) ?? 0));
}

/** The fixtures under `dir`; a folder that is not there is the caller's mistake, said plainly. */
async function fixturesIn(dir: string): Promise<Fixture[]> {
  try {
    return await loadFixtures(dir);
  } catch (error) {
    if (!isMissingFolder(error)) throw error;
    throw new AgateError(
      'invalid_request',
      `${dir} is not a folder; pass a folder of fixture files, for example fixtures/archive-gate-v1.`,
      { cause: error },
    );
  }
}

function describeImport(report: ImportReport, dir: string): string {
  const lines = [
    `Imported ${report.sessions.length} session(s), ${report.events} event(s), from ${dir} into tenant ${report.tenantId}`,
    ...report.sessions.map(
      (s) =>
        `  ${s.fixture.padEnd(32)} ${s.sessionId}  ${String(s.events).padStart(6)} events  ${s.matchesRecording ? 'replays to its recorded hash' : 'DIFFERS from its recorded hash'}`,
    ),
  ];
  return lines.join('\n');
}

function progressLine(done: number, total: number): void {
  process.stderr.write(`\rimporting fixtures ${done}/${total}`);
  if (done === total) process.stderr.write('\n');
}

export function addFixturesCommands(program: Command): void {
  const fixtures = program.command('fixtures').description('recorded golden sessions');
  fixtures
    .command('import')
    .description(
      "import every recorded fixture under a folder as new sessions of a tenant, each session's events all or none",
    )
    .argument('<dir>', 'a folder of fixture files (*.json, searched recursively)')
    .requiredOption(
      '--tenant <id>',
      'the tenant the sessions are created in (a UUID)',
      tenantArgument,
    )
    .option(
      '--json',
      'print {tenantId, sessions: [{fixture, sessionId, events, stateHash, matchesRecording}], events}',
    )
    .action(async (dir: string, flags: { tenant: string; json?: boolean }) => {
      const path = resolve(dir);
      const loaded = await fixturesIn(path);
      if (loaded.length === 0) {
        throw new AgateError(
          'invalid_request',
          `No fixture files (*.json) under ${path}; check the folder.`,
        );
      }
      const opened = await openAgateFor(process.env, flags.tenant, { inline: true });
      const agate = importingAgate(opened.agate, loaded);
      try {
        for (const fixture of loaded) checkFixture(agate, fixture);
        const tty = process.stderr.isTTY && flags.json !== true;
        const sessions = await importAll(
          agate,
          flags.tenant,
          loaded,
          tty ? progressLine : undefined,
        );
        const report: ImportReport = {
          tenantId: flags.tenant,
          sessions,
          events: sessions.reduce((sum, s) => sum + s.events, 0),
        };
        console.log(flags.json === true ? JSON.stringify(report) : describeImport(report, path));
        if (sessions.some((s) => !s.matchesRecording)) process.exitCode = exitCodes.divergence;
      } finally {
        await agate.close();
        await opened.close();
      }
    });
}
