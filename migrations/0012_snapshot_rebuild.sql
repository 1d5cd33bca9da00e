-- Snapshots are derived data (a cache of the fold): `agate snapshot rebuild` deletes a session's
-- bad ones (or all) and writes them again from the log, as agate_app in the tenant's context.
-- Row-level security still decides which rows a DELETE can reach (the tenant_isolation policy
-- covers every command), and game.snapshots keeps no append-only trigger. The events, sessions
-- and audit log stay as they were: agate_app gets no DELETE there.
GRANT DELETE ON game.snapshots TO agate_app;
