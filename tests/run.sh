#!/usr/bin/env bash
# The test command: `bash tests/run.sh` (what the README and .ci/run use).
#
# Works on a fresh machine: installs PostgreSQL when it is missing, uses the server on
# 127.0.0.1:5432 when one answers there (starting the Debian cluster if it is installed but
# stopped), and otherwise starts a private throwaway cluster under target/test-pg. Extra
# arguments go to `cargo test` (e.g. `bash tests/run.sh -p dixian-store`).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[tests] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin() {
  local d
  if command -v pg_config >/dev/null && d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
  return 1
}

if ! command -v cargo >/dev/null; then
  log "cargo is missing: install Rust from https://rustup.rs (rustc 1.94 or newer)"; exit 1
fi

if ! pg_bin >/dev/null; then
  log "PostgreSQL is not installed: installing it (apt-get install postgresql)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(pg_bin)

can_connect() { "$BIN/psql" "$1" -tAc 'select 1' >/dev/null 2>&1; }

if [ -z "${DATABASE_URL:-}" ]; then
  URL=postgres://postgres@127.0.0.1:5432/postgres
  if ! can_connect "$URL" && command -v pg_ctlcluster >/dev/null; then
    for v in $(ls /etc/postgresql 2>/dev/null); do
      log "starting the PostgreSQL $v cluster"
      as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do can_connect "$URL" && break; sleep 0.5; done
  fi
  if can_connect "$URL"; then
    export DATABASE_URL=$URL
  else
    # No usable server on 5432 (not trust-authenticated, or none at all): a private cluster.
    DIR="$PWD/target/test-pg"
    PORT=${DIXIAN_TEST_PG_PORT:-55439}
    RUN=()
    if [ "$(id -u)" = 0 ]; then RUN=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
    if [ ! -f "$DIR/PG_VERSION" ]; then
      log "creating a private test cluster in $DIR"
      mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
      "${RUN[@]}" "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    fi
    if ! can_connect "postgres://postgres@127.0.0.1:$PORT/postgres"; then
      "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300" start >/dev/null
    fi
    export DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres
  fi
fi
log "DATABASE_URL=$DATABASE_URL"

# End-to-end tests create dixian_e2e_* databases and drop them; a killed run may leave some.
"$BIN/psql" "$DATABASE_URL" -tAc "select format('drop database if exists %I with (force);', datname)
    from pg_database where datname like 'dixian\_e2e\_%'" 2>/dev/null | "$BIN/psql" "$DATABASE_URL" -q >/dev/null 2>&1 || true

mkdir -p target
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee target/test-output.log
exit "${PIPESTATUS[0]}"
