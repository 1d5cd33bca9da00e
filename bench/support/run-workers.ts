/** What one timed call reports; a thrown error counts as a failure too. */
export type CallOutcome = { ok: true } | { ok: false; error: string };

/** One call of worker `worker` (0-based), its `iteration`-th (0-based). */
export type WorkerCall = (worker: number, iteration: number) => Promise<CallOutcome>;

export type RunStats = {
  okCalls: number;
  failures: number;
  /** The first few failure messages, to print. */
  failureSamples: string[];
  elapsedMs: number;
  /** Latency of each successful call, in milliseconds. */
  latenciesMs: number[];
};

const maxSamples = 5;

/**
 * Runs `clients` workers, each calling `call` back to back until `durationMs` has passed; a call
 * in flight at the deadline finishes and counts, and the elapsed time runs until the last one ends.
 */
export async function runWorkers(
  clients: number,
  durationMs: number,
  call: WorkerCall,
): Promise<RunStats> {
  const stats: RunStats = {
    okCalls: 0,
    failures: 0,
    failureSamples: [],
    elapsedMs: 0,
    latenciesMs: [],
  };
  function fail(message: string): void {
    stats.failures += 1;
    if (stats.failureSamples.length < maxSamples) stats.failureSamples.push(message);
  }
  const start = performance.now();
  const deadline = start + durationMs;
  async function worker(w: number): Promise<void> {
    for (let i = 0; performance.now() < deadline; i += 1) {
      const t0 = performance.now();
      try {
        const outcome = await call(w, i);
        if (outcome.ok) {
          stats.latenciesMs.push(performance.now() - t0);
          stats.okCalls += 1;
        } else {
          fail(outcome.error);
        }
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  stats.elapsedMs = performance.now() - start;
  return stats;
}

/** Worker `w` of `clients` owns sessions w, w+clients, ...: workers never share a session. */
export function sessionIndex(
  worker: number,
  iteration: number,
  clients: number,
  sessions: number,
): number {
  const owned = Math.ceil((sessions - worker) / clients);
  return worker + (iteration % owned) * clients;
}
