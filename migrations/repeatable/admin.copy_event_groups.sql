-- The event copy of a tenant's online move (ADR 0034), called by src/events/tenant-move.queries.ts
-- in the placement the tenant enters. A repeatable file: `agate migrate` reapplies it whenever
-- its text changes (the column list follows game.events).
--
-- Invariants: a procedure, CALLed outside a transaction block, that commits after each group, so
-- each group (one source transaction's events, in the source's feed order) gets a transaction id
-- of its own, in order: the target's feed order is then the source's (ADR 0021 orders by
-- transaction id). Each commit also records the group's last source position in the tenant's
-- `arriving` fence row, so a copy killed anywhere resumes after the last group it committed, and
-- fails (nothing of that group stored) when there is no such row. transaction_id is never copied:
-- the column's default gives this transaction's. Runs as its caller, under the caller's tenant
-- context (row-level security checks every row).
CREATE OR REPLACE PROCEDURE admin.copy_event_groups(p_tenant uuid, p_groups jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_group jsonb;
BEGIN
  FOR v_group IN SELECT g FROM jsonb_array_elements(p_groups) AS a(g) LOOP
    INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type, event_version,
                             event_data, client_time, server_time, hash, written_by)
    SELECT event_id, tenant_id, session_id, sequence, event_type, event_version,
           event_data, client_time, server_time, hash, written_by
      FROM jsonb_populate_recordset(NULL::game.events, v_group->'rows')
    ON CONFLICT DO NOTHING;
    UPDATE admin.tenant_fences SET copied_through = v_group->>'through', updated_at = now()
     WHERE tenant_id = p_tenant AND state = 'arriving';
    IF NOT FOUND THEN
      RAISE EXCEPTION 'tenant % has no arriving fence row here: this placement is not the target of its move', p_tenant
        USING ERRCODE = '55000';
    END IF;
    COMMIT;
  END LOOP;
END $fn$;
--> statement-breakpoint
REVOKE ALL ON PROCEDURE admin.copy_event_groups(uuid, jsonb) FROM PUBLIC;
