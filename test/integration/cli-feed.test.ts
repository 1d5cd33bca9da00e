import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { inc } from '../support/api.js';
import { repoRoot, runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

// Spawns the built binary: `npm run build` first.

type Line = { position: string; sessionId: string; sequence: number; type: string; hash: string };

let db: TestDatabase;
let agate: Agate;
const env = () => ({ DATABASE_URL: db.url });

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames });
});
afterAll(() => db.drop());

async function tenantWithEvents(counts: number[]): Promise<{ tenant: string; sessions: string[] }> {
  const tenant = (await createTenant(db.pool, { name: 'feed tail', actor: 'test' })).id;
  const sessions: string[] = [];
  for (const count of counts) {
    const session = await agate.store.createSession({
      tenantId: tenant,
      rules: 'tiny',
      seed: 'tail',
    });
    const events = Array.from({ length: count }, (_, i) =>
      i % 3 === 2 ? { type: 'note.written', version: 1, data: { text: `${i}` } } : inc(i),
    );
    expect(
      (await agate.store.appendEvents({ tenantId: tenant, sessionId: session.id, events })).ok,
    ).toBe(true);
    sessions.push(session.id);
  }
  return { tenant, sessions };
}

const ndjson = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

/** Runs `agate feed tail` until the feed has settled: another open transaction can hold it back. */
async function tailUntil(args: string[], count: number): Promise<Line[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const result = await runCli(['feed', 'tail', ...args], env());
    expect(result.code, result.stderr).toBe(0);
    const lines = ndjson(result.stdout);
    if (lines.length >= count || Date.now() > deadline) return lines;
  }
}

describe('agate feed tail', () => {
  it('prints every committed event of the tenant as NDJSON, in feed order, and exits 0', async () => {
    const { tenant, sessions } = await tenantWithEvents([4, 3]);
    const lines = await tailUntil(['--tenant', tenant, '--json'], 7);
    expect(lines.map((l) => [l.sessionId, l.sequence])).toEqual([
      ...[1, 2, 3, 4].map((n) => [sessions[0], n]),
      ...[1, 2, 3].map((n) => [sessions[1], n]),
    ]);
    expect(lines[0]).toMatchObject({ type: 'counter.incremented', previousSequence: 0 });
    expect(lines[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    const after = await runCli(
      ['feed', 'tail', '--tenant', tenant, '--json', '--from', lines[4]?.position ?? ''],
      env(),
    );
    expect(ndjson(after.stdout).map((l) => l.sequence)).toEqual([2, 3]);
  });

  it('filters by type and session, and prints text lines without --json', async () => {
    const { tenant, sessions } = await tenantWithEvents([6, 6]);
    const only = sessions[1] ?? '';
    const lines = await tailUntil(
      ['--tenant', tenant, '--json', '--types', 'note.written', '--session', only],
      2,
    );
    expect(lines.map((l) => [l.sessionId, l.sequence, l.type])).toEqual([
      [only, 3, 'note.written'],
      [only, 6, 'note.written'],
    ]);
    const text = await runCli(['feed', 'tail', '--tenant', tenant, '--session', only], env());
    expect(text.code, text.stderr).toBe(0);
    const first = text.stdout.split('\n')[0] ?? '';
    expect(first).toMatch(
      new RegExp(`^\\d+:${only}:1  ${only}       1  counter\\.incremented v1  \\d{4}-`),
    );
  });

  it('prints nothing of another tenant, and refuses a bad --from as a usage error', async () => {
    const { sessions } = await tenantWithEvents([2]);
    const other = (await createTenant(db.pool, { name: 'empty', actor: 'test' })).id;
    const empty = await runCli(
      ['feed', 'tail', '--tenant', other, '--json', '--session', sessions[0] ?? ''],
      env(),
    );
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    const bad = await runCli(['feed', 'tail', '--tenant', other, '--from', 'yesterday'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from takes start, now or a position');
  });

  it('with --follow keeps printing new events until SIGTERM, then exits 0', async () => {
    const { tenant, sessions } = await tenantWithEvents([2]);
    const child = spawn(
      process.execPath,
      [`${repoRoot}/bin/agate.js`, 'feed', 'tail', '--tenant', tenant, '--json', '--follow'],
      { env: { PATH: process.env.PATH, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const until = async (count: number) => {
      const deadline = Date.now() + 20_000;
      while (ndjson(stdout).length < count) {
        if (Date.now() > deadline) throw new Error(`only ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until(2);
    const session = sessions[0] ?? '';
    expect(
      (await agate.store.appendEvents({ tenantId: tenant, sessionId: session, events: [inc(9)] }))
        .ok,
    ).toBe(true);
    await until(3);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(ndjson(stdout).map((l) => l.sequence)).toEqual([1, 2, 3]);
  });

  it('runs on the embedded database when DATABASE_URL is not set', async () => {
    // A fresh in-memory database, migrated on open, has no tenants: the command got there and
    // says the tenant is unknown rather than tailing nothing (ADR 0032 routes by tenant first).
    const tenant = '0190d7a0-0000-7000-8000-000000000001';
    const args = ['--memory', 'feed', 'tail', '--tenant', tenant, '--json', '--from', 'now'];
    const r = await runCli(args, {});
    expect([r.code, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toContain(`No tenant ${tenant}`);
    expect(r.stderr).toMatch(/\[tenant_not_found\]/);
  });
});
