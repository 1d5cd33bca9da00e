export { createTenant } from './create-tenant.js';
export type { CreateTenantInput, Tenant } from './create-tenant.js';
