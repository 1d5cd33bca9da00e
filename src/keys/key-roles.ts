import type { StoredRateLimit } from './rate-limit-setting.js';

/** What a tenant's API key may do; its tenant comes with it. */
export const apiKeyRoles = ['game_server', 'analyst', 'admin'] as const;

export type ApiKeyRole = (typeof apiKeyRoles)[number];

/** Every role a route may admit: the tenant roles, and `operator` for operator keys (ADR 0014). */
export type KeyRole = ApiKeyRole | 'operator';

/**
 * A tenant's key as the server knows it after a lookup: never the secret itself. `rateLimit` is
 * the key's own limit or its tenant's; null when the server's setting applies.
 */
export type ApiKeyPrincipal = {
  id: string;
  tenantId: string;
  role: ApiKeyRole;
  rateLimit: StoredRateLimit | null;
};

/** An operator key as the server knows it: it belongs to no tenant. */
export type OperatorPrincipal = { id: string; role: 'operator' };

/** Whoever a valid key names. */
export type KeyPrincipal = ApiKeyPrincipal | OperatorPrincipal;
