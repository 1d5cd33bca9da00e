export { createKey, insertKey } from './create-key.js';
export type { CreatedKey, CreateKeyInput } from './create-key.js';
export {
  createKeyCache,
  defaultKeyCacheMs,
  dropCachedKey,
  dropCachedTenant,
  keysChannel,
  tenantPayload,
} from './key-cache.js';
export type { KeyCache, KeyCacheOptions } from './key-cache.js';
export { createOperatorKey } from './create-operator-key.js';
export type { CreatedOperatorKey, CreateOperatorKeyInput } from './create-operator-key.js';
export { apiKeyRoles } from './key-roles.js';
export type {
  ApiKeyPrincipal,
  ApiKeyRole,
  KeyPrincipal,
  KeyRole,
  OperatorPrincipal,
} from './key-roles.js';
export { hashKey } from './key-secret.js';
export { listOperatorKeys, listTenantKeys } from './list-keys.js';
export type { ListedKey, ListedOperatorKey } from './list-keys.js';
export { lookupKey } from './lookup-key.js';
export { recordOperatorUse } from './record-operator-use.js';
export type { OperatorUse } from './record-operator-use.js';
export { checkRateLimitSetting, maxRateLimitValue, storedSetting } from './rate-limit-setting.js';
export type { RateLimitSetting, RateLimitSource, StoredRateLimit } from './rate-limit-setting.js';
export { revokeKey } from './revoke-key.js';
export type { RevokedKey, RevokeKeyInput } from './revoke-key.js';
export { rotateKey } from './rotate-key.js';
export type { RotatedKey, RotateKeyInput } from './rotate-key.js';
export { setKeyRateLimit } from './set-key-rate-limit.js';
export type { KeyRateLimitChange, SetKeyRateLimitInput } from './set-key-rate-limit.js';
