#!/usr/bin/env bash
# A second PostgreSQL cluster that accepts only TLS connections, for the TLS tests: its own
# certificate authority (made here with openssl), a server certificate for 127.0.0.1 and
# localhost, `ssl = on` and pg_hba refusing every connection without TLS. Idempotent: an existing
# cluster is started again. Prints the URL the tests read from OMS_TEST_POSTGRES_TLS_URL.
set -euo pipefail
port="${OMS_PG_TLS_PORT:-5439}"
version=$(ls /etc/postgresql | sort -n | tail -1)
cluster=omstls
dir=/var/lib/postgresql/oms-tls-certs

if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version $cluster"; then
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=OMS PostgreSQL test CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile ext.cnf -out server.pem 2>/dev/null
    chmod 600 server.key ca.key
    chmod 644 ca.pem server.pem
  )
  chown -R postgres:postgres "$dir"
  pg_createcluster "$version" "$cluster" -p "$port" -- --auth=trust >/dev/null
fi
# The settings are written on every run (and the cluster restarted), so a cluster made by an
# earlier version of this script gets them too. 127.0.0.2 is served as well: the tests connect
# by a name the certificate does not carry.
conf=/etc/postgresql/$version/$cluster
mkdir -p "$conf/conf.d"
cat > "$conf/conf.d/oms-tls.conf" <<CONF
listen_addresses = '127.0.0.1,127.0.0.2'
ssl = on
ssl_cert_file = '$dir/server.pem'
ssl_key_file = '$dir/server.key'
ssl_min_protocol_version = 'TLSv1.2'
CONF
grep -q "^include_dir = 'conf.d'" "$conf/postgresql.conf" || echo "include_dir = 'conf.d'" >> "$conf/postgresql.conf"
cat > "$conf/pg_hba.conf" <<HBA
local   all all                 trust
hostssl all all 127.0.0.0/8     trust
hostnossl all all 0.0.0.0/0     reject
HBA
chown -R postgres:postgres "$conf"
# Their chatter ("Removed stale pid file") goes to stderr: stdout carries only the URL.
pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" stop >&2 2>/dev/null || true
pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2 || true
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$port" -q && break; sleep 1; done
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=verify-full&sslrootcert=$dir/ca.pem"
