-- The event log: ledgers, streams, events, commands, anchors, projection checkpoints.
--
-- Decisions (see docs/hash-chain.md and the README's Architecture section):
-- * One ledger per county: a totally ordered, gap-free, hash-chained log. seq is assigned by the
--   appender under the ledger head-row lock, never by a sequence or identity column.
-- * Event bodies are `json`, not `jsonb`: json keeps the exact text that was hashed.
-- * The log is immutable by PostgreSQL itself: the service role `dixian_app` may only select and
--   insert; triggers refuse UPDATE, DELETE and TRUNCATE for every role, the owner included.

do $$
begin
  begin
    create role dixian_owner nologin;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    create role dixian_app nologin;
  exception when duplicate_object or unique_violation then null;
  end;
end $$;

-- The migrating user must be able to act as both (a superuser already can).
do $$
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant dixian_owner, dixian_app to %I', current_user);
  end if;
  -- The service creates and swaps projection schemas (rebuild) but never touches `es`.
  execute format('grant create, connect on database %I to dixian_app', current_database());
end $$;

create schema es authorization dixian_owner;
set local role dixian_owner;

create function es.refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'es.% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'DX900', hint = 'corrections are new events that reference what they correct';
end $$;

create table es.ledger (
  ledger            text        primary key check (ledger ~ '^[0-9]{6}$'),
  county_code       text        not null check (county_code ~ '^[0-9]{6}$'),
  last_seq          bigint      not null default 0 check (last_seq >= 0),
  head_hash         bytea       not null default '\x0000000000000000000000000000000000000000000000000000000000000000'
                                check (octet_length(head_hash) = 32),
  last_recorded_at  timestamptz,
  created_at        timestamptz not null default clock_timestamp()
) with (fillfactor = 50);

create function es.ledger_moves_forward() returns trigger
language plpgsql as $$
begin
  if new.ledger <> old.ledger or new.county_code <> old.county_code
     or new.last_seq < old.last_seq
     or (old.last_recorded_at is not null and (new.last_recorded_at is null or new.last_recorded_at < old.last_recorded_at))
     or (new.last_seq = old.last_seq and new.head_hash <> old.head_hash) then
    raise exception 'ledger % head may only move forward', old.ledger using errcode = 'DX901';
  end if;
  return new;
end $$;

create trigger ledger_moves_forward before update on es.ledger
  for each row execute function es.ledger_moves_forward();
create trigger ledger_no_delete before delete on es.ledger
  for each statement execute function es.refuse_change();
create trigger ledger_no_truncate before truncate on es.ledger
  for each statement execute function es.refuse_change();

create table es.stream (
  stream_id    text        primary key check (length(stream_id) between 1 and 200),
  ledger       text        not null references es.ledger,
  stream_type  text        not null,
  version      bigint      not null check (version > 0),
  last_seq     bigint      not null,
  created_at   timestamptz not null,
  updated_at   timestamptz not null
) with (fillfactor = 80);

create function es.stream_moves_forward() returns trigger
language plpgsql as $$
begin
  if new.stream_id <> old.stream_id or new.ledger <> old.ledger
     or new.stream_type <> old.stream_type or new.version <= old.version then
    raise exception 'stream % may only move forward', old.stream_id using errcode = 'DX901';
  end if;
  return new;
end $$;

create trigger stream_moves_forward before update on es.stream
  for each row execute function es.stream_moves_forward();
create trigger stream_no_delete before delete on es.stream
  for each statement execute function es.refuse_change();
create trigger stream_no_truncate before truncate on es.stream
  for each statement execute function es.refuse_change();

create table es.event (
  ledger              text        not null,
  seq                 bigint      not null check (seq > 0),
  stream_id           text        not null,
  stream_type         text        not null,
  stream_version      bigint      not null check (stream_version > 0),
  event_id            uuid        not null,
  command_id          uuid,
  event_type          text        not null,
  schema_version      integer     not null check (schema_version > 0),
  data                json        not null,
  metadata            json        not null,
  actor_user          text        not null,
  actor_role          text        not null,
  actor_jurisdiction  text        not null,
  correlation_id      uuid,
  causation_id        uuid,
  occurred_at         timestamptz not null,
  recorded_at         timestamptz not null,
  county_code         text        not null,
  prev_hash           bytea       not null check (octet_length(prev_hash) = 32),
  hash                bytea       not null check (octet_length(hash) = 32),
  primary key (ledger, seq),
  unique (ledger, event_id),
  unique (ledger, stream_id, stream_version)
) partition by list (ledger);

create index event_recorded_at on es.event (ledger, recorded_at);

-- Row triggers are cloned to every partition; statement triggers refuse even a statement that
-- matches no row (on the parent here, on each partition in es.open_ledger).
create trigger event_no_update_delete before update or delete on es.event
  for each row execute function es.refuse_change();
create trigger event_no_update_delete_stmt before update or delete on es.event
  for each statement execute function es.refuse_change();
create trigger event_no_truncate before truncate on es.event
  for each statement execute function es.refuse_change();

-- Request-level idempotency: one row per applied command, written in the append transaction.
create table es.command (
  ledger          text        not null,
  command_id      uuid        not null,
  request_hash    bytea       not null check (octet_length(request_hash) = 32),
  stream_id       text        not null,
  first_seq       bigint      not null,
  last_seq        bigint      not null,
  stream_version  bigint      not null,
  recorded_at     timestamptz not null,
  primary key (ledger, command_id)
);

create trigger command_no_update_delete before update or delete on es.command
  for each statement execute function es.refuse_change();
create trigger command_no_truncate before truncate on es.command
  for each statement execute function es.refuse_change();

-- Head records handed to auditors: (ledger, seq, head hash, time), optionally HMAC-signed.
create table es.anchor (
  ledger       text        not null references es.ledger,
  seq          bigint      not null check (seq >= 0),
  head_hash    bytea       not null check (octet_length(head_hash) = 32),
  anchored_at  timestamptz not null,
  signature    bytea,
  key_id       text,
  primary key (ledger, seq)
);

create trigger anchor_no_update_delete before update or delete on es.anchor
  for each statement execute function es.refuse_change();
create trigger anchor_no_truncate before truncate on es.anchor
  for each statement execute function es.refuse_change();

-- Projection progress, one row per (projection, ledger); moved in the same transaction as the
-- read-model writes it covers.
create table es.checkpoint (
  projection  text        not null,
  ledger      text        not null references es.ledger,
  seq         bigint      not null default 0 check (seq >= 0),
  updated_at  timestamptz not null default clock_timestamp(),
  primary key (projection, ledger)
);

-- Opening a ledger creates its event partition; the TRUNCATE guard is not inherited by
-- partitions, so it is added here. SECURITY DEFINER: the service may open ledgers, not do DDL.
create function es.open_ledger(p_ledger text, p_county text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  part text := 'event_' || p_ledger;
begin
  if p_ledger !~ '^[0-9]{6}$' or p_county !~ '^[0-9]{6}$' then
    raise exception 'ledger and county code must be 6 digits' using errcode = 'DX904';
  end if;
  perform 1 from es.ledger where ledger = p_ledger;
  if found then
    return false;
  end if;
  execute format('create table es.%I partition of es.event for values in (%L)', part, p_ledger);
  execute format('create trigger event_no_truncate before truncate on es.%I
                  for each statement execute function es.refuse_change()', part);
  execute format('create trigger event_no_update_delete_stmt before update or delete on es.%I
                  for each statement execute function es.refuse_change()', part);
  insert into es.ledger (ledger, county_code) values (p_ledger, p_county);
  return true;
end $$;

revoke all on all tables in schema es from public;
revoke all on function es.open_ledger(text, text) from public;
grant usage on schema es to dixian_app;
grant select, insert on es.event, es.command, es.anchor to dixian_app;
grant select, insert, update on es.stream, es.checkpoint to dixian_app;
grant select on es.ledger to dixian_app;
grant update (last_seq, head_hash, last_recorded_at) on es.ledger to dixian_app;
grant execute on function es.open_ledger(text, text) to dixian_app;

reset role;
-- `/readyz` checks, as the service, that every migration was applied.
grant select on public._sqlx_migrations to dixian_app;
