-- A projection that cannot apply an event stops there, visibly: the error, since when and how
-- many tries are kept on its checkpoint row (listed by `stuckProjections`, `/readyz` and the
-- metric dixian_projection_blocked), and cleared by the first step that goes through.
set local role dixian_owner;

alter table es.checkpoint
  add column blocked_error text,
  add column blocked_since timestamptz,
  add column attempts      integer not null default 0;

reset role;
