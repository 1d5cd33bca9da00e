import { AgateError } from '../src/errors/index.js';
import type { Queryable } from '../src/db/index.js';
import type { PartitionSettings } from './plan.js';
import { qualified } from './tables.js';
import type { PartitionedTable } from './tables.js';

export const defaultSettings: PartitionSettings = { premake: 3, retentionMonths: null };

export type SettingsChange = { premake?: number; retentionMonths?: number | null };

export function checkChange(change: SettingsChange): void {
  if (
    change.premake !== undefined &&
    (!Number.isSafeInteger(change.premake) || change.premake < 1 || change.premake > 120)
  ) {
    throw new AgateError(
      'invalid_request',
      '--premake must be a whole number of months from 1 to 120.',
    );
  }
  const r = change.retentionMonths;
  if (r !== undefined && r !== null && (!Number.isSafeInteger(r) || r < 1)) {
    throw new AgateError(
      'invalid_request',
      '--retention-months must be a whole number of months, at least 1 (the window always keeps one month back).',
    );
  }
}

export async function loadSettings(
  db: Queryable,
  table: PartitionedTable,
): Promise<PartitionSettings> {
  const r = await db.query<{ premake: number; retention_months: number | null }>(
    'SELECT premake, retention_months FROM admin.partition_settings WHERE parent_table = $1',
    [qualified(table)],
  );
  const row = r.rows[0];
  return row === undefined
    ? defaultSettings
    : { premake: row.premake, retentionMonths: row.retention_months };
}

export async function saveSettings(
  db: Queryable,
  table: PartitionedTable,
  settings: PartitionSettings,
): Promise<void> {
  await db.query(
    `INSERT INTO admin.partition_settings (parent_table, premake, retention_months, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (parent_table) DO UPDATE SET premake = EXCLUDED.premake, retention_months = EXCLUDED.retention_months, updated_at = now()
     WHERE (admin.partition_settings.premake, admin.partition_settings.retention_months) IS DISTINCT FROM (EXCLUDED.premake, EXCLUDED.retention_months)`,
    [qualified(table), settings.premake, settings.retentionMonths],
  );
}

export function applyChange(
  settings: PartitionSettings,
  change: SettingsChange,
): PartitionSettings {
  return {
    premake: change.premake ?? settings.premake,
    retentionMonths:
      change.retentionMonths === undefined ? settings.retentionMonths : change.retentionMonths,
  };
}
