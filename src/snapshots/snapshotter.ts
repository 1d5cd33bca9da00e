import { AgateError } from '../errors/index.js';
import { getSession } from '../events/index.js';
import type { AfterAppend } from '../events/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { snapshotBoundaries } from './boundaries.js';
import { writeSnapshot } from './write-snapshot.js';
import type { WrittenSnapshot } from './write-snapshot.js';

/**
 * The inline snapshotter: after a committed append, writes the snapshots its batch called for.
 * (With a queue configured, the jobs module hands the same work to workers instead.)
 */
export function inlineSnapshotter(deps: ReplayDeps): AfterAppend {
  return async (batch) => {
    // The batch names its session's rules: no read on the append path unless a boundary is crossed.
    const rules = deps.games.find(batch.rules, batch.rulesVersion);
    if (rules === undefined) return;
    for (const boundary of snapshotBoundaries(
      batch.firstSequence,
      batch.types,
      rules.dayBoundaryTypes,
    )) {
      await writeSnapshot(deps, {
        tenantId: batch.tenantId,
        sessionId: batch.sessionId,
        ...boundary,
      });
    }
  };
}

/** A manual snapshot of the session's current state. */
export async function snapshotSession(
  deps: ReplayDeps,
  ref: { tenantId: string; sessionId: string },
): Promise<WrittenSnapshot> {
  const session = await getSession(deps, ref);
  if (session.lastSequence === 0) {
    throw new AgateError(
      'invalid_request',
      `Session ${session.id} has no events yet; there is nothing to snapshot.`,
    );
  }
  return writeSnapshot(deps, { ...ref, sequence: session.lastSequence, reason: 'manual' });
}
