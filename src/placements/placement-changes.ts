import { connectClient } from '../db/index.js';
import { placementChannel } from './placement-channel.js';
import type { PlacementRouter } from './placement-router.js';

/** `LISTEN agate_placements` on the control plane for a router; see `listenForPlacementChanges`. */
export type PlacementChanges = {
  /** Resolves once the first LISTEN is active, or the first attempt failed (it is retried). */
  ready(): Promise<void>;
  close(): Promise<void>;
};

export type PlacementChangesOptions = {
  /** The control plane's URL (DATABASE_URL), a PostgreSQL server. */
  connectionString: string;
  router: Pick<PlacementRouter, 'forget' | 'forgetAll'>;
  /** Told of a lost or failed LISTEN connection; it is opened again `reconnectMs` later. */
  onError?: (error: unknown) => void;
  /** Wait before opening the connection again (default 1,000 ms). */
  reconnectMs?: number;
};

/**
 * Keeps a router's remembered placements true to the control plane across processes: each
 * tenant id a move announces (`announcePlacementChange`) is forgotten, so its next request asks
 * again. On a dedicated connection; whenever it is lost, or could not be opened, every placement
 * is forgotten (a move may have been announced meanwhile) and the connection is opened again.
 * A missed announcement costs a moved tenant's writes one `tenant_moving` answer (its old
 * placement's fence refuses them and the API forgets it), its reads the old placement's copy
 * until the connection is back.
 */
export function listenForPlacementChanges(options: PlacementChangesOptions): PlacementChanges {
  const { router } = options;
  const onError = options.onError ?? (() => undefined);
  const reconnectMs = options.reconnectMs ?? 1_000;
  let closed = false;
  let stop: (() => Promise<void>) | undefined;

  const again = () => {
    router.forgetAll();
    if (!closed) setTimeout(() => void connect(), reconnectMs).unref();
  };
  const connect = async (): Promise<void> => {
    if (closed) return;
    const client = await connectClient({
      connectionString: options.connectionString,
      applicationName: 'agate-placements',
    }).catch((error: unknown) => {
      onError(error);
      return undefined;
    });
    if (client === undefined) {
      again();
      return;
    }
    if (closed) {
      await client.end();
      return;
    }
    client.on('notification', (message) => {
      if (message.payload !== undefined) router.forget(message.payload);
    });
    // Ending the connection (here or by the server) opens the next one, unless closed.
    client.on('end', () => {
      if (closed) return;
      onError(new Error('The placement changes LISTEN connection ended; reconnecting.'));
      again();
    });
    stop = () => client.end();
    try {
      await client.query(`LISTEN ${placementChannel}`);
      // Whatever was looked up before the LISTEN may have moved since.
      router.forgetAll();
    } catch (error) {
      onError(error);
      await client.end().catch(() => undefined);
    }
  };
  const started = connect();

  return {
    ready: () => started,
    async close() {
      closed = true;
      await started;
      await stop?.().catch(() => undefined);
    },
  };
}
