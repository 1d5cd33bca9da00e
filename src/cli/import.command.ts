import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { z } from 'zod';
import { AgateError, isAgateError } from '../errors/index.js';
import { importSessions } from '../import/index.js';
import type { ImportedSession, RecordedSession } from '../import/index.js';
import { tenantArgument, wholeNumberArgument } from './cli-arguments.js';
import { openAgateFor } from './open-agate.js';

type ImportFlags = { tenant: string; concurrency: number; json?: boolean };

/** One line of the file: a recorded session. Its events are checked by the import itself. */
const recordedLine = z.strictObject({
  seed: z.string(),
  rules: z.string(),
  rulesVersion: z.number().int().min(1).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  playerId: z.string().optional(),
  id: z.string().optional(),
  events: z.array(z.unknown()).min(1, 'a recorded session has at least one event'),
});

type ImportedLine = ImportedSession & { line: number };

type Report = {
  file: string;
  tenantId: string;
  sessions: ImportedLine[];
  events: number;
  failed: { line: number | null; code: string; message: string } | null;
};

function badLine(line: number, message: string): AgateError {
  return new AgateError(
    'invalid_request',
    `line ${line}: ${message}; nothing of that session was imported. Each line must be one recorded session: {"seed", "rules", "rulesVersion"?, "config"?, "playerId"?, "events": [...]}.`,
    { details: { line } },
  );
}

function parseLine(text: string, line: number): RecordedSession {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badLine(
      line,
      `not valid JSON (${error instanceof Error ? error.message : 'parse error'})`,
    );
  }
  const parsed = recordedLine.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || 'the line';
    throw badLine(line, `${where}: ${issue?.message ?? 'is not a recorded session'}`);
  }
  return { ...parsed.data, events: parsed.data.events as RecordedSession['events'] };
}

/** The file's sessions one line at a time (blank lines skipped); `lines[i]` is session i's line. */
async function* readSessions(path: string, lines: number[]): AsyncGenerator<RecordedSession> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of reader) {
      line += 1;
      if (text.trim() === '') continue;
      lines.push(line);
      yield { ...parseLine(text, line), source: `line ${line}` };
    }
  } finally {
    reader.close();
    input.destroy();
  }
}

async function checkReadable(path: string): Promise<void> {
  // Opening a folder succeeds; reading it fails later with a raw EISDIR.
  const kind = await stat(path).catch(() => undefined);
  if (kind?.isDirectory() === true) {
    throw new AgateError(
      'invalid_request',
      `${path} is a folder; pass a JSON Lines file, one recorded session per line (agate fixtures import takes a folder of fixtures).`,
    );
  }
  await new Promise<void>((done, fail) => {
    const stream = createReadStream(path);
    stream.once('open', () => {
      stream.destroy();
      done();
    });
    stream.once('error', (error) => {
      fail(
        new AgateError(
          'invalid_request',
          `Cannot read ${path} (${error.message}); pass a JSON Lines file, one recorded session per line.`,
          { cause: error },
        ),
      );
    });
  });
}

function failedOf(error: unknown, lines: readonly number[]): Report['failed'] {
  if (!isAgateError(error)) return null;
  const index = error.details.sessionIndex;
  const line =
    typeof error.details.line === 'number'
      ? error.details.line
      : typeof index === 'number'
        ? (lines[index] ?? null)
        : null;
  return { line, code: error.code, message: error.message };
}

function describeReport(report: Report): string {
  const lines = [
    `Imported ${report.sessions.length} session(s), ${report.events} event(s), from ${report.file} into tenant ${report.tenantId}`,
    ...report.sessions.map(
      (s) =>
        `  line ${String(s.line).padStart(6)}  ${s.sessionId}  ${String(s.events).padStart(7)} events  ${String(s.snapshots).padStart(5)} snapshots`,
    ),
  ];
  if (report.failed !== null) {
    lines.push(
      `Stopped at ${report.failed.line === null ? 'an error' : `line ${report.failed.line}`}: only the sessions listed above were imported.`,
    );
  }
  return lines.join('\n');
}

export function addImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      'import recorded sessions (a JSON Lines file, one session per line) as new sessions, validated like appends, each all or nothing',
    )
    .argument(
      '<file>',
      'a .jsonl file: {"seed", "rules", "rulesVersion"?, "config"?, "playerId"?, "events"} per line',
    )
    .requiredOption(
      '--tenant <id>',
      'the tenant the sessions are created in (a UUID)',
      tenantArgument,
    )
    .option(
      '--concurrency <n>',
      'sessions written at once, 1 to 32 (default 4)',
      wholeNumberArgument('--concurrency', 1, 32),
      4,
    )
    .option(
      '--json',
      'print {file, tenantId, sessions: [{line, index, sessionId, events, snapshots, headHash}], events, failed}',
    )
    .action(async (file: string, flags: ImportFlags) => {
      const path = resolve(file);
      await checkReadable(path);
      const { agate, close } = await openAgateFor(process.env, flags.tenant, { inline: true });
      const lines: number[] = [];
      const sessions: ImportedLine[] = [];
      let failure: Error | null = null;
      try {
        await importSessions(agate.pool, {
          tenantId: flags.tenant,
          games: agate.games,
          sessions: readSessions(path, lines),
          concurrency: flags.concurrency,
          onImported: (s) => sessions.push({ ...s, line: lines[s.index] ?? 0 }),
        });
      } catch (error) {
        failure =
          error instanceof Error
            ? error
            : new AgateError('internal', 'The import failed unexpectedly.', { cause: error });
      } finally {
        await close();
      }
      sessions.sort((a, b) => a.index - b.index);
      const report: Report = {
        file: path,
        tenantId: flags.tenant,
        sessions,
        events: sessions.reduce((sum, s) => sum + s.events, 0),
        failed: failure === null ? null : failedOf(failure, lines),
      };
      console.log(flags.json === true ? JSON.stringify(report) : describeReport(report));
      if (failure !== null) throw failure;
    });
}
