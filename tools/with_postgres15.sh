#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 server (the oldest version production supports:
# RDS PostgreSQL 15+), exported as DATABASE_URL. Uses Debian's postgresql-15 package, installed here
# when missing (CI runs as root on Debian); the server listens on a Unix socket only and is removed after.
#   usage: tools/with_postgres15.sh <command> [args...]
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
if [ ! -x "$bin/postgres" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  else
    echo "PostgreSQL 15 server binaries not found in $bin (Debian package postgresql-15)" >&2
    exit 1
  fi
fi

workdir=$(mktemp -d /tmp/pg15.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  # postgres refuses to run as root: the package's system user owns the cluster.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$workdir"
  as_owner=(runuser -u postgres --)
fi
cleanup() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

"${as_owner[@]}" "$bin/initdb" -D "$workdir/data" -U postgres --auth=trust --encoding=UTF8 >/dev/null
"${as_owner[@]}" "$bin/pg_ctl" -D "$workdir/data" -l "$workdir/log" -w \
  -o "-c listen_addresses='' -k $workdir -p 5415 -c max_connections=200" start >/dev/null
"${as_owner[@]}" "$bin/postgres" --version

export DATABASE_URL="postgresql+pg8000://postgres@/postgres?unix_sock=$workdir/.s.PGSQL.5415"
"$@"
