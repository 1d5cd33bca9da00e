export { createTenant } from './create-tenant.js';
export { createPlacedTenant } from './create-placed-tenant.js';
export type { CreatedTenant, CreateTenantInput, Tenant } from './create-tenant.js';
export { listTenants } from './list-tenants.js';
export type { ListedTenant } from './list-tenants.js';
export { readTenantRateLimit, setTenantRateLimit } from './set-tenant-rate-limit.js';
export type { SetTenantRateLimitInput, TenantRateLimitChange } from './set-tenant-rate-limit.js';
