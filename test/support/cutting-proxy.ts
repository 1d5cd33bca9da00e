/**
 * A TCP proxy of the tests' own (127.0.0.1, a free port) that cuts connections mid-stream: each
 * connection may carry a number of bytes from the server drawn from a seeded generator, and when
 * a chunk would cross it, the part before the cut is forwarded and both sockets are destroyed.
 * Seeded, so the schedule of cut sizes is the same in every run (where a cut lands in the HTTP
 * exchange still depends on timing).
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export type CuttingProxyOptions = {
  target: { host: string; port: number };
  seed: number;
  /** Each connection is cut after a number of server bytes in [minBytes, maxBytes]. */
  minBytes: number;
  maxBytes: number;
};

export type CuttingProxy = {
  url: string;
  /** Connections cut so far. */
  cuts(): number;
  connections(): number;
  close(): Promise<void>;
};

/** mulberry32: a small, fixed, seeded generator of numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export async function startCuttingProxy(options: CuttingProxyOptions): Promise<CuttingProxy> {
  const random = seededRandom(options.seed);
  const sockets = new Set<Socket>();
  let cuts = 0;
  let connections = 0;
  const listener = createServer((client) => {
    connections += 1;
    const budget =
      options.minBytes + Math.floor(random() * (options.maxBytes - options.minBytes + 1));
    let sent = 0;
    let cut = false;
    const server = connect(options.target.port, options.target.host);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        server.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => server.write(chunk));
    server.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (sent + chunk.length <= budget) {
        sent += chunk.length;
        client.write(chunk);
        return;
      }
      cuts += 1;
      cut = true;
      client.end(chunk.subarray(0, budget - sent), () => {
        client.destroy();
        server.destroy();
      });
      server.pause();
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cuts: () => cuts,
    connections: () => connections,
    async close() {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
