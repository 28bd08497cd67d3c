-- A reactor step no longer holds its checkpoint row locked while it reacts (the reactions take
-- connections of their own, and a step holding one while waiting for another could starve
-- the pool): it takes a lease on the row, reacts, then moves the checkpoint if it still holds
-- the lease. A process that dies holding one is replaced when the lease runs out. Reactions
-- are idempotent (derived command ids), so a lease lost half-way costs repeated answers, not
-- repeated facts.
set local role dixian_owner;

alter table es.reactor_checkpoint
  add column leased_by   uuid,
  add column lease_until timestamptz;

reset role;
