import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaintainReport, PartitionStatus } from '../../partitions/index.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe('agate partitions', () => {
  it('reports status as JSON', async () => {
    const r = await runCli(['partitions', 'status', '--json'], { DATABASE_URL: db.url });
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout) as PartitionStatus;
    expect(status.tables.map((t) => [t.table, t.backend, t.monthsAhead])).toEqual([
      ['game.events', 'native', 3],
      ['admin.audit_log', 'native', 3],
      ['analytics.events', 'native', 3],
    ]);
  });

  it('maintains with saved settings, and a dry run changes nothing', async () => {
    const dry = await runCli(['partitions', 'maintain', '--premake', '5', '--dry-run', '--json'], {
      DATABASE_URL: db.url,
    });
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as MaintainReport;
    expect(plan.ran && plan.tables[0]?.plan?.create).toHaveLength(2);
    const run = await runCli(
      ['partitions', 'maintain', '--premake', '5', '--retention-months', '12'],
      { DATABASE_URL: db.url },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/game\.events \(native\): created events_p\d{4}_\d{2}, events_p/);
    const status = await runCli(['partitions', 'status'], { DATABASE_URL: db.url });
    expect(status.stdout).toMatch(/game\.events {2}\(native; premake 5; detach after 12 months\)/);
    expect(status.stdout).toMatch(/months ahead: 5/);
  });

  it('exits 2 on a bad flag, and keeps the embedded database window when DATABASE_URL is unset', async () => {
    const bad = await runCli(['partitions', 'maintain', '--premake', 'lots'], {
      DATABASE_URL: db.url,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--premake must be a whole number/);
    const embedded = await runCli(['--memory', 'partitions', 'status', '--json'], {});
    expect(embedded.code).toBe(0);
    const status = JSON.parse(embedded.stdout) as { tables: { monthsAhead: number }[] };
    expect(status.tables.map((t) => t.monthsAhead)).toEqual([3, 3, 3]);
  });
});
