import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../support/test-database.js';
import { contractedExports as contracted } from '../support/package-exports.js';
import { repoRoot } from '../support/run-cli.js';

/*
 * The pack-install-run step of issue 17: agate as a studio gets it (the packed tarball, never its
 * source), the example game installed beside it in a temporary folder, its own tests, the rules
 * check, then `agate migrate` and `agate serve` from the example's agate.config.json and a session
 * of the example game over HTTP. `npm test` builds dist/ before vitest runs; this packs that build.
 */

const exampleDir = join(repoRoot, 'examples', 'harvest');

/**
 * The names the README's "Add your own game" section promises, by entry point: its list items
 * of the form "- `entry`: `name`, `name`, ...".
 */
async function promisedByReadme(): Promise<Record<string, string[]>> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const section = /^## Add your own game\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const promised: Record<string, string[]> = {};
  for (const item of section.split(/\n(?=- )/)) {
    const match = /^- `(agate[^`]*)`: ([\s\S]*)$/.exec(item.trim());
    if (match?.[1] === undefined || match[2] === undefined) continue;
    promised[match[1]] = [...match[2].matchAll(/`([A-Za-z]\w*)`/g)].map((m) => m[1] ?? '');
  }
  return promised;
}

type Run = { code: number | null; stdout: string; stderr: string };

const timings: Record<string, number> = {};

/** Runs a command to its end (no shell), timed under `label`. */
function run(
  label: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      timings[label] = Math.round(performance.now() - started);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(
  label: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<string> {
  const result = await run(label, command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${label}: ${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

type Served = { url: string; stop(): Promise<number | null>; output(): string };

/** `agate serve` of the installed copy, on a free port, in the example's folder. */
async function serve(cwd: string, env: Record<string, string>): Promise<Served> {
  const child = spawn(process.execPath, ['node_modules/agate/bin/agate.js', 'serve'], {
    cwd,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agate serve did not listen within 30 s: ${output}`));
    }, 30_000);
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      resolve(match[1]);
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agate serve exited ${code}: ${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

type Reply = { status: number; json: Record<string, unknown> };

async function call(url: string, key: string, body?: unknown): Promise<Reply> {
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? {} : JSON.parse(text)) as Reply['json'] };
}

let work: string;
let app: string;
let tarball: string;
/** Set once the example is installed and built: every later step needs it. */
let installed = false;
const needsInstall = () =>
  expect(installed, 'the example was not installed and built: see the first failure').toBe(true);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agate-example-'));
  app = join(work, 'harvest');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  console.log(`example game step timings (ms): ${JSON.stringify(timings)}`);
});

describe('the example game, installed from the packed agate', () => {
  it('packs agate and installs it into a copy of the example', async () => {
    const packed = JSON.parse(
      await ok('pack', 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
        cwd: repoRoot,
      }),
    ) as { filename: string }[];
    const filename = packed[0]?.filename ?? '';
    tarball = join(work, filename);
    await cp(exampleDir, app, {
      recursive: true,
      // What a local `npm install` left there is not the example: the copy installs afresh.
      filter: (source) => !/[/\\](node_modules|dist|package-lock\.json)$/.test(source),
    });
    const manifestPath = join(app, 'package.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      dependencies: Record<string, string>;
    };
    // The committed example names the tarball `npm pack` writes at the repository's root.
    expect(manifest.dependencies.agate).toBe(`file:../../${filename}`);
    manifest.dependencies.agate = `file:${tarball}`;
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    await ok('install', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: app,
    });
    await ok('build', 'npm', ['run', 'build'], { cwd: app });
    installed = true;
  });

  it('exports every name the README promises from agate, agate/client, agate/testing and agate/eslint', async () => {
    needsInstall();
    const promised = await promisedByReadme();
    for (const [entry, names] of Object.entries(contracted)) {
      expect(promised[entry] ?? [], `README's list for ${entry}`).toEqual(
        expect.arrayContaining([...names]),
      );
    }
    const script = [
      `const promised = ${JSON.stringify(promised)};`,
      'const missing = [];',
      'for (const [entry, names] of Object.entries(promised)) {',
      '  const module = await import(entry);',
      '  for (const name of names) if (module[name] === undefined) missing.push(`${entry}: ${name}`);',
      '}',
      'console.log(JSON.stringify(missing));',
    ].join('\n');
    await writeFile(join(app, 'exports-check.mjs'), script);
    const missing = JSON.parse(
      await ok('exports', process.execPath, ['exports-check.mjs'], { cwd: app }),
    ) as string[];
    expect(missing).toEqual([]);
  });

  it("passes the example's own tests: determinism proofs and golden fixtures", async () => {
    needsInstall();
    const out = await ok('example tests', 'npm', ['test'], { cwd: app });
    expect(out).toMatch(/# fail 0/);
  });

  it('keeps the compiled rules pure by agate/eslint, and the lint catches Math.random', async () => {
    needsInstall();
    await ok('lint', 'npm', ['run', 'lint'], { cwd: app });
    const balance = join(app, 'dist', 'src', 'balance.js');
    const pure = await readFile(balance, 'utf8');
    await writeFile(balance, `${pure}\nexport const roll = () => Math.random();\n`);
    try {
      const impure = await run('lint impure', 'npm', ['run', 'lint'], { cwd: app });
      expect(impure.code).toBe(1);
      expect(impure.stdout).toMatch(/Math\.random/);
    } finally {
      await writeFile(balance, pure);
    }
  });

  it('replays the golden fixtures of the configured game with agate rules check', async () => {
    needsInstall();
    const report = JSON.parse(
      await ok('rules check', 'npx', ['--no', 'agate', 'rules', 'check', '--json'], { cwd: app }),
    ) as { ok: boolean; rules: unknown[] };
    expect(report).toMatchObject({
      ok: true,
      rules: [{ rules: 'harvest', rulesVersion: 1, checked: 2 }],
    });
  });

  it('fails agate rules check, naming the fixture, when a rule changes under the same version', async () => {
    needsInstall();
    const balance = join(app, 'dist', 'src', 'balance.js');
    const recorded = await readFile(balance, 'utf8');
    const wheat = 'wheat: { cost: 2, ripeAt: 3, yield: 5 }';
    expect(recorded).toContain(wheat);
    await writeFile(balance, recorded.replace(wheat, 'wheat: { cost: 2, ripeAt: 3, yield: 6 }'));
    try {
      const changed = await run('rules check changed', 'npx', ['--no', 'agate', 'rules', 'check'], {
        cwd: app,
      });
      expect(changed.code).toBe(1);
      expect(changed.stderr).toMatch(/rules_changed/);
      expect(changed.stderr).toMatch(/fixture (three-fields-120|poor-farm-60) of harvest v1/);
    } finally {
      await writeFile(balance, recorded);
    }
  });

  it('serves the example game from its config and plays a session over HTTP', async () => {
    needsInstall();
    const db = await createEmptyDatabase();
    const env = { DATABASE_URL: db.url, REDIS_URL: '' };
    const cli = async (label: string, args: string[]) =>
      JSON.parse(await ok(label, 'npx', ['--no', 'agate', ...args], { cwd: app, env })) as Record<
        string,
        string
      >;
    try {
      await ok('migrate', 'npx', ['--no', 'agate', 'migrate'], { cwd: app, env });
      const tenant = await cli('tenant', ['tenants', 'create', 'harvest studio', '--json']);
      const tenantId = tenant.id ?? '';
      const keyOf = async (role: string) =>
        (
          await cli(`key ${role}`, [
            'keys',
            'create',
            '--tenant',
            tenantId,
            '--role',
            role,
            '--json',
          ])
        ).key ?? '';
      const gameServer = await keyOf('game_server');
      const analyst = await keyOf('analyst');
      const started = performance.now();
      // info: the start-up line that names the port is an info log.
      const server = await serve(app, { ...env, LOG_LEVEL: 'info' });
      try {
        await playSession(server.url, gameServer, analyst);
      } finally {
        expect(await server.stop()).toBe(0);
      }
      timings['serve and play'] = Math.round(performance.now() - started);
    } finally {
      await db.drop();
    }
  });
});

