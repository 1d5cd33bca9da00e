// One table for the whole bench: every row's figures, its ratio to the baseline measured in the
// same run, and the targets that apply to it, each marked met or missed.
import { ratioText } from './feed-report.js';
import type { FeedRow } from './feed-report.js';
import type { ImportRow } from './import-section.js';
import type { NightlyMeasured } from './nightly-section.js';
import type { ReplayRow } from './replay-report.js';
import type { ReplicaRow } from './replica-section.js';
import { cpuText, fixed, whole } from './report.js';
import type { Row } from './report.js';
import { warmTargetMet } from './verdicts-section.js';
import type { VerdictsRow } from './verdicts-section.js';

export type Target = { text: string; met: boolean };

export type SummaryRow = {
  part: string;
  label: string;
  clients: number | null;
  eventsPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** What else the row reports: errors, RSS, wall time. */
  note: string;
  /** "agate/raw 1.23" and the like. */
  ratio: string;
  targets: Target[];
};

function target(text: string, met: boolean): Target {
  return { text, met };
}

function row(part: string, label: string, figures: Partial<SummaryRow>): SummaryRow {
  return {
    part,
    label,
    clients: null,
    eventsPerSec: null,
    p50Ms: null,
    p99Ms: null,
    note: '',
    ratio: '',
    targets: [],
    ...figures,
  };
}

/** Issue 18's targets, at 32 clients, against the minimal correct append of the same run. */
const appendGoals: Readonly<Record<string, { ratio: number; of: string }>> = {
  'http-redis-1': { ratio: 0.6, of: 'minimal 1-event' },
  'http-redis-10': { ratio: 0.5, of: 'minimal 10-event' },
  'http-redis-many': { ratio: 1.0, of: "minimal 10-event append's" },
  'library-1': { ratio: 1.0, of: 'minimal 1-event' },
  'library-10': { ratio: 0.8, of: 'minimal 10-event' },
  'library-50': { ratio: 0.8, of: 'minimal 50-event' },
};

function appendTargets(r: Row): Target[] {
  if (r.clients !== 32) return [];
  const found: Target[] = [];
  const goal = appendGoals[r.scenario];
  const ratio = r.ratioToRaw ?? Number.NaN;
  if (goal !== undefined) {
    found.push(
      target(
        `>= ${fixed(goal.ratio, 1)}x ${goal.of} events/s (${fixed(ratio, 2)}x)`,
        ratio >= goal.ratio,
      ),
    );
  }
  if (r.scenario === 'http-redis-1') {
    found.push(target(`p99 <= 50 ms (${fixed(r.p99Ms, 1)})`, r.p99Ms <= 50));
  }
  if (r.drainMs !== null) {
    found.push(target(`drain <= 2 s (${whole(r.drainMs)} ms)`, r.drainMs <= 2_000));
  }
  return found;
}

/** An HTTP row's events/s over the HTTP floor of its size (several sessions: the 10-event floor). */
function floorRatio(r: Row, rows: readonly Row[]): string {
  if (r.scenario.startsWith('http-floor') || !r.scenario.startsWith('http-')) return '';
  const size = r.batch === 1 ? '1' : '10';
  const floor = rows.find((f) => f.scenario === `http-floor-${size}` && f.clients === r.clients);
  return floor === undefined ? '' : `, x floor ${fixed(r.eventsPerSec / floor.eventsPerSec, 2)}`;
}

export function appendSummary(rows: readonly Row[]): SummaryRow[] {
  return rows.map((r) =>
    row('append', r.label, {
      clients: r.clients,
      eventsPerSec: r.eventsPerSec,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      note: [
        `${r.errors} failed`,
        `CPU us/event ${cpuText(r.cpuUsPerEvent)}`,
        r.drainMs === null ? '' : `drained ${whole(r.drainMs)} ms`,
      ]
        .filter((t) => t !== '')
        .join('; '),
      ratio:
        r.ratioToRaw === null ? '' : `x minimal ${fixed(r.ratioToRaw, 2)}${floorRatio(r, rows)}`,
      targets: appendTargets(r),
    }),
  );
}

export function importSummary(rows: readonly ImportRow[]): SummaryRow[] {
  return rows.map((r) =>
    row('import', r.label, {
      clients: r.scenario === 'import-prepare' ? null : r.clients,
      eventsPerSec: r.eventsPerSec,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      note: 'per session',
      ratio: r.ratioToCopy === null ? '' : `agate/COPY ${fixed(r.ratioToCopy, 2)}`,
      targets:
        r.scenario === 'agate-import'
          ? [target('>= 0.8x COPY', (r.ratioToCopy ?? Number.NaN) >= 0.8)]
          : [],
    }),
  );
}

function replayTargets(r: ReplayRow): Target[] {
  if (r.scenario === 'fold') {
    return [target('>= 1,000,000 events/s', (r.eventsPerSec ?? 0) >= 1_000_000)];
  }
  if (r.scenario === 'agate-genesis') {
    const found = [target('>= 0.5x raw read', (r.ratioToRaw ?? Number.NaN) >= 0.5)];
    if (r.events >= 100_000) found.push(target('< 200 MB RSS', (r.maxRssMb ?? Infinity) < 200));
    return found;
  }
  if (r.scenario.startsWith('snapshot-tail-')) {
    return [target('p50 <= 5 ms', (r.p50Ms ?? Infinity) <= 5)];
  }
  return [];
}

