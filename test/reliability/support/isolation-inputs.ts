import { createHash } from 'node:crypto';
import type { ApiKeyRole } from '../../../src/keys/index.js';

/**
 * Text that would switch the tenant or the role if it ever reached SQL as text instead of as a
 * bound parameter: set_config, SET ROLE, SET app.tenant_id, quote breaks of every kind, and
 * tenant A's id itself. Each must be stored verbatim in the key's tenant, or refused.
 */
export function injections(victim: string): string[] {
  return [
    `'); SELECT set_config('app.tenant_id', '${victim}', false); --`,
    `${victim}', true); SELECT set_config('role', 'agate_maintenance', false); --`,
    `'; SET app.tenant_id = '${victim}'; --`,
    `'; SET ROLE postgres; SET app.tenant_id TO '${victim}'; --`,
    `"; RESET ROLE; SET SESSION AUTHORIZATION postgres; --`,
    `$$; SET LOCAL app.tenant_id TO '${victim}'; $$`,
    `$tag$'); SET ROLE agate_maintenance; --$tag$`,
    `E'\\x27; SELECT set_config('app.tenant_id', '${victim}', true) --`,
    `' OR tenant_id = '${victim}' OR '1'='1`,
    `'::uuid) OR (tenant_id = '${victim}'::uuid) --`,
    `'; COPY (SELECT * FROM game.events) TO STDOUT; --`,
    `\\'; DROP POLICY tenant_isolation ON game.sessions; --`,
    `${victim}`,
    `{"tenantId": "${victim}", "app.tenant_id": "${victim}"}`,
    `/* */ ; SELECT pg_sleep(0); SET app.tenant_id = '${victim}'`,
    `' || (SELECT set_config('app.tenant_id', '${victim}', true)) || '`,
  ];
}

/** Request headers that name tenant A, as a client hoping the server reads them, not the key. */
export function smuggledHeaders(victim: string, victimKeyId: string): Record<string, string>[] {
  return [
    { 'x-tenant-id': victim, 'x-agate-tenant': victim, 'tenant-id': victim },
    {
      'x-tenant': victim,
      'x-api-key': victimKeyId,
      cookie: `tenant_id=${victim}; app.tenant_id=${victim}`,
    },
    {
      'x-forwarded-user': victim,
      'x-original-url': `/v1/tenants/${victim}`,
      'x-tenant-id': `${victim}'; SET app.tenant_id = '${victim}`,
    },
  ];
}

/** Authorization values that are not a valid key of anyone, built around both tenants' keys. */
export function forgedAuthorizations(
  victim: { id: string; key: string; keyId: string },
  attackerKey: string,
): string[] {
  const keyA = victim.key;
  const keyB = attackerKey;
  return [
    `Bearer ${victim.id}`,
    `Bearer ${victim.keyId}`,
    `Bearer ${keyA}x`,
    `Bearer ${keyA.slice(0, -1)}`,
    `Bearer ${keyA.slice(0, -1)}${keyA.endsWith('A') ? 'B' : 'A'}`,
    `Bearer ${createHash('sha256').update(keyA).digest('hex')}`,
    `Bearer ${createHash('sha256').update(keyA).digest('base64')}`,
    `Bearer agk_${'A'.repeat(43)}`,
    `Bearer ' OR '1'='1`,
    `Bearer ${keyB}' OR tenant_id='${victim.id}`,
    `Bearer ${keyB};SET/**/ROLE/**/postgres`,
    `Bearer ${keyB}; SET app.tenant_id = '${victim.id}'`,
    `Bearer ${keyB} ${keyA.slice(4)}`,
    `Bearer ${keyB},Bearer ${victim.id}`,
    `Basic ${Buffer.from(`${victim.id}:${keyB}`).toString('base64')}`,
    `Token ${keyB}`,
    keyB,
    'Bearer',
  ];
}

export type Call = {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  body?: unknown;
  /** The key roles that may call the route (a B key of each is sent). */
  roles: readonly ApiKeyRole[];
};

const readers: readonly ApiKeyRole[] = ['game_server', 'analyst', 'admin'];
const analysts: readonly ApiKeyRole[] = ['analyst', 'admin'];

/** Every route that names a session, a player or a key, aimed at the given (foreign) ids. */
export function foreignCalls(ids: { session: string; player: string; key: string }): Call[] {
  const s = `/v1/sessions/${ids.session}`;
  const inc = [{ type: 'counter.incremented', version: 1, data: { by: 1 } }];
  return [
    { method: 'GET', url: s, roles: readers },
    { method: 'GET', url: `${s}/events`, roles: readers },
    { method: 'GET', url: `${s}/events?after=0&limit=1000`, roles: readers },
    { method: 'GET', url: `${s}/state`, roles: readers },
    { method: 'GET', url: `${s}/snapshots`, roles: readers },
    { method: 'GET', url: `${s}/replay`, roles: analysts },
    { method: 'GET', url: `${s}/replay?verify=true`, roles: analysts },
    { method: 'GET', url: `${s}/replay?from=genesis&to=1&trace=state`, roles: analysts },
    { method: 'POST', url: `${s}/events`, body: { events: inc }, roles: ['game_server'] },
    {
      method: 'POST',
      url: `${s}/events`,
      body: { events: inc, expectedSequence: 3 },
      roles: ['game_server'],
    },
    { method: 'POST', url: `${s}/end`, roles: ['game_server'] },
    {
      method: 'POST',
      url: `${s}/end`,
      body: { reason: 'hijack', expectedSequence: 3 },
      roles: ['game_server'],
    },
    { method: 'GET', url: `/v1/players/${ids.player}/export`, roles: ['admin'] },
    { method: 'DELETE', url: `/v1/players/${ids.player}`, roles: ['admin'] },
    { method: 'DELETE', url: `/v1/api-keys/${ids.key}`, roles: ['admin'] },
  ];
}