async function playSession(base: string, gameServer: string, analyst: string): Promise<void> {
  const created = await call(`${base}/v1/sessions`, gameServer, {
    rules: 'harvest',
    seed: 'pack-install-run',
    config: { fields: 2 },
  });
  expect(created).toMatchObject({ status: 201, json: { rules: 'harvest', rulesVersion: 1 } });
  const id = String(created.json.id);

  const foreign = await call(`${base}/v1/sessions/${id}/events`, gameServer, {
    expectedSequence: 0,
    events: [{ type: 'day.started', data: {} }],
  });
  expect(foreign).toMatchObject({ status: 422, json: { code: 'unknown_event_type' } });

  const appended = await call(`${base}/v1/sessions/${id}/events`, gameServer, {
    expectedSequence: 0,
    events: [
      { type: 'round.started', version: 1, data: {} },
      { type: 'crop.planted', version: 1, data: { field: 0 } },
      // Refused by the rules (field 0 holds the wheat), stored and folded as rejected.
      { type: 'crop.planted', version: 2, data: { field: 0, crop: 'corn' } },
      { type: 'crop.planted', version: 2, data: { field: 1, crop: 'corn' } },
      // Consumes randomness: the server records its seed.
      { type: 'round.ended', version: 1, data: {} },
    ],
  });
  expect(appended).toMatchObject({ status: 201, json: { firstSequence: 1, lastSequence: 5 } });

  const events = await call(`${base}/v1/sessions/${id}/events`, gameServer);
  const stored = events.json.events as {
    type: string;
    version: number;
    data: { seed?: unknown };
  }[];
  expect(stored.map((e) => `${e.type}@${e.version}`)).toEqual([
    'round.started@1',
    'crop.planted@1',
    'crop.planted@2',
    'crop.planted@2',
    'round.ended@1',
  ]);
  expect(stored[4]?.data.seed).toMatch(/^[0-9a-f]+$/);

  const ended = await call(`${base}/v1/sessions/${id}/end`, gameServer, {});
  expect(ended.status).toBe(201);

  const replay = await call(`${base}/v1/sessions/${id}/replay?verify=true`, analyst);
  expect(replay.status).toBe(200);
  expect(replay.json).toMatchObject({
    sequence: 6,
    verified: true,
    divergences: [],
    state: {
      round: 1,
      phase: 'ended',
      coins: 10 - 2 - 4,
      rejected: 1,
      rejectedByReason: { field_occupied: 1 },
    },
  });
  const fields = (replay.json.state as { fields: { crop: string }[] }).fields;
  // The v1 planting was upcast to wheat; blight may have taken either field in round 1.
  expect(['wheat', 'none']).toContain(fields[0]?.crop);
  expect(['corn', 'none']).toContain(fields[1]?.crop);

  const state = await call(`${base}/v1/sessions/${id}/state`, gameServer);
  expect(state.json).toMatchObject({ sequence: 6, stateHash: replay.json.stateHash });
}
