import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { Figure } from './tally.js';

function summarize(figures: readonly Figure[]): string {
  const sums = new Map<string, Figure>();
  for (const f of figures) {
    const key = `${f.section}\u0000${f.what}`;
    const seen = sums.get(key);
    sums.set(key, seen === undefined ? { ...f } : { ...seen, value: seen.value + f.value });
  }
  const rows = [...sums.values()].sort((a, b) => a.section.localeCompare(b.section));
  const width = Math.max(...rows.map((r) => `${r.section}: ${r.what}`.length), 10);
  const lines = rows.map((r) => {
    const flag = r.mustBeZero === true ? (r.value === 0 ? '  ok' : '  MUST BE 0') : '';
    return `  ${`${r.section}: ${r.what}`.padEnd(width)}  ${String(r.value).padStart(10)}${flag}`;
  });
  return ['', 'reliability summary', ...lines, ''].join('\n');
}

/** Gives the reliability files a place for their figures and prints them all at the end. */
export function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'agate-reliability-'));
  project.provide('reliabilityTallyDir', dir);
  return () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    const figures = files.flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Figure),
    );
    if (figures.length > 0) console.log(summarize(figures));
    rmSync(dir, { recursive: true, force: true });
  };
}
