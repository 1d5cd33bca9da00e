import { AgateError } from '../errors/index.js';
import { getSession } from '../events/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { writeSnapshot } from './write-snapshot.js';
import type { WrittenSnapshot } from './write-snapshot.js';

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
