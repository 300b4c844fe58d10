#!/usr/bin/env bash
# The topology of deploy/compose.yaml from local processes, for a machine without a container
# engine and for CI:
#
#   PostgreSQL primary (TLS, scram) ──streaming──▶ hot standby made by `pg_basebackup -R`
#   NATS with JetStream · an SMTP sink · a Toss Payments stand-in that records every call
#   two `oms serve` replicas (--read-database-url on the standby, --payment-gateway toss;
#   the demo data seeded first by an instance with the simulator) · haproxy in front
#
#   deploy/local.sh [up|smoke] [OMS_BIN]
#
# `up` (the default) starts everything, prints the proxy's URL and a token, and runs until
# Ctrl-C; `smoke` starts everything and runs deploy/smoke.sh against it. Everything lives in
# one temporary folder, on free loopback ports, and is stopped and removed on exit (OMS_KEEP=1
# keeps the folder). The PostgreSQL clusters are new ones (initdb as the postgres user); a
# cluster already running on this machine is not touched. The binary is OMS_BIN or the
# argument, by default target/release/oms. Every connection is TLS with a private CA from
# make-certs.sh, as in compose: PostgreSQL `sslmode=verify-full`, NATS `tls://`, mail with
# STARTTLS required, the CA passed as OMS_TLS_CA_FILE (OMS_LOCAL_TLS=0: NATS and mail in plain
# text, PostgreSQL still TLS). Needs: PostgreSQL's server binaries, nats-server,
# haproxy, python3, openssl, curl, jq (`apt-get install postgresql nats-server haproxy jq`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=${1:-up}
case "$mode" in up|smoke) ;; *) echo "usage: deploy/local.sh [up|smoke] [OMS_BIN]" >&2; exit 2 ;; esac
bin=${2:-${OMS_BIN:-$root/target/release/oms}}
[ -x "$bin" ] || { echo "local.sh: no oms binary at $bin (cargo build --release --bin oms, or set OMS_BIN)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# The newest installed PostgreSQL server's binaries (Debian keeps them off PATH; a newer
# client-only version may sit beside them without initdb).
pgbin=$(for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/initdb" ] && echo "$dir"; done | sort -V | tail -n 1)
[ -n "$pgbin" ] || pgbin=$(dirname "$(command -v initdb || echo /usr/bin/initdb)")
for tool in "$pgbin/initdb" "$pgbin/pg_ctl" "$pgbin/pg_basebackup"; do
  [ -x "$tool" ] || { echo "local.sh: $tool is missing (apt-get install postgresql)" >&2; exit 1; }
done
for tool in nats-server haproxy python3 openssl curl jq psql; do
  command -v "$tool" >/dev/null || { echo "local.sh: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/oms-local.XXXXXX")
# The postgres user must reach its data folders inside.
chmod 0755 "$work"
pids=()
clusters=()
cleanup() {
  local status=$?
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for dir in "${clusters[@]}"; do as_pg "$pgbin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1; done
  # The processes are disowned (no job-control noise when the smoke kills one): poll them.
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [ "$status" != 0 ]; then
    echo "local.sh: failed; the last lines of each log:" >&2
    for log in "$work"/*.log "$work"/pg/*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 15 "$log" >&2; }
    done
  fi
  if [ "${OMS_KEEP:-0}" = 1 ]; then echo "local.sh: kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run as the postgres user when root (initdb refuses root), as oneself otherwise.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then pg_owner=postgres; else pg_owner=$(id -un); fi

# Free loopback ports, asked of the kernel (each is free when chosen; nothing else here binds
# ports in between).
read -r p_primary p_replica p_nats p_nats_http p_mail p_gateway p_seed p_a p_b p_proxy < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(10)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
)

wait_for() { # what, seconds, command...
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "local.sh: $what did not come up within ${secs}s" >&2
  return 1
}
started() { echo "local.sh: $*"; }

# ---------------------------------------------------------------------------------------------
# Certificates and secrets: the same script as for compose, with 127.0.0.1 in every name list.
OMS_CERT_HOSTS=127.0.0.1 "$here/make-certs.sh" "$work/certs" >/dev/null
secrets=$work/certs/secrets
db_password=$(cat "$secrets/db_password")
replication_password=$(cat "$secrets/replication_password")

# ---------------------------------------------------------------------------------------------
# PostgreSQL primary: TLS only for TCP (hostssl), scram passwords, as in compose.
mkdir -p "$work/pg"
install -m 0600 "$work/certs/db.key" "$work/pg/server.key"
install -m 0644 "$work/certs/db.crt" "$work/pg/server.crt"
install -m 0644 "$work/certs/ca.pem" "$work/pg/ca.pem"
printf '127.0.0.1:%s:*:replicator:%s\n' "$p_primary" "$replication_password" >"$work/pg/pgpass"
chmod 0600 "$work/pg/pgpass"
chown -R "$pg_owner" "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg/primary" -U postgres --auth-local=trust \
  --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$work/pg/initdb.log" 2>&1
cat >"$work/pg/primary/pg_hba.conf" <<EOF
local all all trust
hostssl all all 127.0.0.1/32 scram-sha-256
hostssl replication replicator 127.0.0.1/32 scram-sha-256
EOF
cat >>"$work/pg/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $p_primary
unix_socket_directories = '$work/pg'
ssl = on
ssl_cert_file = '$work/pg/server.crt'
ssl_key_file = '$work/pg/server.key'
wal_level = replica
max_wal_senders = 5
# Without a replication slot the standby needs the primary to keep enough WAL while it
# catches up.
wal_keep_size = '256MB'
EOF
clusters+=("$work/pg/primary")
as_pg "$pgbin/pg_ctl" -D "$work/pg/primary" -l "$work/pg/primary.log" -w -t 30 start >/dev/null
psql -h "$work/pg" -p "$p_primary" -U postgres -qAt -v ON_ERROR_STOP=1 <<EOF >/dev/null
CREATE ROLE oms LOGIN PASSWORD '$db_password';
CREATE DATABASE oms OWNER oms;
CREATE ROLE replicator REPLICATION LOGIN PASSWORD '$replication_password';
EOF
started "PostgreSQL primary on 127.0.0.1:$p_primary (TLS)"

# The standby: a base backup over a TLS replication connection; -R writes primary_conninfo
# and standby.signal.
as_pg "$pgbin/pg_basebackup" -D "$work/pg/replica" -R -X stream -c fast \
  -d "host=127.0.0.1 port=$p_primary user=replicator sslmode=verify-full sslrootcert=$work/pg/ca.pem passfile=$work/pg/pgpass" \
  >"$work/pg/basebackup.log" 2>&1
grep -q "primary_conninfo" "$work/pg/replica/postgresql.auto.conf"
clusters+=("$work/pg/replica")
as_pg "$pgbin/pg_ctl" -D "$work/pg/replica" -l "$work/pg/replica.log" -w -t 30 \
  -o "-p $p_replica" start >/dev/null
[ "$(psql -h "$work/pg" -p "$p_replica" -U postgres -Atc 'select pg_is_in_recovery()')" = t ]
started "PostgreSQL standby on 127.0.0.1:$p_replica (pg_basebackup -R, streaming)"

# ---------------------------------------------------------------------------------------------
# NATS with JetStream, the mail sink, the payment gateway.
mkdir -p "$work/nats" "$work/mail"
nats_tls=() mail_tls=()
nats_url=nats://127.0.0.1:$p_nats smtp_url=smtp://127.0.0.1:$p_mail
if [ "${OMS_LOCAL_TLS:-1}" = 1 ]; then
  nats_tls=(--tls --tlscert "$work/certs/nats.crt" --tlskey "$work/certs/nats.key")
  mail_tls=("$work/certs/mail.crt" "$work/certs/mail.key")
  nats_url=tls://127.0.0.1:$p_nats smtp_url="smtp://127.0.0.1:$p_mail?tls=required"
  export OMS_TLS_CA_FILE=$work/certs/ca.pem SINKS_CA_FILE=$work/certs/ca.pem
fi
nats-server -js -a 127.0.0.1 -p "$p_nats" -m "$p_nats_http" -sd "$work/nats" "${nats_tls[@]}" \
  >"$work/nats.log" 2>&1 &
pids+=($!); disown
python3 "$here/local/sinks.py" mail "$p_mail" "$work/mail" "${mail_tls[@]}" >"$work/mail.log" 2>&1 &
pids+=($!); disown
# The stand-in checks the replicas' Basic credentials against the key make-certs.sh wrote
# (through the environment: a command line is visible to every user).
SINKS_GATEWAY_SECRET_KEY=$(cat "$secrets/toss_secret_key") \
  python3 "$here/local/sinks.py" gateway "$p_gateway" "$work/gateway.jsonl" >"$work/gateway.log" 2>&1 &
pids+=($!); disown
wait_for "NATS" 20 curl -fs "http://127.0.0.1:$p_nats_http/healthz?js-enabled-only=true"
wait_for "the mail sink" 20 grep -q ready "$work/mail.log"
wait_for "the payment gateway" 20 grep -q ready "$work/gateway.log"
started "NATS JetStream at $nats_url, mail sink at $smtp_url, Toss Payments stand-in on :$p_gateway"

# ---------------------------------------------------------------------------------------------
# Two oms replicas. Strong secrets from make-certs.sh, as in production. Short leases, so the
# survivor takes over a dead replica's SYSTEM job and outbox deliveries within seconds. The
# payment gateway is Toss Payments' protocol, spoken to the stand-in over plain http:// on
# loopback (the only place the server allows it), with the secret key read from its file as
# compose does (production: the shop's live key in that file, and no --payment-gateway-url).
toss=(--payment-gateway toss --payment-gateway-url "http://127.0.0.1:$p_gateway")
db_url="postgres://oms:$db_password@127.0.0.1:$p_primary/oms?sslmode=verify-full&sslrootcert=$work/certs/ca.pem"
read_url="postgres://oms:$db_password@127.0.0.1:$p_replica/oms?sslmode=verify-full&sslrootcert=$work/certs/ca.pem"
export OMS_JWT_SECRET
OMS_JWT_SECRET=$(cat "$secrets/jwt_secret")
replica() { # name, port, extra flags...
  local name=$1 port=$2; shift 2
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec env \
     OMS_DATABASE_URL="$db_url" OMS_READ_DATABASE_URL="$read_url" \
     OMS_COURIER_WEBHOOK_SECRET="$(cat "$secrets/courier_webhook_secret")" \
     OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE="$secrets/toss_secret_key" \
     "$bin" serve --listen "127.0.0.1:$port" \
       --nats-url "$nats_url" --smtp-url "$smtp_url" \
       --job-interval-secs 0 --job-lease-secs 3 --outbox-lease-secs 3 --outbox-poll-ms 100 \
       --graphiql-assets "$root/web/node_modules" "$@" >"$work/$name.log" 2>&1) &
  local pid=$!
  eval "pid_$name=$pid"
  pids+=("$pid"); disown
  # Ready, or dead (a refused flag, an unreachable database): then say so at once.
  for _ in $(seq 1 450); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "local.sh: oms replica $name exited at start" >&2; return 1; }
    sleep 0.2
  done
  echo "local.sh: oms replica $name was not ready within 90s" >&2
  return 1
}
# The demo marketplace the smoke shops in: a first instance migrates and seeds it, with the
# built-in simulator (the demo pays its orders with payment keys only the simulator knows, so
# the server refuses --demo with --payment-gateway toss), and is stopped. The two replicas
# then start on a database that has both (two replicas seeding an empty database at once
# would seed it twice).
replica seed "$p_seed" --payment-gateway simulated --demo
# shellcheck disable=SC2154 # set by eval in replica()
kill -TERM "$pid_seed"
for _ in $(seq 1 100); do kill -0 "$pid_seed" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid_seed" 2>/dev/null; then echo "local.sh: the seeding instance did not stop" >&2; exit 1; fi
started "demo marketplace seeded (a first instance with the simulator, stopped)"
replica a "$p_a" "${toss[@]}"
replica b "$p_b" "${toss[@]}"
# shellcheck disable=SC2154 # set by eval in replica()
started "oms replicas on 127.0.0.1:$p_a (pid $pid_a) and 127.0.0.1:$p_b (pid $pid_b)"

# ---------------------------------------------------------------------------------------------
# haproxy: round robin, health checks on /readyz, a failed connection retried on the other
# replica; X-Served-By names the replica that answered.
sed -e "s/@PROXY@/127.0.0.1:$p_proxy/" -e "s/@A@/127.0.0.1:$p_a/" -e "s/@B@/127.0.0.1:$p_b/" \
  "$here/local/haproxy.cfg.in" >"$work/haproxy.cfg"
haproxy -c -q -f "$work/haproxy.cfg"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!); disown
wait_for "haproxy" 20 curl -fs "http://127.0.0.1:$p_proxy/readyz"
started "haproxy on 127.0.0.1:$p_proxy"

cat >"$work/topology.env" <<EOF
OMS_BIN=$bin
OMS_URL=http://127.0.0.1:$p_proxy
OMS_REPLICA_A_URL=http://127.0.0.1:$p_a
OMS_REPLICA_B_URL=http://127.0.0.1:$p_b
OMS_REPLICA_A_PID=$pid_a
OMS_REPLICA_B_PID=$pid_b
OMS_PG_SOCKET=$work/pg
OMS_PG_PRIMARY_PORT=$p_primary
OMS_PG_REPLICA_PORT=$p_replica
OMS_NATS_PORT=$p_nats
OMS_MAIL_DIR=$work/mail
OMS_GATEWAY_BOOK=$work/gateway.jsonl
OMS_WORK=$work
OMS_JWT_SECRET_PATH=$secrets/jwt_secret
SINKS_CA_FILE=${SINKS_CA_FILE:-}
EOF

if [ "$mode" = smoke ]; then
  "$here/smoke.sh" "$work/topology.env"
else
  token=$("$bin" token --role operator --subject local)
  echo
  echo "GraphQL:  http://127.0.0.1:$p_proxy/graphql"
  echo "GraphiQL: http://127.0.0.1:$p_proxy/graphiql?token=$token"
  echo "The topology is described in $work/topology.env. Ctrl-C stops everything."
  while kill -0 "${pids[0]}" 2>/dev/null; do sleep 1; done
fi
