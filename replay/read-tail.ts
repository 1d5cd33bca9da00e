import type { PoolClient } from '../src/db/index.js';
import { boundsOf, selectEventPage } from '../src/events/index.js';
import type { Session, StoredEvent } from '../src/events/index.js';

const pageSize = 2_000;

/** The session's events after `after` up to `to`, a page at a time, in the caller's transaction. */
export async function* readTail(
  tx: PoolClient,
  session: Session,
  after: number,
  to: number,
): AsyncGenerator<StoredEvent> {
  const bounds = boundsOf(session);
  let cursor = after;
  while (cursor < to) {
    const page = await selectEventPage(tx, session.id, bounds, cursor, to, pageSize);
    if (page.length === 0) return;
    yield* page;
    cursor = page[page.length - 1]?.sequence ?? to;
  }
}

/** The chain hash of the event at `sequence`: where the chain check resumes after a snapshot. */
export async function chainHashAt(
  tx: PoolClient,
  session: Session,
  sequence: number,
): Promise<Buffer | undefined> {
  const [event] = await selectEventPage(
    tx,
    session.id,
    boundsOf(session),
    sequence - 1,
    sequence,
    1,
  );
  return event?.sequence === sequence ? Buffer.from(event.hash, 'hex') : undefined;
}
