/** A table partitioned by month on a timestamptz column. */
export type PartitionedTable = {
  schema: string;
  table: string;
  /** The partition key. */
  column: string;
  /**
   * Whether retention attaches the months it keeps to a parent of the same name in the archive
   * schema (`archive.events`), which the store reads with the live table under the same policy.
   */
  archiveParent: boolean;
};

/** Every time-partitioned table agate keeps: both get the same window and the same guards. */
export const partitionedTables: readonly PartitionedTable[] = [
  { schema: 'game', table: 'events', column: 'server_time', archiveParent: true },
  { schema: 'admin', table: 'audit_log', column: 'occurred_at', archiveParent: false },
];

export function qualified(t: PartitionedTable): string {
  return `${t.schema}.${t.table}`;
}

/** Where detached partitions are kept (pg_partman's retention_schema too). */
export const archiveSchema = 'archive';
