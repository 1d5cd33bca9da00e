-- The write fence of a tenant's online move (ADR 0034, migration 0018), called first by the
-- append functions and by the fence_tenant_writes trigger (session creation, players, session
-- secrets), before the write takes a transaction id. A repeatable file: `agate migrate`
-- reapplies it whenever its text changes.
--
-- Invariants: a tenant without a fence row here, or `arriving` (a move's target before the
-- switch), costs one index probe and nothing else; while the row says `copying` or `fenced`
-- the caller holds the move's advisory lock shared until its transaction ends, so the mover's
-- exclusive hold (session-level, on its own connection) starts only when no write of the
-- tenant is in flight and every later one waits for it, at most wait_ms, then fails with AG005
-- (nothing stored; retry); a write that finds `moved`, before or after waiting, fails with
-- AG004 (the tenant lives elsewhere: the caller asks the control plane again). Outside READ
-- COMMITTED a write that had to wait cannot see the mover's commit, so it fails with AG005.
-- SECURITY DEFINER: the fence table has no grant to agate's roles; every name is qualified.
CREATE OR REPLACE FUNCTION admin.check_tenant_fence(p_tenant uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
DECLARE
  v_state text;
  v_placement text;
  v_wait integer;
  v_old text;
  v_key bigint := hashtextextended('agate.fence:' || p_tenant::text, 0);
BEGIN
  SELECT f.state, f.placement, f.wait_ms INTO v_state, v_placement, v_wait
    FROM admin.tenant_fences f WHERE f.tenant_id = p_tenant;
  IF NOT FOUND OR v_state = 'arriving' THEN
    RETURN;
  END IF;
  IF v_state <> 'moved' AND NOT pg_catalog.pg_try_advisory_xact_lock_shared(v_key) THEN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION 'tenant % is being moved to %: its writes are held for the switch', p_tenant, v_placement
        USING ERRCODE = 'AG005', DETAIL = v_placement;
    END IF;
    v_old := pg_catalog.current_setting('lock_timeout');
    PERFORM pg_catalog.set_config('lock_timeout', v_wait::text || 'ms', true);
    BEGIN
      PERFORM pg_catalog.pg_advisory_xact_lock_shared(v_key);
    EXCEPTION WHEN lock_not_available THEN
      RAISE EXCEPTION 'tenant % is being moved to %: its writes waited % ms for the switch', p_tenant, v_placement, v_wait
        USING ERRCODE = 'AG005', DETAIL = v_placement;
    END;
    PERFORM pg_catalog.set_config('lock_timeout', v_old, true);
    SELECT f.state, f.placement INTO v_state, v_placement
      FROM admin.tenant_fences f WHERE f.tenant_id = p_tenant;
  END IF;
  IF v_state = 'moved' THEN
    RAISE EXCEPTION 'tenant % has moved to %', p_tenant, v_placement
      USING ERRCODE = 'AG004', DETAIL = v_placement;
  END IF;
END $fn$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION admin.check_tenant_fence(uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION admin.check_tenant_fence(uuid) TO agate_app, agate_analyst, agate_maintenance;