export function replaySummary(rows: readonly ReplayRow[]): SummaryRow[] {
  return rows.map((r) =>
    row('replay', r.label, {
      eventsPerSec: r.eventsPerSec,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      note: [
        r.ms === null ? '' : `${whole(r.ms)} ms`,
        r.maxRssMb === null
          ? ''
          : `RSS ${whole(r.maxRssMb)} MB (base ${whole(r.baseRssMb ?? Number.NaN)})`,
      ]
        .filter((s) => s !== '')
        .join(', '),
      ratio: r.ratioToRaw === null ? '' : `agate/raw ${fixed(r.ratioToRaw, 2)}`,
      targets: replayTargets(r),
    }),
  );
}

export function nightlySummary(measured: NightlyMeasured): SummaryRow[] {
  const runs = measured.runs.map((r) =>
    row('nightly', `nightly, ${whole(r.sessions)} sessions, ${r.label}`, {
      note: `${whole(r.wallMs)} ms, ${whole(r.sessionsPerSec)} sessions/s`,
    }),
  );
  const current = measured.currentState.rows.map((r) =>
    row('current', `current state, ${r.label}`, { p50Ms: r.p50Ms, p99Ms: r.p99Ms }),
  );
  return [...runs, ...current];
}

function feedTargets(r: FeedRow): Target[] {
  const ratio = r.ratio ?? Number.NaN;
  switch (r.scenario) {
    case 'feed-pages':
    case 'feed-consumer':
      return [target('>= 0.5x raw keyset read', ratio >= 0.5)];
    case 'commit-to-consumer':
    case 'commit-to-consumer-small-batches':
      return [
        target('p50 <= 50 ms', (r.p50Ms ?? Infinity) <= 50),
        target('p99 <= 250 ms', (r.p99Ms ?? Infinity) <= 250),
      ];
    case 'append-own-and-external':
      return [target('>= 0.9x own consumers alone', ratio >= 0.9)];
    case 'raw-keyset':
    case 'append-own':
    case 'append-none':
    case 'append-notify-inside':
      return [];
  }
}

export function feedSummary(rows: readonly FeedRow[]): SummaryRow[] {
  return rows.map((r) =>
    row('feed', r.label, {
      clients: r.clients,
      eventsPerSec: r.eventsPerSec,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      note: r.note,
      ratio: ratioText(r),
      targets: feedTargets(r),
    }),
  );
}

function num(value: number | null, digits: number): string {
  if (value === null) return '-';
  return digits === 0 ? whole(value) : fixed(value, digits);
}

/** Text columns (part, scenario, notes, ratio, targets) left-aligned, figures right-aligned. */
const leftColumns = new Set([0, 1, 6, 7, 8]);

export function formatSummary(rows: readonly SummaryRow[]): string {
  const header = [
    'part',
    'scenario',
    'clients',
    'events/s',
    'p50 ms',
    'p99 ms',
    'notes',
    'ratio',
    'targets (same run)',
  ];
  const lines = rows.map((r) => [
    r.part,
    r.label,
    r.clients === null ? '-' : String(r.clients),
    num(r.eventsPerSec, 0),
    num(r.p50Ms, 2),
    num(r.p99Ms, 2),
    r.note,
    r.ratio,
    r.targets.map((t) => `${t.met ? 'met' : 'MISSED'}: ${t.text}`).join('; '),
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...all.map((line) => (line[c] ?? '').length)));
  const render = (line: readonly string[]): string =>
    line
      .map((cell, c) =>
        leftColumns.has(c) ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join(
    '\n',
  );
}

export function verdictsSummary(rows: readonly VerdictsRow[]): SummaryRow[] {
  return rows.map((r) =>
    row('verdicts', `append ${r.batch}/batch, ${whole(r.length)} events, ${r.mode}`, {
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      note:
        r.extraP50Ms === null
          ? ''
          : `verdict extra p50 ${fixed(r.extraP50Ms, 2)} ms, p99 ${fixed(r.extraP99Ms ?? 0, 2)} ms`,
      ratio: r.ratio === null ? '' : `verdicts/plain ${fixed(r.ratio, 2)}`,
      targets: r.mode === 'warm' ? [target('verdict extra p50 <= 2 ms', warmTargetMet(r))] : [],
    }),
  );
}

/** The replica part (issue 19): appends beside replays, and the replica's replay rate. */
export function replicaSummary(rows: readonly ReplicaRow[]): SummaryRow[] {
  const onPrimary = rows.find((r) => r.phase.endsWith('primary'))?.replaysPerSec ?? null;
  return rows.map((r) => {
    const onReplica = r.phase.endsWith('replica');
    return row('replica', r.phase, {
      eventsPerSec: r.appendsPerSec,
      note: r.replaysPerSec === null ? '' : `${fixed(r.replaysPerSec, 1)} replays/s`,
      ratio:
        `appends x alone ${fixed(r.appendRatio, 2)}` +
        (onReplica && onPrimary !== null && r.replaysPerSec !== null
          ? `, replays replica/primary ${fixed(r.replaysPerSec / onPrimary, 2)}`
          : ''),
      targets: onReplica
        ? [target(`appends >= 0.9x alone (${fixed(r.appendRatio, 2)}x)`, r.appendRatio >= 0.9)]
        : [],
    });
  });
}
