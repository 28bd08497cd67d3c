-- The chain check of docs/hash-chain.md written the straightforward way in PL/pgSQL, with
-- built-ins only (no pgcrypto): sha256(bytea), int4send for the 4-byte big-endian lengths,
-- convert_to(text, 'UTF8') for the bytes, timestamps as integer microseconds.
-- Installed by the bench into its own database, as the administrator.

-- One field: 4-byte big-endian length and the UTF-8 bytes, or FF FF FF FF for NULL.
create or replace function bench_field(t text) returns bytea
language sql immutable parallel safe as $$
  select case when t is null then '\xffffffff'::bytea
              else int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') end
$$;

-- A time as integer microseconds since the epoch, in decimal.
create or replace function bench_micros(t timestamptz) returns text
language sql immutable parallel safe as $$
  select ((extract(epoch from t) * 1000000)::bigint)::text
$$;

-- The canonical bytes of one stored event (20 fields, in order).
create or replace function bench_canonical(e es.event) returns bytea
language sql stable parallel safe as $$
  select bench_field('dixian-event-v1') || bench_field(e.ledger) || bench_field(e.seq::text)
      || bench_field(e.stream_id) || bench_field(e.stream_type)
      || bench_field(e.stream_version::text) || bench_field(e.event_id::text)
      || bench_field(e.command_id::text) || bench_field(e.event_type)
      || bench_field(e.schema_version::text) || bench_field(e.data::text)
      || bench_field(e.metadata::text) || bench_field(e.actor_user) || bench_field(e.actor_role)
      || bench_field(e.actor_jurisdiction) || bench_field(e.correlation_id::text)
      || bench_field(e.causation_id::text) || bench_field(bench_micros(e.occurred_at))
      || bench_field(bench_micros(e.recorded_at)) || bench_field(e.county_code)
$$;

-- Checks 1-4 of docs/hash-chain.md over one ledger; stops at the first problem.
create or replace function bench_verify_ledger(
  p_ledger text, out checked bigint, out bad_seq bigint, out damage text)
language plpgsql stable as $$
declare
  e es.event;
  prev bytea := decode(repeat('00', 32), 'hex');
  expect bigint := 1;
  head record;
begin
  checked := 0;
  for e in select * from es.event where ledger = p_ledger order by seq loop
    if e.seq <> expect then
      bad_seq := expect; damage := 'MISSING_EVENT'; return;
    end if;
    if e.prev_hash <> prev then
      bad_seq := e.seq; damage := 'BROKEN_LINK'; return;
    end if;
    if sha256(prev || bench_canonical(e)) <> e.hash then
      bad_seq := e.seq; damage := 'CONTENT_MISMATCH'; return;
    end if;
    prev := e.hash;
    expect := expect + 1;
    checked := checked + 1;
  end loop;
  select l.last_seq, l.head_hash into head from es.ledger l where l.ledger = p_ledger;
  if head.last_seq <> expect - 1 or head.head_hash <> prev then
    bad_seq := expect; damage := 'HEAD_MISMATCH';
  end if;
end $$;
