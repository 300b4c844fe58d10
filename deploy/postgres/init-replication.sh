#!/bin/sh
# Runs once, when the primary's data folder is initialised (the image runs
# /docker-entrypoint-initdb.d/ as the postgres user): the role the standby replicates with.
set -eu
password=$(cut -d: -f5- /var/lib/postgresql/tls/pgpass)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$password" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
