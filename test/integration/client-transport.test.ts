import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgateClient, AgateClientError } from '../../src/client/index.js';
import type { NewEvent } from '../../src/client/index.js';
import { nodeTransport } from '../../src/client/http-transport.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { jsonAnswer, startRawHttpServer } from '../support/raw-http-server.js';
import type { RawHttpServer } from '../support/raw-http-server.js';
import { repoRoot } from '../support/run-cli.js';

let api: ApiFixture;
let server: TestKey;
let baseUrl: string;
const raw: RawHttpServer[] = [];

beforeAll(async () => {
  api = await createApiFixture();
  server = await api.newKey(await api.newTenant(), 'game_server');
  baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await Promise.all(raw.map((r) => r.close()));
  await api.close();
});

const inc = (by: number, eventId: string): NewEvent => ({
  type: 'counter.incremented',
  version: 1,
  data: { by },
  eventId,
});
const session = { id: '0193a3c0-0000-7000-8000-000000000001', lastSequence: 0, status: 'active' };

async function rawServer(answer: Parameters<typeof startRawHttpServer>[0]) {
  const started = await startRawHttpServer(answer);
  raw.push(started);
  return started;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('it resolved'),
    (e: unknown) => e,
  );
}

describe('the client over node:http', () => {
  it('answers every call as it does through fetch, refusals and duplicates included', async () => {
    const viaHttp = new AgateClient({ baseUrl, apiKey: server.key });
    const viaFetch = new AgateClient({ baseUrl, apiKey: server.key, fetch: (i, o) => fetch(i, o) });
    const created = await viaHttp.createSession({ rules: 'tiny', seed: 'transport' });
    const events = [
      inc(2, '0193a3c0-0000-7000-8000-0000000000a1'),
      inc(3, '0193a3c0-0000-7000-8000-0000000000a2'),
    ];
    const first = await viaHttp.append(created.id, events, { expectedSequence: 0 });
    const again = await viaFetch.append(created.id, events, { expectedSequence: 0 });
    expect(first).toMatchObject({ firstSequence: 1, lastSequence: 2, duplicate: false });
    expect(again).toEqual({ ...first, duplicate: true });
    const read = async (client: AgateClient) => {
      const pages = [];
      for await (const page of client.readEvents(created.id, { pageSize: 1 })) pages.push(page);
      return [await client.getSession(created.id), await client.state(created.id), pages];
    };
    expect(await read(viaHttp)).toEqual(await read(viaFetch));
    const missing = (client: AgateClient) => rejection(client.getSession(session.id));
    const [refusedHttp, refusedFetch] = [await missing(viaHttp), await missing(viaFetch)];
    expect(refusedHttp).toBeInstanceOf(AgateClientError);
    expect(refusedHttp).toEqual(refusedFetch);
  });

  it('rejects with the abort reason, before sending and while waiting for the answer', async () => {
    const arrived: Array<() => void> = [];
    const hanging = createServer(() => arrived.shift()?.());
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/v1/games`;
    const send = nodeTransport();
    try {
      const early = new Error('stopped before');
      const before = await rejection(
        send({ method: 'GET', url, headers: {}, signal: AbortSignal.abort(early) }),
      );
      expect(before).toBe(early);
      const controller = new AbortController();
      const reached = new Promise<void>((resolve) => arrived.push(resolve));
      const pending = rejection(
        send({ method: 'GET', url, headers: {}, signal: controller.signal }),
      );
      await reached;
      const late = new Error('stopped while waiting');
      controller.abort(late);
      expect(await pending).toBe(late);
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  it('fails a request whose server stays silent past the idle timeout', async () => {
    const silent = await rawServer(() => undefined);
    const send = nodeTransport({ idleTimeoutMs: 50 });
    const error = await rejection(
      send({ method: 'GET', url: `${silent.url}/v1/games`, headers: {} }),
    );
    expect((error as Error).message).toBe('the server sent nothing for 50 ms');
    expect(silent.requests()).toBe(1);
  });

  it('retries a call whose answer is cut mid-body and returns only the whole answer', async () => {
    const cut = await rawServer((socket, request) => {
      const whole = jsonAnswer(200, { ...session, cut: false });
      if (request.overall === 1)
        socket.end(jsonAnswer(200, { ...session, cut: true }).slice(0, -8));
      else if (request.overall === 2) {
        const chunk = JSON.stringify({ ...session, cut: true });
        socket.end(
          `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`,
        );
      } else socket.write(whole);
    });
    const client = new AgateClient({ baseUrl: cut.url, apiKey: 'k', backoffMs: 1 });
    expect(await client.getSession(session.id)).toEqual({ ...session, cut: false });
    expect([cut.requests(), cut.connections()]).toEqual([3, 3]);
  });

  it('gives network_error after the retries when every answer is cut, and never retries createSession', async () => {
    const cut = await rawServer((socket) => socket.end(jsonAnswer(201, session).slice(0, -3)));
    const client = new AgateClient({ baseUrl: cut.url, apiKey: 'k', backoffMs: 1, retries: 2 });
    const read = await rejection(client.getSession(session.id));
    expect(read).toMatchObject({ code: 'network_error', status: 0 });
    expect(cut.requests()).toBe(3);
    const create = await rejection(client.createSession({ rules: 'tiny' }));
    expect(create).toMatchObject({ code: 'network_error' });
    expect(cut.requests()).toBe(4);
  });

  it('sends again on a new connection when the server closes a kept-alive one under a request', async () => {
    const closing = await rawServer((socket, request) => {
      if (request.onConnection === 2) socket.destroy();
      else socket.write(jsonAnswer(200, session));
    });
    const client = new AgateClient({ baseUrl: closing.url, apiKey: 'k', backoffMs: 1 });
    await client.getSession(session.id);
    expect(await client.getSession(session.id)).toEqual(session);
    expect([closing.requests(), closing.connections()]).toEqual([3, 2]);
  });

  it('closes an idle connection before the Keep-Alive timeout the server names, then opens a new one', async () => {
    const closed: Array<Promise<void>> = [];
    // This server never closes a connection itself: only the client can end one.
    const hinting = await rawServer((socket) => {
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      socket.write(
        jsonAnswer(200, session).replace('\r\n\r\n', '\r\nkeep-alive: timeout=2\r\n\r\n'),
      );
    });
    const client = new AgateClient({ baseUrl: hinting.url, apiKey: 'k' });
    await client.getSession(session.id);
    await closed[0];
    expect(await client.getSession(session.id)).toEqual(session);
    expect([hinting.requests(), hinting.connections()]).toEqual([2, 2]);
  });

  it('gives network_error, naming the refusal, when nothing listens at baseUrl', async () => {
    const gone = await rawServer(() => undefined);
    await gone.close();
    const client = new AgateClient({ baseUrl: gone.url, apiKey: 'k', backoffMs: 1, retries: 1 });
    const error = await rejection(client.games());
    expect(error).toMatchObject({ code: 'network_error', status: 0 });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('lets a process exit while its kept-alive connections are idle (the built client)', async () => {
    // It exits by itself (no timer, no close call) with the answer printed: 1, the tiny game.
    const out = await runBuiltClient(['console.log((await client.games()).length);']);
    expect(out).toEqual({ code: 0, stdout: '1\n' });
  });

  it('sends through the global fetch where process.versions.node is absent, as in a browser', async () => {
    const out = await runBuiltClient(
      ['const games = await client.games();', 'console.log(games.length, fetched);'],
      [
        // Node's fetch (undici) itself reads process.versions when first used: load it before.
        'const realFetch = globalThis.fetch;',
        "await realFetch('data:,');",
        'let fetched = 0;',
        'globalThis.fetch = (input, init) => ((fetched += 1), realFetch(input, init));',
        "Object.defineProperty(process, 'versions', { value: {} });",
      ],
    );
    expect(out).toEqual({ code: 0, stdout: '1 1\n' });
  });
});

/** Runs `lines` in a fresh Node process with `client`, the built AgateClient on the fixture. */
function runBuiltClient(
  lines: string[],
  before: string[] = [],
): Promise<{ code: number | null; stdout: string }> {
  const script = [
    ...before,
    `const { AgateClient } = await import(${JSON.stringify(`${repoRoot}/dist/src/client/index.js`)});`,
    `const client = new AgateClient({ baseUrl: ${JSON.stringify(baseUrl)}, apiKey: ${JSON.stringify(server.key)} });`,
    ...lines,
  ].join('\n');
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', script], (_, stdout) =>
      resolve({ code: child.exitCode, stdout }),
    );
  });
}
