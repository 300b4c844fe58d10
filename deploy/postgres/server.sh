#!/bin/sh
# Entry point of both PostgreSQL services of deploy/compose.yaml (the official image's
# docker-entrypoint.sh does the rest):
#
#   server.sh primary     initialises the database on first start (POSTGRES_* variables),
#                         creates the replication role, and serves
#   server.sh replica     on first start, copies the primary with `pg_basebackup -R` over TLS
#                         (which writes primary_conninfo and standby.signal), then serves as a
#                         hot standby
#
# Runs as root first: compose mounts secrets with the host file's owner and mode, and
# PostgreSQL only takes a private key that its own user owns with mode 0600, so the key, the
# certificate, the CA and the replication password are copied into a folder of the postgres
# user before the server starts.
set -eu
role=${1:?usage: server.sh primary|replica}
tls=/var/lib/postgresql/tls
install -d -o postgres -g postgres -m 0700 "$tls"
install -o postgres -g postgres -m 0600 /run/secrets/db.key "$tls/server.key"
install -o postgres -g postgres -m 0644 /run/secrets/db.crt "$tls/server.crt"
install -o postgres -g postgres -m 0644 /run/secrets/ca.pem "$tls/ca.pem"
# libpq's password file for the replication connection (host:port:db:user:password).
printf 'db:5432:*:replicator:%s\n' "$(cat /run/secrets/replication_password)" >"$tls/pgpass"
chown postgres:postgres "$tls/pgpass"
chmod 0600 "$tls/pgpass"

set -- postgres \
  -c ssl=on \
  -c ssl_cert_file="$tls/server.crt" \
  -c ssl_key_file="$tls/server.key" \
  -c ssl_min_protocol_version=TLSv1.2 \
  -c hba_file=/etc/postgresql/pg_hba.conf \
  -c wal_level=replica \
  -c max_wal_senders=5 \
  -c wal_keep_size=512MB \
  -c hot_standby=on

case "$role" in
  primary) ;;
  replica)
    data=${PGDATA:-/var/lib/postgresql/data}
    if [ ! -s "$data/PG_VERSION" ]; then
      install -d -o postgres -g postgres -m 0700 "$data"
      until gosu postgres pg_isready -q -h db -p 5432; do
        echo "replica: waiting for the primary"; sleep 2
      done
      # verify-full: the primary's certificate must name "db" and come from the private CA.
      gosu postgres pg_basebackup -D "$data" -R -X stream -c fast -P \
        -d "host=db port=5432 user=replicator sslmode=verify-full sslrootcert=$tls/ca.pem passfile=$tls/pgpass"
    fi
    ;;
  *) echo "server.sh: primary or replica, not $role" >&2; exit 2 ;;
esac
exec docker-entrypoint.sh "$@"
