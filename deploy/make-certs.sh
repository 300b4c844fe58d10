#!/usr/bin/env bash
# Writes a private certificate authority and a server certificate for each service of
# deploy/compose.yaml into deploy/certs/ (git-ignored), and the secrets the services read
# through compose `secrets:` into deploy/certs/secrets/. Run it once before
# `docker compose -f deploy/compose.yaml up`; it keeps what exists (delete deploy/certs/ to
# start over: the database keeps the passwords it was initialised with, so drop its volumes
# too: `docker compose -f deploy/compose.yaml down -v`).
#
#   deploy/make-certs.sh [DIR]        (DIR defaults to deploy/certs)
#
# Every connection inside the compose network is TLS checked against this CA: the oms
# replicas refuse plain text to hosts beyond loopback. `deploy/local.sh` uses the same script
# with names 127.0.0.1 and localhost.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-"$here/certs"}
# The names each certificate is valid for: compose service names (and localhost, so a check
# from inside the container verifies too). OMS_CERT_HOSTS adds names to every certificate
# (local.sh: 127.0.0.1).
services=(db db-replica nats mail)
extra_hosts=${OMS_CERT_HOSTS:-}

command -v openssl >/dev/null || { echo "make-certs.sh: openssl is required" >&2; exit 1; }
umask 077
mkdir -p "$dir/secrets"

if [ ! -s "$dir/ca.pem" ]; then
  # ECDSA P-256: every client here (rustls, libpq, Go's crypto/tls) takes it, and it is fast.
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 825 \
    -subj "/CN=OMS deployment private CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem" 2>/dev/null
  echo "make-certs.sh: wrote $dir/ca.pem"
fi

for service in "${services[@]}"; do
  [ -s "$dir/$service.crt" ] && continue
  sans="DNS:$service,DNS:localhost,IP:127.0.0.1"
  for host in $extra_hosts; do
    if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then sans="$sans,IP:$host"; else sans="$sans,DNS:$host"; fi
  done
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$service.ec.key"
  # PKCS#8: the form every server here reads (PostgreSQL, NATS, mailpit).
  openssl pkcs8 -topk8 -nocrypt -in "$dir/$service.ec.key" -out "$dir/$service.key"
  rm -f "$dir/$service.ec.key"
  openssl req -new -key "$dir/$service.key" -subj "/CN=$service" -out "$dir/$service.csr"
  # 397 days: the longest validity clients that follow the CA/Browser Forum rules accept.
  openssl x509 -req -in "$dir/$service.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -sha256 -days 397 -out "$dir/$service.crt" \
    -extfile <(printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=$sans") 2>/dev/null
  rm -f "$dir/$service.csr"
  openssl verify -CAfile "$dir/ca.pem" "$dir/$service.crt" >/dev/null
  echo "make-certs.sh: wrote $dir/$service.crt ($sans)"
done
rm -f "$dir/ca.srl"

# Secrets: random, URL-safe (hex), never typed into compose.yaml or a command line.
secret() {
  local file="$dir/secrets/$1"
  [ -s "$file" ] || { openssl rand -hex "$2" | tr -d '\n' >"$file"; echo "make-certs.sh: wrote $file"; }
}
secret jwt_secret 32
secret courier_webhook_secret 32
secret db_password 24
secret replication_password 24
# The Toss Payments secret key the replicas send with every payment gateway call (HTTP Basic;
# OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE). What is written here is a made-up test key
# (`test_sk_` + random) that deploy/local.sh's stand-in (local/sinks.py) checks; Toss' own API
# refuses it. Production puts the shop's live secret key (`live_sk_...`, from Toss Payments'
# developer centre) into this file instead, and keeps it out of version control like the rest.
toss_key="$dir/secrets/toss_secret_key"
[ -s "$toss_key" ] || { printf 'test_sk_%s' "$(openssl rand -hex 16)" >"$toss_key"; echo "make-certs.sh: wrote $toss_key"; }
password=$(cat "$dir/secrets/db_password")
# The database URLs carry the password, so they are secrets too (OMS_DATABASE_URL_FILE,
# OMS_READ_DATABASE_URL_FILE). verify-full: the certificate must name the host it came from.
url() {
  local file="$dir/secrets/$1"
  printf 'postgres://oms:%s@%s:5432/oms?sslmode=verify-full&sslrootcert=/run/secrets/ca.pem' \
    "$password" "$2" >"$file"
}
url database_url db
url read_database_url db-replica
# Compose mounts secret files as they are on the host (uid, gid and mode of a file secret are
# Swarm-only), so the mode decides who reads them in a container. PostgreSQL, NATS and mailpit
# start as root, which reads the private keys and passwords at 0600; the oms image runs as uid
# 10001, so what it reads must be world-readable: the CA, its two secrets and the database
# URLs. The directories can be crossed but not listed by other users.
chmod 0600 "$dir"/*.key "$dir"/secrets/*
chmod 0644 "$dir"/*.crt "$dir"/ca.pem
chmod 0644 "$dir"/secrets/{jwt_secret,courier_webhook_secret,toss_secret_key,database_url,read_database_url}
chmod 0711 "$dir" "$dir/secrets"
echo "make-certs.sh: certificates and secrets are in $dir"
