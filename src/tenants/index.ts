export { createTenant } from './create-tenant.js';
export { createPlacedTenant } from './create-placed-tenant.js';
export type { CreatedTenant, CreateTenantInput, Tenant } from './create-tenant.js';
export { listTenants } from './list-tenants.js';
export type { ListedTenant } from './list-tenants.js';
export { readTenantRateLimit, setTenantRateLimit } from './set-tenant-rate-limit.js';
export type { SetTenantRateLimitInput, TenantRateLimitChange } from './set-tenant-rate-limit.js';
export { exportTenant, tenantExportFormat, tenantExportKinds } from './export-tenant.js';
export type {
  ExportLineSink,
  ExportTenantInput,
  TenantExportCounts,
  TenantExportKind,
} from './export-tenant.js';
export { recordTenantExported } from './record-tenant-exported.js';
export type { TenantExportedAudit } from './record-tenant-exported.js';
export { deleteTenant } from './delete-tenant.js';
export type { DeleteStep, DeleteTenantInput, DeleteTenantReport } from './delete-tenant.js';
export { selectTombstones } from './delete-tenant.queries.js';
export type { TenantTombstone } from './delete-tenant.queries.js';
