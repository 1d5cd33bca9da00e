import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import type { Command } from 'commander';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgateError, errorCodes } from '../../src/errors/index.js';
import { runCli } from '../support/run-cli.js';
import {
  argvArbitrary,
  argvSafe,
  makeSandbox,
  minimalArgs,
  vocabularyOf,
} from './support/cli-fuzz-args.js';
import type { Vocabulary } from './support/cli-fuzz-args.js';
import { scaled } from './support/soak.js';
import { tally } from './support/tally.js';

// Item 6 of issue 9, the CLI's half (the API's is test/integration/api-fuzz): arbitrary argument
// lists parsed in process by the real command tree, with DATABASE_URL on a closed port so that no
// command reaches a database, REDIS_URL unset so none reaches Redis, and the working directory a
// sandbox of small files (the only existing paths the fuzzer names). Every run must end in a
// CommanderError (usage or help) or an AgateError with a documented code, within seconds, with
// no unhandled rejection. A few spawned runs of the built binary check the exit codes (npm run
// build first). Seeds: test/support/fast-check-setup.ts.

const closedDatabase = 'postgres://postgres@127.0.0.1:1/x';
const tenant = '0190a000-0000-7000-8000-00000000000c';
const perRunLimitMs = 20_000;

type Run = {
  kind: 'usage' | 'help' | 'agate' | 'resolved' | 'crash' | 'hang';
  code?: string;
  message: string;
  out: string;
  err: string;
};

let buildProgram: () => Command;
let vocabulary: Vocabulary;
let sandbox: string;
let sandboxFiles: string[];
let startDir: string;
const savedEnv: Record<string, string | undefined> = {};
const envKeys = ['DATABASE_URL', 'REDIS_URL', 'AGATE_EMBEDDED', 'AGATE_FAILPOINT', 'PORT'];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const counts = new Map<string, number>();
let tried = 0;

/** Imports main.ts, whose top level parses process.argv once: with --help, silently. */
async function loadProgram(): Promise<() => Command> {
  const argv = process.argv;
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  process.argv = [process.execPath, 'agate', '--help'];
  try {
    const main = await import('../../src/cli/main.js');
    return main.buildProgram;
  } finally {
    write.mockRestore();
    process.argv = argv;
    process.exitCode = undefined;
  }
}

/** How a parse that threw ended: usage or help (CommanderError), an AgateError, or a crash. */
function classify(thrown: unknown): Pick<Run, 'kind' | 'code' | 'message'> {
  if (thrown instanceof CommanderError) {
    const kind = thrown.exitCode === 0 ? 'help' : 'usage';
    return { kind, code: thrown.code, message: thrown.message };
  }
  if (thrown instanceof AgateError) {
    return { kind: 'agate', code: thrown.code, message: thrown.message };
  }
  const e = thrown as { code?: unknown; message?: unknown } | undefined;
  return { kind: 'crash', code: String(e?.code), message: String(e?.message ?? thrown) };
}

/** Parses `args` with a fresh program, all output captured, the environment restored after. */
async function parse(args: string[]): Promise<Run> {
  const program = buildProgram();
  const output = { out: '', err: '' };
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program)) {
    command.configureOutput({
      writeOut: (s) => (output.out += s),
      writeErr: (s) => (output.err += s),
    });
  }
  const line = (...a: unknown[]) => `${a.map(String).join(' ')}\n`;
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => (output.out += line(...a)));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => (output.err += line(...a)));
  const env = Object.fromEntries(envKeys.map((k) => [k, process.env[k]]));
  process.exitCode = undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const hang = new Promise<Run>((done) => {
      const message = `no end within ${perRunLimitMs} ms`;
      timer = setTimeout(() => done({ kind: 'hang', message, ...output }), perRunLimitMs);
    });
    const ran = program.parseAsync(['node', 'agate', ...args]).then(
      (): Run => ({ kind: 'resolved', message: '', ...output }),
      (thrown: unknown): Run => ({ ...classify(thrown), ...output }),
    );
    return await Promise.race([ran, hang]);
  } finally {
    clearTimeout(timer);
    log.mockRestore();
    error.mockRestore();
    // An action may change the environment (--memory sets AGATE_EMBEDDED) or the exit code.
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    process.exitCode = undefined;
  }
}

/** What every run must satisfy, whatever the arguments. */
function checkRun(args: string[], run: Run): void {
  const what = JSON.stringify(args);
  expect(
    ['usage', 'help', 'agate', 'resolved'],
    `${what}: ${run.kind} ${run.code} ${run.message}`,
  ).toContain(run.kind);
  if (run.kind === 'usage') expect(run.err.trim(), what).not.toBe('');
  if (run.kind === 'help') expect(run.out, what).not.toBe('');
  if (run.kind === 'agate') {
    expect(errorCodes, what).toContain(run.code);
    expect(run.message.length, what).toBeGreaterThan(10);
    if (run.code === 'unavailable') expect(run.message, what).toMatch(/DATABASE_URL/);
  }
}

beforeAll(async () => {
  for (const key of envKeys) savedEnv[key] = process.env[key];
  process.env.DATABASE_URL = closedDatabase;
  delete process.env.REDIS_URL;
  delete process.env.AGATE_EMBEDDED;
  delete process.env.AGATE_FAILPOINT;
  startDir = process.cwd();
  sandbox = realpathSync(mkdtempSync(join(tmpdir(), 'agate-cli-fuzz-')));
  sandboxFiles = makeSandbox(sandbox);
  process.chdir(sandbox);
  process.on('unhandledRejection', onUnhandled);
  buildProgram = await loadProgram();
  vocabulary = vocabularyOf(buildProgram());
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  if (startDir !== undefined) process.chdir(startDir);
  for (const key of envKeys) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  if (sandbox !== undefined) rmSync(sandbox, { recursive: true, force: true });
  tally({ section: 'bad input', what: 'CLI arguments tried', value: tried });
  for (const [kind, n] of [...counts].sort()) {
    tally({
      section: 'bad input',
      what: `CLI runs ending in ${kind}`,
      value: n,
      mustBeZero: kind === 'crash' || kind === 'hang',
    });
  }
});

