import { createEventStore } from '../../src/events/index.js';
import type { EventStore, Session, StoredEvent } from '../../src/events/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from './test-database.js';
import type { TestDatabase } from './test-database.js';
import { tinyCatalog } from './tiny-game.js';

export type StoreFixture = { db: TestDatabase; store: EventStore; newTenant(): Promise<string> };

export async function createStoreFixture(options: { max?: number } = {}): Promise<StoreFixture> {
  const db = await createTestDatabase(options);
  const store = createEventStore({ pool: db.pool, catalog: tinyCatalog });
  return {
    db,
    store,
    newTenant: async () => (await createTenant(db.pool, { name: 'test tenant', actor: 'test' })).id,
  };
}

export async function allEvents(
  store: EventStore,
  session: Pick<Session, 'tenantId' | 'id'>,
): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const e of store.streamEvents({ tenantId: session.tenantId, sessionId: session.id })) {
    events.push(e);
  }
  return events;
}
