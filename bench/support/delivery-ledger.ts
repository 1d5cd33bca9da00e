/**
 * Counts the deliveries of each expected (session, sequence), to check that a reader saw every
 * stored event exactly once and each session's in sequence order. One byte per event, so a
 * million events cost a megabyte, not a set of a million strings.
 */
export type DeliveryLedger = {
  record(sessionId: string, sequence: number): void;
  /** Problems found, each prefixed with `name`; empty when every event came exactly once, in order. */
  problems(name: string): string[];
  delivered(): number;
};

export function createDeliveryLedger(expected: ReadonlyMap<string, number>): DeliveryLedger {
  const seen = new Map<string, { counts: Uint8Array; last: number }>();
  for (const [sessionId, last] of expected) {
    seen.set(sessionId, { counts: new Uint8Array(last + 1), last: 0 });
  }
  let delivered = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  return {
    record(sessionId, sequence) {
      delivered += 1;
      const entry = seen.get(sessionId);
      if (entry === undefined || sequence < 1 || sequence >= entry.counts.length) {
        unexpected += 1;
        return;
      }
      if (sequence !== entry.last + 1) outOfOrder += 1;
      entry.last = sequence;
      entry.counts[sequence] = Math.min(255, (entry.counts[sequence] ?? 0) + 1);
    },
    delivered: () => delivered,
    problems(name) {
      let missing = 0;
      let repeated = 0;
      for (const { counts } of seen.values()) {
        for (let s = 1; s < counts.length; s += 1) {
          const n = counts[s] ?? 0;
          if (n === 0) missing += 1;
          else if (n > 1) repeated += 1;
        }
      }
      const found: string[] = [];
      if (missing > 0) found.push(`${name}: ${missing} stored event(s) never delivered`);
      if (repeated > 0) found.push(`${name}: ${repeated} event(s) delivered more than once`);
      if (unexpected > 0)
        found.push(`${name}: ${unexpected} delivered event(s) that were not stored`);
      if (outOfOrder > 0) {
        found.push(`${name}: ${outOfOrder} event(s) out of their session's sequence order`);
      }
      return found;
    },
  };
}