describe('the CLI, fed arbitrary arguments in process', () => {
  it('ends every run in a usage error, help, or an AgateError with a documented code', async () => {
    const numRuns = scaled(1000, 10_000);
    await fc.assert(
      fc.asyncProperty(argvArbitrary(vocabulary, sandboxFiles, argvSafe(sandbox)), async (args) => {
        const run = await parse(args);
        tried += 1;
        counts.set(run.kind, (counts.get(run.kind) ?? 0) + 1);
        checkRun(args, run);
      }),
      { numRuns },
    );
    // Give stray work (a pool's failed connect, a stream) time to reject where it would be seen.
    await new Promise((done) => setTimeout(done, 200));
    expect(unhandled).toEqual([]);
    // No run fell back to the embedded database (it would have made .agate/ in the sandbox).
    expect(existsSync(join(sandbox, '.agate'))).toBe(false);
    expect(counts.get('usage')).toBeGreaterThan(numRuns / 10);
    expect(counts.get('agate')).toBeGreaterThan(numRuns / 50);
  });

  it.each([
    [['replay', tenant, '--tenant', tenant, '--verify', '--json']],
    [['sessions', 'list', '--tenant', tenant, '--status', 'ended', '--limit', '5']],
    [['snapshot', tenant, '--tenant', tenant]],
    [['gdpr', 'erase', tenant, '--tenant', tenant, '--json']],
    [['keys', 'create', '--tenant', tenant, '--role', 'admin']],
    [['tenants', 'create', "'; SET ROLE postgres; --"]],
    [['partitions', 'maintain', '--dry-run', '--premake', '2']],
    [['migrate', '--json']],
    [['nightly', '--inline']],
    [['serve']],
  ])(
    'reaches the database for %j and reports it unreachable, naming DATABASE_URL',
    async (args) => {
      const run = await parse(args);
      tried += 1;
      expect([run.kind, run.code]).toEqual(['agate', 'unavailable']);
      expect(run.message).toMatch(/DATABASE_URL/);
    },
  );

  // Found by this fuzzer: `keys create` and `leaderboard rebuild` take --tenant as plain text,
  // so a malformed one is a failure (exit 1, tenant_required, or not checked at all) where every
  // other command makes it a usage error (exit 2, README "The CLI"; src/cli/cli-arguments.ts).
  it('refuses a malformed --tenant as a usage error on every command that takes one', async () => {
    const withTenant = vocabulary.paths.filter((p) =>
      (vocabulary.flags.get(p.join(' ')) ?? []).some((f) => f.flag === '--tenant'),
    );
    expect(withTenant.length).toBeGreaterThanOrEqual(8);
    const outcomes = [];
    for (const path of withTenant) {
      const malformed = `${tenant}'; SET ROLE postgres; --`;
      const minimal = minimalArgs(vocabulary, path);
      // Where --tenant is optional (keys create and list also take --operator), it is added.
      const args = minimal.includes('--tenant')
        ? minimal.map((a, i, all) => (all[i - 1] === '--tenant' ? malformed : a))
        : [...minimal, '--tenant', malformed];
      const run = await parse(args);
      tried += 1;
      outcomes.push([path.join(' '), run.kind, run.code]);
    }
    expect(outcomes).toEqual(
      withTenant.map((p) => [p.join(' '), 'usage', 'commander.invalidArgument']),
    );
  });

  // Found by this fuzzer: a folder passed as the file read as EISDIR, a raw error ("unexpected
  // failure"); checkReadable now refuses a folder. Kept as a regression.
  it('refuses a folder given to agate import as invalid_request, not an unexpected failure', async () => {
    const run = await parse(['import', 'empty', '--tenant', tenant]);
    tried += 1;
    expect([run.kind, run.code]).toEqual(['agate', 'invalid_request']);
  });
});

describe('the built agate binary', () => {
  it('exits 2 on usage errors, 1 naming DATABASE_URL when the database is unreachable, 0 for help', async () => {
    const env = { DATABASE_URL: closedDatabase };
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [[], env, 2, /Usage: agate/],
      [['no-such-command'], env, 2, /unknown command/],
      [['replay', tenant, '--tenant', 'not-a-uuid'], env, 2, /--tenant must be a tenant id/],
      [['sessions', 'list', '--tenant', tenant, '--limit', '-1'], env, 2, /--limit/],
      [['replay', tenant, '--tenant', tenant], env, 1, /DATABASE_URL.*\[unavailable\]/s],
      [
        ['migrate'],
        { DATABASE_URL: 'mysql://root@127.0.0.1/x' },
        1,
        /DATABASE_URL must start with postgres/,
      ],
      [['--help'], env, 0, /Usage: agate/],
    ];
    const results = await Promise.all(cases.map(([args, e]) => runCli(args, e, { cwd: sandbox })));
    results.forEach((result, i) => {
      const [args, , code, pattern] = cases[i] ?? [[], {}, -1, /$^/];
      expect([args, result.code], result.stderr).toEqual([args, code]);
      expect(`${result.stdout}${result.stderr}`, JSON.stringify(args)).toMatch(pattern);
      expect(result.stderr, JSON.stringify(args)).not.toMatch(/unexpected failure/);
    });
    tried += cases.length;
    tally({
      section: 'bad input',
      what: 'CLI spawned runs (exit codes checked)',
      value: cases.length,
    });
  });
});
