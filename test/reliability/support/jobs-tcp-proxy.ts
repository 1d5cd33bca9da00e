import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';

export type TcpProxy = {
  /** The target URL with this proxy's host and port in place of the target's. */
  url: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Drops every connection and refuses new ones, as a Redis that went away. */
  cut(): Promise<void>;
};

/**
 * A TCP proxy on 127.0.0.1 in front of the server `targetUrl` names (redis://host:port...), so
 * that a test can cut one process's connections without touching the server others share.
 */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted += 1;
    const upstream = connect(Number(target.port || 6379), target.hostname);
    const pair = [client, upstream];
    for (const socket of pair) {
      sockets.add(socket);
      socket.on('error', () => pair.forEach((s) => s.destroy()));
      socket.on('close', () => {
        sockets.delete(socket);
        pair.forEach((s) => s.destroy());
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  let closed: Promise<void> | undefined;
  return {
    url: url.toString(),
    accepted: () => accepted,
    cut() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
