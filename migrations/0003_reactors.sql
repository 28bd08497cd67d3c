-- Reactors: checkpointed followers of the ledger feeds that issue commands ("when X is
-- recorded, do Y"). A reaction's command id derives from the triggering event, so the log's
-- idempotency makes it happen once; these tables only say how far each reactor got and which
-- reactions the domain refused (parked, retried with backoff, listed for county officers).
set local role dixian_owner;

create table es.reactor_checkpoint (
  reactor        text        not null,
  ledger         text        not null references es.ledger,
  seq            bigint      not null default 0 check (seq >= 0),
  -- Set while the reaction at seq + 1 keeps failing for a reason outside the domain (database,
  -- overload): the reactor waits there and retries with backoff.
  blocked_error  text,
  blocked_since  timestamptz,
  attempts       integer     not null default 0,
  updated_at     timestamptz not null default clock_timestamp(),
  primary key (reactor, ledger)
);

create table es.reaction_failure (
  reactor          text        not null,
  ledger           text        not null references es.ledger,
  seq              bigint      not null,
  event_id         uuid        not null,
  event_type       text        not null,
  stream_id        text        not null,
  error_code       text        not null,
  error_detail     text,
  error_message    text        not null,
  attempts         integer     not null default 1,
  first_failed_at  timestamptz not null default clock_timestamp(),
  last_failed_at   timestamptz not null default clock_timestamp(),
  next_attempt_at  timestamptz not null,
  resolved_at      timestamptz,
  primary key (reactor, ledger, seq)
);
create index reaction_failure_open on es.reaction_failure (reactor, ledger, next_attempt_at)
  where resolved_at is null;

grant select, insert, update on es.reactor_checkpoint, es.reaction_failure to dixian_app;

reset role;
