import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Pool, TenantRole } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { lookupKey, recordOperatorUse } from '../keys/index.js';
import type {
  ApiKeyPrincipal,
  KeyCache,
  KeyPrincipal,
  KeyRole,
  OperatorPrincipal,
} from '../keys/index.js';

/**
 * Who may call a route: key roles (`operator` for operator keys, which belong to no tenant), or
 * `public` (health checks). A route without it is closed.
 */
export type RouteAccess = readonly KeyRole[] | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

const principals = new WeakMap<FastifyRequest, KeyPrincipal>();

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

function refusal(principal: KeyPrincipal, access: RouteAccess | undefined): AgateError {
  const needs =
    access === undefined || access === 'public' ? 'a role no key has' : access.join(' or ');
  if (principal.role === 'operator') {
    return new AgateError(
      'forbidden',
      `An operator key belongs to no tenant and may not call this route; use a key of the tenant (agate keys create --tenant <id>). The route needs ${needs}.`,
    );
  }
  return new AgateError(
    'forbidden',
    `A ${principal.role} key may not call this route; it needs ${needs}.`,
  );
}

/**
 * Checks the API key of every request before its body is read: 401 without a valid key, 403 when
 * the key's role may not call the route. The tenant always comes from the key. Every request
 * with an operator key is recorded in the audit log before anything else happens, refused or
 * not (ADR 0014), whether its key came from `cache` or from the database.
 */
export function registerAuth(app: FastifyInstance, pool: Pool, cache?: KeyCache): void {
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === 'public' || request.is404) return;
    const key = bearerOf(request);
    if (key === undefined) {
      throw new AgateError('unauthorized', 'Send an API key: Authorization: Bearer <key>.');
    }
    const principal = await lookupKey(pool, key, cache);
    if (principal === undefined) {
      throw new AgateError('unauthorized', 'The API key is unknown or revoked; use a valid key.');
    }
    const allowed = access !== undefined && access.includes(principal.role);
    if (principal.role === 'operator') {
      await recordOperatorUse(pool, {
        keyId: principal.id,
        request: `${request.method} ${request.routeOptions.url ?? request.url}`,
        requestId: request.id,
        allowed,
      });
    }
    if (!allowed) throw refusal(principal, access);
    principals.set(request, principal);
  });
}

/** The key (a tenant's or an operator key) of a request that passed `registerAuth`. */
export function keyPrincipalOf(request: FastifyRequest): KeyPrincipal {
  const principal = principals.get(request);
  if (principal === undefined) {
    throw new AgateError(
      'internal',
      `Route ${request.url} reads the API key but is not protected.`,
    );
  }
  return principal;
}

/** The authenticated tenant key of a request that passed `registerAuth`. */
export function principalOf(request: FastifyRequest): ApiKeyPrincipal {
  const principal = keyPrincipalOf(request);
  if (principal.role === 'operator') {
    throw new AgateError(
      'tenant_required',
      'An operator key belongs to no tenant; use a key of the tenant for this route.',
    );
  }
  return principal;
}

/** The operator key of a request to a route whose access is `['operator']`. */
export function operatorOf(request: FastifyRequest): OperatorPrincipal {
  const principal = keyPrincipalOf(request);
  if (principal.role !== 'operator') {
    throw new AgateError('forbidden', 'This route needs an operator key.');
  }
  return principal;
}

/** The database role a key's reads run as: analysts and admins read through agate_analyst. */
export function readRoleOf(principal: ApiKeyPrincipal): TenantRole {
  return principal.role === 'game_server' ? 'agate_app' : 'agate_analyst';
}
