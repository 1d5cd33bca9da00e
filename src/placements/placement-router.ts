import { schemaStatus, withMaintenance } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { Pool } from '../db/index.js';
import { databaseUrlVariable } from './database-servers.js';
import { databaseNameOf, parsePlacement } from './placement.js';
import type { Placement } from './placement.js';
import { selectPlacement } from './placements.queries.js';

/**
 * One placement this process can reach: the store, replay and consumers over its database, and
 * an Agate over its streaming replica when one is configured (reads only, ADR 0033).
 */
export type PlacedAgate<A extends PlacementStore = PlacementStore> = {
  placement: Placement;
  agate: A;
  replica: A | null;
};

/** What the router needs of a placement's store (an `Agate` is one): its pool, and closing it. */
export type PlacementStore = { pool: Pool; close(): Promise<void> };

/**
 * Routes each tenant to the database that holds its data (ADR 0032). The control plane's Agate
 * (DATABASE_URL) holds tenants, keys and placements, and the `shared` tenants' data; each
 * configured server (`AGATE_DATABASE_URL_<NAME>`) has an Agate of its own, with its own bounded
 * pool and its own consumers, so an unreachable server fails only the tenants placed on it.
 */
export type PlacementRouter<A extends PlacementStore = PlacementStore> = {
  readonly control: A;
  /**
   * The tenant's placement, from the control plane (remembered: it changes only by a move, which
   * announces it; see `forget` and `listenForPlacementChanges`).
   */
  placementOf(tenantId: string): Promise<Placement>;
  /**
   * Drops what is remembered of the tenant's placement: its next request asks the control plane
   * again. A lookup in flight meanwhile answers its caller but is not remembered.
   */
  forget(tenantId: string): void;
  /** Drops every remembered placement (after notifications of moves may have been missed). */
  forgetAll(): void;
  /** The tenant's placement and its Agates; `placement_unavailable` when this process has none. */
  agateFor(tenantId: string): Promise<PlacedAgate<A>>;
  /** The Agate of a placement by name; `placement_unavailable` when it is not configured here. */
  agateOf(placement: Placement): A;
  /** Every placement this process can reach, `shared` first: for work over every tenant. */
  all(): readonly PlacedAgate<A>[];
  /** Closes every placement's Agate and ends the pools it opened (not the control plane's). */
  close(): Promise<void>;
};

export type PlacementRouterOptions<A extends PlacementStore> = {
  control: A;
  /** The Agate of each configured database server, by name. */
  databases?: ReadonlyMap<string, A>;
  /** An Agate over each placement's streaming replica, where one is configured. */
  replicas?: ReadonlyMap<Placement, A>;
  /** Ends a database server's pool when the router closes (the caller opened it). */
  endPool?: (agate: A) => Promise<void>;
  /** Tenants whose placement is remembered, least recently used out first. */
  capacity?: number;
};

const defaultCapacity = 100_000;

export function createPlacementRouter<A extends PlacementStore>(
  options: PlacementRouterOptions<A>,
): PlacementRouter<A> {
  const { control } = options;
  const databases = options.databases ?? new Map<string, A>();
  const capacity = options.capacity ?? defaultCapacity;
  const known = new Map<string, Placement>();
  // Counts forgets, so that a lookup which started before one is not remembered after it.
  let forgets = 0;

  const remember = (tenantId: string, placement: Placement, since: number) => {
    if (since !== forgets) return;
    known.delete(tenantId);
    known.set(tenantId, placement);
    if (known.size > capacity) {
      const oldest = known.keys().next();
      if (oldest.done !== true) known.delete(oldest.value);
    }
  };

  const placementOf = async (tenantId: string): Promise<Placement> => {
    const key = tenantId.toLowerCase();
    const cached = known.get(key);
    if (cached !== undefined) return cached;
    const since = forgets;
    const stored = await withMaintenance(control.pool, (tx) => selectPlacement(tx, key));
    if (stored === undefined) {
      throw new AgateError('tenant_not_found', `No tenant ${key}; check the tenant id.`);
    }
    const placement = parsePlacement(stored);
    remember(key, placement, since);
    return placement;
  };

  const replicas = options.replicas ?? new Map<Placement, A>();
  const all: PlacedAgate<A>[] = [
    { placement: 'shared', agate: control, replica: replicas.get('shared') ?? null },
    ...[...databases].map(([name, agate]) => ({
      placement: `database:${name}` as const,
      agate,
      replica: replicas.get(`database:${name}`) ?? null,
    })),
  ];
  const byPlacement = new Map(all.map((p) => [p.placement, p]));

  const placed = (placement: Placement): PlacedAgate<A> => {
    const found = byPlacement.get(placement);
    if (found !== undefined) return found;
    const name = databaseNameOf(placement) ?? '';
    throw new AgateError(
      'placement_unavailable',
      `This process has no database server ${name} (placement ${placement}); its operator must set ${databaseUrlVariable(name)} and restart it.`,
      { details: { placement } },
    );
  };

  return {
    control,
    placementOf,
    forget(tenantId) {
      forgets += 1;
      known.delete(tenantId.toLowerCase());
    },
    forgetAll() {
      forgets += 1;
      known.clear();
    },
    agateOf: (placement) => placed(placement).agate,
    agateFor: async (tenantId) => placed(await placementOf(tenantId)),
    all: () => all,
    async close() {
      for (const agate of [...databases.values(), ...replicas.values()]) {
        await agate.close();
        await options.endPool?.(agate);
      }
    },
  };
}

/** Where a placement's database is: `up` at the expected migration, `out_of_date`, or `down`. */
export type PlacementState = 'up' | 'down' | 'out_of_date';

/** The state of `store`'s database, for `/readyz` and `agate_placement_up`; never rejects. */
export function placementState(store: PlacementStore): Promise<PlacementState> {
  return schemaStatus(store.pool).then(
    (status): PlacementState => (status.pending.length > 0 ? 'out_of_date' : 'up'),
    (): PlacementState => 'down',
  );
}
