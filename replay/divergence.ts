/**
 * What a replay found wrong. `chain`: a stored event (or its hash) was changed behind the store's
 * back; `missing`: the store does not have events `sequence`..`lastMissing` (deleted, or in
 * months that are gone: `goneMonths`), so the replay cannot reach its target; `gap`/`duplicate`:
 * the sequence of the events given to a fold is broken (replay's reader reports a skipped
 * sequence as `missing` before the fold sees it); `head`: the session's head hash is not the end
 * of the chain; `anchor`: the chain's hash at a sequence differs from the head the nightly job
 * recorded for it (a rewrite that recomputed every later hash and the head); `snapshot`: a stored
 * snapshot disagrees with the replayed state at its sequence;
 * `snapshot_corrupt`: a snapshot's state does not hash to its own recorded hash (never used).
 */
export type DivergenceKind =
  'chain' | 'missing' | 'gap' | 'duplicate' | 'head' | 'anchor' | 'snapshot' | 'snapshot_corrupt';

export type Divergence = {
  kind: DivergenceKind;
  sequence: number;
  /** The event at that sequence, where there is one. */
  event: { eventId: string; type: string } | null;
  message: string;
  expectedHash?: string;
  actualHash?: string;
  /** The last of the missing events (`missing`: they are `sequence`..`lastMissing`). */
  lastMissing?: number;
  /** Months of the session's time range that no partition holds any more ('YYYY-MM'; `missing`). */
  goneMonths?: string[];
  /** JSON paths whose values differ (snapshot divergences). */
  paths?: string[];
};
