/** What an API key may do; its tenant comes with it. */
export const apiKeyRoles = ['game_server', 'analyst', 'admin'] as const;

export type ApiKeyRole = (typeof apiKeyRoles)[number];

/** The key as the server knows it after a lookup: never the secret itself. */
export type ApiKeyPrincipal = { id: string; tenantId: string; role: ApiKeyRole };
