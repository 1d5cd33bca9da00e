import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Pool, TenantRole } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { lookupKey } from '../keys/index.js';
import type { ApiKeyPrincipal, ApiKeyRole } from '../keys/index.js';

/** Who may call a route: key roles, or `public` (health checks). A route without it is closed. */
export type RouteAccess = readonly ApiKeyRole[] | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

const principals = new WeakMap<FastifyRequest, ApiKeyPrincipal>();

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * Checks the API key of every request before its body is read: 401 without a valid key, 403 when
 * the key's role may not call the route. The tenant always comes from the key.
 */
export function registerAuth(app: FastifyInstance, pool: Pool): void {
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === 'public' || request.is404) return;
    const key = bearerOf(request);
    if (key === undefined) {
      throw new AgateError('unauthorized', 'Send an API key: Authorization: Bearer <key>.');
    }
    const principal = await lookupKey(pool, key);
    if (principal === undefined) {
      throw new AgateError('unauthorized', 'The API key is unknown or revoked; use a valid key.');
    }
    if (access === undefined || !access.includes(principal.role)) {
      throw new AgateError(
        'forbidden',
        `A ${principal.role} key may not call this route; it needs ${access === undefined ? 'a role no key has' : access.join(' or ')}.`,
      );
    }
    principals.set(request, principal);
  });
}

/** The authenticated key of a request that passed `registerAuth`. */
export function principalOf(request: FastifyRequest): ApiKeyPrincipal {
  const principal = principals.get(request);
  if (principal === undefined) {
    throw new AgateError(
      'internal',
      `Route ${request.url} reads the API key but is not protected.`,
    );
  }
  return principal;
}

/** The database role a key's reads run as: analysts and admins read through agate_analyst. */
export function readRoleOf(principal: ApiKeyPrincipal): TenantRole {
  return principal.role === 'game_server' ? 'agate_app' : 'agate_analyst';
}
