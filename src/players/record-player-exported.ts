import { recordAudit } from '../db/index.js';
import type { Pool } from '../db/index.js';
import type { PlayerExport } from './export-player.js';

export type PlayerExportedAudit = {
  tenantId: string;
  /** An API key's id, or `cli`. */
  actor: string;
  exported: PlayerExport;
};

/**
 * The audit entry of a player export (`player.exported`): counts only, never the PII. Written
 * before the export leaves, by the API and the CLI alike.
 */
export function recordPlayerExported(pool: Pool, entry: PlayerExportedAudit): Promise<void> {
  const { exported } = entry;
  return recordAudit(pool, {
    tenantId: entry.tenantId,
    actor: entry.actor,
    action: 'player.exported',
    subject: exported.player.id,
    details: {
      sessions: exported.sessions.length,
      events: exported.events.length,
      auditEntries: exported.auditEntries.length,
      erased: exported.player.erasedAt !== null,
    },
  });
}
