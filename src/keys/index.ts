export { createKey, insertKey } from './create-key.js';
export type { CreatedKey, CreateKeyInput } from './create-key.js';
export { apiKeyRoles } from './key-roles.js';
export type { ApiKeyPrincipal, ApiKeyRole } from './key-roles.js';
export { hashKey, looksLikeKey } from './key-secret.js';
export { lookupKey } from './lookup-key.js';
export { revokeKey } from './revoke-key.js';
export type { RevokedKey, RevokeKeyInput } from './revoke-key.js';
