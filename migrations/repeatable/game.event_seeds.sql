-- The current definition of game.event_seeds (ADR 0013), called by src/events/event-seeds.ts.
-- A repeatable file: `agate migrate` reapplies it, after the numbered migrations (0008 creates
-- game.session_secrets), whenever its text changes. CREATE OR REPLACE keeps the owner and grants.
--
-- The server-drawn seed of each given event id of one session of p_tenant:
-- the first 16 bytes of HMAC-SHA256(secret, the id's 16 bytes), as hex. Runs as the table's
-- owner (SECURITY DEFINER, fixed search_path) and returns seeds only, never the secret; no rows
-- for a session of another tenant or an unknown one. HMAC by hand: sha256 is built in, hmac()
-- needs pgcrypto. The tenant setting is set for the policy and restored before returning.
CREATE OR REPLACE FUNCTION game.event_seeds(p_tenant uuid, p_session uuid, p_event_ids uuid[])
RETURNS TABLE (event_id uuid, seed text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $fn$
DECLARE
  v_previous text := current_setting('app.tenant_id', true);
  v_key bytea;
  v_inner bytea;
  v_outer bytea;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  SELECT k.secret || decode(repeat('00', 32), 'hex') INTO v_key
    FROM game.session_secrets k
   WHERE k.session_id = p_session AND k.tenant_id = p_tenant;
  PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
  IF v_key IS NULL THEN
    RETURN;
  END IF;
  v_inner := v_key;
  v_outer := v_key;
  FOR i IN 0..63 LOOP
    v_inner := set_byte(v_inner, i, get_byte(v_key, i) # 54);
    v_outer := set_byte(v_outer, i, get_byte(v_key, i) # 92);
  END LOOP;
  RETURN QUERY
    SELECT x.id, encode(substring(sha256(v_outer || sha256(v_inner || uuid_send(x.id))) FROM 1 FOR 16), 'hex')
      FROM unnest(p_event_ids) AS x(id);
END
$fn$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION game.event_seeds(uuid, uuid, uuid[]) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION game.event_seeds(uuid, uuid, uuid[]) TO agate_app;
