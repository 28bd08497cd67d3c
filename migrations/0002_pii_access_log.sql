-- Every unmasked read of personal data (ID or phone number) is recorded here, append-only:
-- who (user, role), what (household, member, field), when, and through which request.
create schema audit authorization dixian_owner;
set local role dixian_owner;

create table audit.pii_access (
  accessed_at   timestamptz not null default clock_timestamp(),
  user_id       uuid        not null,
  role          text        not null,
  jurisdiction  text        not null,
  household_id  uuid        not null,
  member_id     uuid,
  field         text        not null,
  purpose       text        not null
);
create index pii_access_household on audit.pii_access (household_id, accessed_at);
create index pii_access_user on audit.pii_access (user_id, accessed_at);

create trigger pii_access_no_update_delete before update or delete on audit.pii_access
  for each statement execute function es.refuse_change();
create trigger pii_access_no_truncate before truncate on audit.pii_access
  for each statement execute function es.refuse_change();

grant usage on schema audit to dixian_app;
grant select, insert on audit.pii_access to dixian_app;

reset role;
