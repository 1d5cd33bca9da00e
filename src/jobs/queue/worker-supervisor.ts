/** What the supervisor needs of a worker: BullMQ's `close()` lets the jobs in flight finish. */
export type ClosableWorker = { close(): Promise<void> };

/** Where shutdown signals come from: `process`, or an emitter in tests. */
export type SignalSource = {
  once(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
};

export type WorkerSupervisorOptions = {
  signals?: readonly NodeJS.Signals[];
  source?: SignalSource;
};

/**
 * Owns a process's workers. On the first SIGTERM or SIGINT (or `stop()`) it closes them all,
 * waiting for their current jobs, and then settles `closed`; the process exits when nothing else
 * holds it open. A job cut off anyway (SIGKILL) is rerun by another worker's stalled check.
 */
export class WorkerSupervisor {
  readonly closed: Promise<void>;
  readonly #workers: readonly ClosableWorker[];
  readonly #signals: readonly NodeJS.Signals[];
  readonly #source: SignalSource;
  #stopping: Promise<void> | undefined;
  #settle: (outcome: Promise<void>) => void = () => {};

  constructor(workers: readonly ClosableWorker[], options: WorkerSupervisorOptions = {}) {
    this.#workers = workers;
    this.#signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    this.#source = options.source ?? process;
    this.closed = new Promise<void>((resolve) => {
      this.#settle = resolve;
    });
    // A failed close rejects `closed` for whoever awaits it, without an unhandled rejection.
    this.closed.catch(() => {});
    for (const signal of this.#signals) this.#source.once(signal, this.#onSignal);
  }

  /** Closes every worker (once; later calls return the same promise). */
  stop(): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    for (const signal of this.#signals) this.#source.off(signal, this.#onSignal);
    this.#stopping = closeAll(this.#workers);
    this.#settle(this.#stopping);
    return this.#stopping;
  }

  readonly #onSignal = (): void => {
    this.stop().catch(() => {}); // observed through `closed`
  };
}

async function closeAll(workers: readonly ClosableWorker[]): Promise<void> {
  const results = await Promise.allSettled(workers.map((worker) => worker.close()));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} worker(s) failed to close`);
  }
}
