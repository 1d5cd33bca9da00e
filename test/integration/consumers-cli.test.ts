import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsumer, getConsumer, joinConsumer } from '../../src/feed/index.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture } from '../support/api.js';
import { runCli } from '../support/run-cli.js';

let api: ApiFixture;
let tenantId: string;
let otherTenant: string;

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant();
  otherTenant = await api.newTenant('other');
  await ensureConsumer(api.db.pool, { tenantId, name: 'etl', types: null, slots: 2 });
  await ensureConsumer(api.db.pool, {
    tenantId: otherTenant,
    name: 'spectator',
    types: ['counter.incremented'],
    slots: 1,
  });
});
afterAll(() => api.close());

const env = () => ({ DATABASE_URL: api.db.url });
const start = '0:00000000-0000-0000-0000-000000000000:0';

describe('agate consumers', () => {
  it('lists every tenant’s consumers, or one tenant’s, as text and as JSON', async () => {
    await joinConsumer(api.db.pool, { tenantId, name: 'etl', member: 'worker-1', leaseMs: 60_000 });
    const all = await runCli(['consumers', 'list', '--json'], env());
    expect(all.code, all.stderr).toBe(0);
    const parsed = JSON.parse(all.stdout) as {
      consumers: {
        tenantId: string;
        name: string;
        slotStates: { owner: string | null }[];
        members: { member: string }[];
      }[];
    };
    const names = parsed.consumers.map((c) => `${c.tenantId}/${c.name}`).sort();
    expect(names).toEqual([`${otherTenant}/spectator`, `${tenantId}/etl`].sort());
    const etl = parsed.consumers.find((c) => c.name === 'etl');
    expect(etl?.slotStates.map((s) => s.owner)).toEqual(['worker-1', 'worker-1']);
    expect(etl?.members.map((m) => m.member)).toEqual(['worker-1']);

    const one = await runCli(['consumers', 'list', '--tenant', tenantId], env());
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(`${tenantId}  etl  types all  2 slots (2 held)  1 member`);
    expect(one.stdout).not.toContain('spectator');
  });

  it('resets a consumer to now, fencing its members, and refuses a bad --to or an unknown consumer', async () => {
    const session = await api.agate.store.createSession({ tenantId, rules: 'tiny' });
    await api.agate.store.appendEvents({ tenantId, sessionId: session.id, events: [inc(1)] });
    const before = await getConsumer(api.db.pool, { tenantId, name: 'etl' });
    const reset = await runCli(
      ['consumers', 'reset', 'etl', '--tenant', tenantId, '--to', 'now', '--json'],
      env(),
    );
    expect(reset.code, reset.stderr).toBe(0);
    const after = JSON.parse(reset.stdout) as {
      slotStates: { checkpoint: string; owner: string | null; epoch: number }[];
    };
    for (const [i, slot] of after.slotStates.entries()) {
      expect(slot.owner).toBeNull();
      expect(slot.epoch).toBe((before.slotStates[i]?.epoch ?? 0) + 1);
      expect(slot.checkpoint).not.toBe(start);
    }

    const back = await runCli(
      ['consumers', 'reset', 'etl', '--tenant', tenantId, '--to', 'beginning'],
      env(),
    );
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`every slot at ${start}`);

    const bad = await runCli(
      ['consumers', 'reset', 'etl', '--tenant', tenantId, '--to', 'yesterday'],
      env(),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--to must be beginning, now or a feed position');

    const missing = await runCli(
      ['consumers', 'reset', 'nope', '--tenant', tenantId, '--to', 'now'],
      env(),
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No consumer named "nope"');
    const unchanged = await getConsumer(api.db.pool, { tenantId, name: 'etl' });
    expect(unchanged.slotStates.map((s) => s.checkpoint)).toEqual([start, start]);
  });
});
