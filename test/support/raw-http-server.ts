/**
 * An HTTP/1.1 server of raw bytes on 127.0.0.1 (a free port), for answers no real server sends:
 * cut mid-body, a kept-alive connection closed under a request, no answer at all. Each whole
 * request (headers and a Content-Length body) is handed to `answer` with its number overall and
 * on its connection; `answer` writes to the socket, or destroys it, as it likes.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export type RawRequest = { head: string; overall: number; onConnection: number };

export type RawHttpServer = {
  url: string;
  requests(): number;
  connections(): number;
  close(): Promise<void>;
};

export async function startRawHttpServer(
  answer: (socket: Socket, request: RawRequest) => void,
): Promise<RawHttpServer> {
  const sockets = new Set<Socket>();
  let requests = 0;
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let onConnection = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.slice(0, end);
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        requests += 1;
        onConnection += 1;
        answer(socket, { head, overall: requests, onConnection });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A whole JSON answer on a kept-alive connection, as bytes to write (or to cut short). */
export function jsonAnswer(status: number, body: unknown): string {
  const text = JSON.stringify(body);
  return [
    `HTTP/1.1 ${status} OK`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(text)}`,
    'connection: keep-alive',
    '',
    text,
  ].join('\r\n');
}
