-- Analysts run durable consumers (an analytics pipeline is their natural user, ADR 0026), so
-- agate_analyst may keep the feed's consumer tables: its consumers, their slots (checkpoints and
-- leases) and their members. Nothing else changes: it still only reads game data, and RLS (forced
-- on these tables since 0013) keeps it inside its tenant.
GRANT INSERT, UPDATE, DELETE ON feed.consumers, feed.consumer_slots, feed.consumer_members TO agate_analyst;
