// CPU time of processes from /proc/<pid>/stat (utime + stime), for CPU per event per process.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of `pid` in microseconds, or null when it is gone or unreadable. */
export function cpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1_000_000) / ticksPerSecond : null;
  } catch {
    return null;
  }
}

/** CPU of a set of processes at one moment: pid → microseconds. */
export function sampleCpu(pids: Iterable<number>): Map<number, number> {
  const sample = new Map<number, number>();
  for (const pid of pids) {
    const micros = cpuMicros(pid);
    if (micros !== null) sample.set(pid, micros);
  }
  return sample;
}

/** CPU spent between two samples, summed; a pid only in `after` counts from zero. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0);
  return total;
}
