import { describe, expect, it } from 'vitest';
import { partitionName, planTable } from '../../partitions/index.js';
import type { CurrentLayout, Month } from '../../partitions/index.js';

const events = {
  schema: 'game',
  table: 'events',
  column: 'server_time',
  archiveSchema: 'archive',
};
const m = (year: number, month: number): Month => ({ year, month });
const layout = (months: Month[], extra: Partial<CurrentLayout> = {}): CurrentLayout => ({
  monthly: months.map((month) => ({ name: partitionName(events, month), month })),
  hasDefault: true,
  defaultMonths: [],
  ...extra,
});
const names = (months: Month[]) => months.map((month) => partitionName(events, month));
const keepAll = { premake: 3, retentionMonths: null };

describe('planning partition maintenance', () => {
  it('creates the window from one month back to premake ahead, across a year end', () => {
    const plan = planTable(events, layout([]), keepAll, new Date('2026-12-31T23:59:59Z'));
    expect(names(plan.create)).toEqual([
      'events_p2026_11',
      'events_p2026_12',
      'events_p2027_01',
      'events_p2027_02',
      'events_p2027_03',
    ]);
    expect(plan).toMatchObject({ moveFromDefault: [], detach: [], createDefault: false });
  });

  it('has nothing to do when the window exists', () => {
    const plan = planTable(
      events,
      layout([m(2026, 10), m(2026, 11), m(2026, 12), m(2027, 1), m(2027, 2)]),
      keepAll,
      new Date('2026-11-23T00:00:00Z'),
    );
    expect(plan).toEqual({ create: [], moveFromDefault: [], detach: [], createDefault: false });
  });

  it('fills gaps between the oldest and the newest month', () => {
    const plan = planTable(
      events,
      layout([m(2026, 1), m(2026, 4)]),
      keepAll,
      new Date('2026-04-10T00:00:00Z'),
    );
    expect(names(plan.create)).toEqual([
      'events_p2026_02',
      'events_p2026_03',
      'events_p2026_05',
      'events_p2026_06',
      'events_p2026_07',
    ]);
  });

  it('moves rows of the default partition into new months and fills the gap up to them', () => {
    const plan = planTable(
      events,
      layout([m(2026, 10), m(2026, 11)], { defaultMonths: [m(2027, 6), m(2027, 6), m(2026, 11)] }),
      { premake: 1, retentionMonths: null },
      new Date('2026-11-01T00:00:00Z'),
    );
    expect(names(plan.moveFromDefault)).toEqual(['events_p2027_06']);
    expect(names(plan.create)).toEqual([
      'events_p2026_12',
      'events_p2027_01',
      'events_p2027_02',
      'events_p2027_03',
      'events_p2027_04',
      'events_p2027_05',
    ]);
  });

  it('detaches months before the retention window and does not recreate them', () => {
    const plan = planTable(
      events,
      layout([m(2026, 1), m(2026, 2), m(2026, 3), m(2026, 4)]),
      { premake: 1, retentionMonths: 2 },
      new Date('2026-04-01T00:00:00Z'),
    );
    expect(plan.detach.map((p) => p.name)).toEqual(['events_p2026_01']);
    expect(names(plan.create)).toEqual(['events_p2026_05']);
  });

  it('recreates a missing default partition', () => {
    expect(
      planTable(events, layout([], { hasDefault: false }), keepAll, new Date()).createDefault,
    ).toBe(true);
  });
});
