import { fixed, renderTable, whole } from './report.js';

export type FeedScenario =
  | 'raw-keyset'
  | 'feed-pages'
  | 'feed-consumer'
  | 'commit-to-consumer'
  | 'commit-to-consumer-small-batches'
  | 'append-own-and-external'
  | 'append-own'
  | 'append-none'
  | 'append-notify-inside';

/** One row of the feed part; `ratio` is over the baseline named by `ratioOf`, same run. */
export type FeedRow = {
  scenario: FeedScenario;
  label: string;
  clients: number | null;
  events: number;
  eventsPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  ratio: number | null;
  /** "feed/raw", "own+3/own" and the like. */
  ratioOf: string;
  note: string;
  /** The figures of every run the row's medians come from. */
  runs: unknown[];
};

export function feedRow(
  scenario: FeedScenario,
  label: string,
  figures: Partial<Omit<FeedRow, 'scenario' | 'label'>>,
): FeedRow {
  return {
    scenario,
    label,
    clients: null,
    events: 0,
    eventsPerSec: null,
    p50Ms: null,
    p99Ms: null,
    ratio: null,
    ratioOf: '',
    note: '',
    runs: [],
    ...figures,
  };
}

export function ratioText(r: FeedRow): string {
  return r.ratio === null ? '' : `${r.ratioOf} ${fixed(r.ratio, 2)}`;
}

export function formatFeedTable(rows: readonly FeedRow[]): string {
  const header = [
    'scenario',
    'clients',
    'events',
    'events/s',
    'p50 ms',
    'p99 ms',
    'ratio',
    'notes',
  ];
  const n = (v: number | null, digits: number) =>
    v === null ? '-' : digits === 0 ? whole(v) : fixed(v, digits);
  return renderTable(
    header,
    rows.map((r) => [
      r.label,
      r.clients === null ? '-' : String(r.clients),
      whole(r.events),
      n(r.eventsPerSec, 0),
      n(r.p50Ms, 2),
      n(r.p99Ms, 2),
      ratioText(r),
      r.note,
    ]),
  );
}
