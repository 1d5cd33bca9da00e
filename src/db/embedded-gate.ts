import { AgateError } from '../errors/index.js';

/**
 * The turnstile in front of PGlite's one session: one holder at a time (a client for the span of
 * its transaction, or of one autocommit statement), the others wait in arrival order.
 */
export type SessionGate = {
  readonly holder: object | null;
  acquire(owner: object): Promise<void>;
  /** Hands the session to the next waiter; a no-op for an owner that does not hold it. */
  release(owner: object): void;
};

type Waiter = { owner: object; resolve: () => void; timer: NodeJS.Timeout | undefined };

function waitedTooLong(waitTimeoutMs: number): AgateError {
  return new AgateError(
    'timeout',
    `Waited ${waitTimeoutMs} ms for the embedded database, which runs one transaction at a time. A transaction is open too long, or code opened a second transaction (or pool query) while holding one, which cannot finish in embedded mode: run the inner work in the same transaction, or after it commits.`,
  );
}

/** `waitTimeoutMs` 0 waits forever. */
export function createSessionGate(waitTimeoutMs: number): SessionGate {
  let holder: object | null = null;
  const queue: Waiter[] = [];
  return {
    get holder() {
      return holder;
    },
    acquire(owner) {
      if (holder === null && queue.length === 0) {
        holder = owner;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { owner, resolve, timer: undefined };
        if (waitTimeoutMs > 0) {
          waiter.timer = setTimeout(() => {
            queue.splice(queue.indexOf(waiter), 1);
            reject(waitedTooLong(waitTimeoutMs));
          }, waitTimeoutMs);
        }
        queue.push(waiter);
      });
    },
    release(owner) {
      if (holder !== owner) return;
      const next = queue.shift();
      holder = next?.owner ?? null;
      if (next !== undefined) {
        clearTimeout(next.timer);
        next.resolve();
      }
    },
  };
}

/** One client's way through the gate: its statements in order, each holding the session as needed. */
export type Lane = {
  /** Runs `work` holding the session, and keeps holding it while a transaction stays open. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** After the lane's pending work: rolls back a transaction it left open, and lets go of the session. */
  abandon(rollback: () => Promise<unknown>): Promise<void>;
};

/** `idle()` says whether the session is outside a transaction after the lane's last statement. */
export function createLane(gate: SessionGate, owner: object, idle: () => boolean): Lane {
  let tail: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(step: () => Promise<T>): Promise<T> => {
    const result = tail.then(step);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    run: (work) =>
      enqueue(async () => {
        if (gate.holder !== owner) await gate.acquire(owner);
        try {
          return await work();
        } finally {
          if (idle()) gate.release(owner);
        }
      }),
    abandon: (rollback) =>
      enqueue(async () => {
        if (gate.holder !== owner) return;
        try {
          if (!idle()) await rollback();
        } catch {
          // The session is closing or already outside the transaction: nothing left to undo.
        } finally {
          gate.release(owner);
        }
      }),
  };
}
