import createClient from 'openapi-fetch';
import type { Client } from 'openapi-fetch';
import type { components, paths } from './agate-api.generated.js';

// The game-server, analyst and admin flows written only against the client generated from
// /openapi.json (test/support/agate-api.generated.ts): if the document stops describing what a
// flow sends or reads, this file stops type-checking. Every response is recorded for validation.

export type AgateApi = Client<paths>;

/** One response as it arrived, with the document path (`/v1/sessions/{id}`) that produced it. */
export type RecordedResponse = {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: unknown;
};

export function createRecordingClient(
  fetch: (request: Request) => Promise<Response>,
  key: string,
  log: RecordedResponse[],
): AgateApi {
  const client = createClient<paths>({
    baseUrl: 'http://agate.test',
    fetch,
    headers: { authorization: `Bearer ${key}` },
  });
  client.use({
    async onResponse({ request, response, schemaPath }) {
      const text = await response.clone().text();
      log.push({
        method: request.method,
        path: schemaPath,
        status: response.status,
        contentType: response.headers.get('content-type') ?? '',
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      });
    },
  });
  return client;
}

function must<T>(result: { data?: T; error?: unknown }, what: string): T {
  if (result.data === undefined) throw new Error(`${what}: ${JSON.stringify(result.error)}`);
  return result.data;
}

/** A game server: player, session, appends (with a retry), a page of events, state, the end. */
export async function gameServerFlow(api: AgateApi): Promise<{ sessionId: string }> {
  const player = must(await api.POST('/v1/players', { body: { displayName: 'Ada' } }), 'player');
  const created = must(
    await api.POST('/v1/sessions', {
      body: { rules: 'tiny', seed: 'generated-client', playerId: player.id, config: {} },
    }),
    'session',
  );
  // Typed by the document: each event is one of the tiny game's (TinyV1Event), checked here.
  const batch: components['schemas']['AppendEvents'] = {
    expectedSequence: 0,
    events: [
      {
        eventId: '01938a6e-0000-7000-8000-000000000001',
        type: 'counter.incremented',
        version: 1,
        data: { by: 2 },
        clientTime: '2026-11-23t12:00:00.123456z',
      },
      { type: 'dice.rolled', data: { sides: 6 } },
      { type: 'note.written', data: { text: 'a day ends' } },
    ],
  };
  const path = { path: { id: created.id } };
  const appended = must(
    await api.POST('/v1/sessions/{id}/events', { params: path, body: batch }),
    'append',
  );
  await api.POST('/v1/sessions/{id}/events', { params: path, body: batch });
  await api.POST('/v1/sessions/{id}/events', {
    params: path,
    body: {
      expectedSequence: 0,
      events: [{ type: 'counter.incremented', version: 1, data: { by: 1 } }],
    },
  });
  const page = must(
    await api.GET('/v1/sessions/{id}/events', {
      params: { ...path, query: { after: 0, limit: 2 } },
    }),
    'page',
  );
  if (page.events[0]?.clientTime !== '2026-11-23T12:00:00.123456Z') {
    throw new Error(`clientTime read back as ${String(page.events[0]?.clientTime)}`);
  }
  await api.GET('/v1/sessions/{id}/events', {
    params: { ...path, query: { after: page.nextAfter ?? appended.lastSequence } },
  });
  await api.GET('/v1/sessions/{id}/state', { params: path });
  const many = must(
    await api.POST('/v1/appends', {
      body: {
        sessions: [
          { sessionId: created.id, events: [{ type: 'note.written', data: { text: 'many' } }] },
          {
            sessionId: '01938a6e-0000-7000-8000-00000000dead',
            events: [{ type: 'note.written', data: { text: 'nowhere' } }],
          },
        ],
      },
    }),
    'appends',
  );
  if (many.results[0]?.ok !== true || many.results[1]?.ok !== false) {
    throw new Error(`appends answered ${JSON.stringify(many.results)}`);
  }
  await api.POST('/v1/sessions/{id}/end', { params: path, body: { reason: 'done' } });
  await api.GET('/v1/sessions/{id}', { params: path });
  await api.GET('/v1/sessions/{id}', {
    params: { path: { id: '01938a6e-0000-7000-8000-00000000dead' } },
  });
  return { sessionId: created.id };
}

/** An analyst: the session, its events, snapshots, replays (verified, traced), the leaderboard. */
export async function analystFlow(api: AgateApi, sessionId: string): Promise<void> {
  const path = { path: { id: sessionId } };
  await api.GET('/v1/sessions/{id}', { params: path });
  await api.GET('/v1/sessions/{id}/events', { params: path });
  await api.GET('/v1/sessions/{id}/snapshots', { params: path });
  await api.GET('/v1/sessions/{id}/replay', { params: { ...path, query: { verify: 'true' } } });
  await api.GET('/v1/sessions/{id}/replay', {
    params: { ...path, query: { to: 2, from: 'genesis', trace: 'state' } },
  });
  await api.GET('/v1/leaderboard', { params: { query: { rules: 'tiny', limit: 10 } } });
  await api.POST('/v1/sessions', { body: { rules: 'tiny' } });
}

/** An admin: keys made and revoked, a player exported and erased, health and the document. */
export async function adminFlow(api: AgateApi): Promise<void> {
  const key = must(
    await api.POST('/v1/api-keys', { body: { role: 'analyst', label: 'generated client' } }),
    'key',
  );
  await api.DELETE('/v1/api-keys/{id}', { params: { path: { id: key.id } } });
  const player = must(
    await api.POST('/v1/players', { body: { email: 'ada@example.org' } }),
    'player',
  );
  await api.GET('/v1/players/{id}/export', { params: { path: { id: player.id } } });
  await api.DELETE('/v1/players/{id}', { params: { path: { id: player.id } } });
  await api.GET('/healthz');
  await api.GET('/readyz');
  await api.GET('/openapi.json');
}
