/**
 * Runs work for one session at a time in this process, in arrival order; work for other
 * sessions runs alongside. Appends with verdicts go through it, so writers in one process never
 * judge from a state another of them is about to move past (the session lock orders them in
 * the database anyway); writers in other processes are caught by the expected sequence.
 */
export type SessionQueue = <T>(key: string, work: () => Promise<T>) => Promise<T>;

export function createSessionQueue(): SessionQueue {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
