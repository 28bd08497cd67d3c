-- Unique keys held by one stream of a ledger at a time ("the open alert about household H for
-- trigger T"), taken and released in the append transaction with the events that open and
-- close what they stand for. An append that would take a key another stream holds is refused
-- and names the holder: deduplication is exact without a lock held across reads, and without
-- waiting for a read model. An index of the log (the domain's `unique_keys` over each stream's
-- state), not a part of it: rows are replaced and deleted.
set local role dixian_owner;

create table es.claim (
  ledger      text        not null references es.ledger,
  key         text        not null check (octet_length(key) between 1 and 512),
  stream_id   text        not null,
  seq         bigint      not null,
  claimed_at  timestamptz not null,
  primary key (ledger, key)
);

-- The alerts open today, as the rule would have claimed them: the oldest alert of each
-- (household, trigger) holds the key, as deduplication always linked to the oldest.
insert into es.claim (ledger, key, stream_id, seq, claimed_at)
select distinct on (r.ledger, r.key) r.ledger, r.key, r.stream_id, r.seq, r.recorded_at
  from (select e.ledger, e.stream_id, e.seq, e.recorded_at, e.occurred_at,
               'alert-open/' || (e.data->>'household_id') || '/'
                 || upper(btrim(e.data->>'trigger_code')) as key
          from es.event e
         where e.event_type = 'AlertRaised'
           and e.data->>'household_id' is not null
           and not exists (select 1 from es.event c
                            where c.ledger = e.ledger and c.stream_id = e.stream_id
                              and c.event_type = 'AlertClosed')) r
 order by r.ledger, r.key, r.occurred_at, r.stream_id;

grant select, insert, update, delete on es.claim to dixian_app;

reset role;
