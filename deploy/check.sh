#!/usr/bin/env bash
# Static checks of the deployment, with pinned tools (no container engine needed):
#
#   deploy/check.sh
#
# - compose.yaml against the Compose Specification's JSON schema (compose-spec.json, from
#   compose-spec/compose-go v2.13.0, the schema `docker compose` itself validates with) by
#   ajv-cli (deploy/package-lock.json), then check-compose.mjs: secrets declared, written by
#   make-certs.sh and never inline, every oms connection TLS;
# - the Dockerfile with hadolint (deploy/requirements-tools.txt), every rule, style included;
# - the shell scripts with ShellCheck (same file), the Python sinks compiled;
# - haproxy.cfg and nats.conf by haproxy and nats-server themselves, where installed.
#
# Each checker is also run on a broken copy, which it must refuse: a checker that passes
# everything would otherwise look the same as a clean deployment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The oms binary for `--check-config` (optional), resolved before the cd below.
bin=${OMS_BIN:-$here/../target/release/oms}
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
cd "$here"
tools=${OMS_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/oms-deploy-tools}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
passed=0
check() { # name, command...
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then
    passed=$((passed + 1)); echo "  ok    $name"
  else
    failed=$((failed + 1)); echo "  FAIL  $name"; sed 's/^/        /' "$work/out"
  fi
}
refuses() { # name, command...: the command must fail
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then
    failed=$((failed + 1)); echo "  FAIL  $name: accepted a broken copy"; sed 's/^/        /' "$work/out"
  else
    passed=$((passed + 1)); echo "  ok    $name"
  fi
}

echo "== tools (pinned)"
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >/dev/null
if ! cmp -s "$here/requirements-tools.txt" "$tools/requirements-tools.txt" 2>/dev/null; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements-tools.txt"
  cp "$here/requirements-tools.txt" "$tools/requirements-tools.txt"
fi
echo "  ajv-cli $(node -p 'require("./node_modules/ajv-cli/package.json").version'), $("$tools/bin/hadolint" --version), ShellCheck $("$tools/bin/shellcheck" --version | awk '/^version/ {print $2}')"

echo "== compose.yaml"
"$here/make-certs.sh" "$work/certs" >/dev/null
ajv() {
  node_modules/.bin/ajv validate --spec=draft2020 --strict=false -c ajv-formats --all-errors \
    --errors=text -s compose-spec.json -d "$1"
}
check "Compose Specification schema" ajv compose.yaml
check "secrets, TLS, mounts (check-compose.mjs)" node check-compose.mjs compose.yaml "$work/certs"
# Broken copies, next to the original so relative paths resolve.
sed 's/^    restart: unless-stopped$/    restrat: unless-stopped/' compose.yaml >"$here/.broken-schema.yaml"
sed 's#^    OMS_JWT_SECRET_FILE: /run/secrets/jwt_secret$#    OMS_JWT_SECRET: oms-dev-secret-change-me#' compose.yaml >"$here/.broken-secret.yaml"
sed 's#^    OMS_NATS_URL: tls://nats:4222$#    OMS_NATS_URL: nats://nats:4222#' compose.yaml >"$here/.broken-tls.yaml"
trap 'rm -rf "$work" "$here"/.broken-*.yaml' EXIT
refuses "the schema refuses an unknown service key (restrat:)" ajv .broken-schema.yaml
refuses "check-compose.mjs refuses an inline OMS_JWT_SECRET" node check-compose.mjs .broken-secret.yaml "$work/certs"
refuses "check-compose.mjs refuses nats:// (plain text)" node check-compose.mjs .broken-tls.yaml "$work/certs"

# The server's own judgement of the replicas' configuration: `oms serve --check-config` with
# oms-1's environment (secret paths mapped to a make-certs.sh run) and the image's CMD, which
# listens beyond loopback. It connects to nothing; exit 2 names any unsafe setting.
if [ -x "$bin" ]; then
  node check-compose.mjs compose.yaml "$work/certs" oms-1 >"$work/oms-1.env"
  mapfile -t oms_env <"$work/oms-1.env"
  check "oms serve --check-config with oms-1's environment" \
    env -i PATH="$PATH" "${oms_env[@]}" "$bin" serve --listen 0.0.0.0:8080 --check-config
  mapfile -t plain_env < <(sed 's#^OMS_NATS_URL=tls://#OMS_NATS_URL=nats://#' "$work/oms-1.env")
  # The refusal names the setting; any other failure (an unknown flag) is not this refusal.
  exits_unsafe() { # the refusal's line, command...
    local line=$1; shift
    ! "$@" >"$work/unsafe.out" 2>&1 && grep -qF -- "$line" "$work/unsafe.out"
  }
  check "oms serve --check-config refuses nats:// beyond loopback, naming it" \
    exits_unsafe '  - --nats-url (OMS_NATS_URL): plain-text' \
    env -i PATH="$PATH" "${plain_env[@]}" "$bin" serve --listen 0.0.0.0:8080 --check-config
  # The replicas pay through Toss (OMS_PAYMENT_GATEWAY=toss with the secret key's file): the
  # built-in simulator, which confirms any payment, is refused beyond loopback.
  mapfile -t simulated_env < <(grep -v '^OMS_PAYMENT_GATEWAY' "$work/oms-1.env")
  check "oms serve --check-config refuses the payment simulator beyond loopback, naming it" \
    exits_unsafe '  - --payment-gateway (OMS_PAYMENT_GATEWAY): ' \
    env -i PATH="$PATH" "${simulated_env[@]}" "$bin" serve --listen 0.0.0.0:8080 --check-config
else
  echo "  skip  oms serve --check-config: no binary at $bin (set OMS_BIN)"
fi

echo "== Dockerfile"
check "hadolint" "$tools/bin/hadolint" --failure-threshold style Dockerfile
printf 'FROM debian\nRUN apt-get install curl\nCMD oms serve\n' >"$work/Dockerfile.broken"
refuses "hadolint refuses an unpinned base and an unsafe apt-get" "$tools/bin/hadolint" --failure-threshold style "$work/Dockerfile.broken"

echo "== scripts and configurations"
check "ShellCheck" "$tools/bin/shellcheck" -x make-certs.sh local.sh smoke.sh check.sh postgres/server.sh postgres/init-replication.sh
check "sinks.py compiles" python3 -c 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)' \
  local/sinks.py "$work/sinks.pyc"
if command -v haproxy >/dev/null; then
  # The compose names do not resolve here; haproxy still checks everything else.
  check "haproxy.cfg (haproxy -c)" haproxy -c -q -f haproxy.cfg
  sed -e 's/@PROXY@/127.0.0.1:1/' -e 's/@A@/127.0.0.1:2/' -e 's/@B@/127.0.0.1:3/' local/haproxy.cfg.in >"$work/local-haproxy.cfg"
  check "local/haproxy.cfg.in (haproxy -c)" haproxy -c -q -f "$work/local-haproxy.cfg"
else
  echo "  skip  haproxy.cfg: haproxy is not installed"
fi
if command -v nats-server >/dev/null; then
  sed -e "s#/run/secrets/#$work/certs/#" -e "s#store_dir: /data#store_dir: $work/js#" nats.conf >"$work/nats.conf"
  check "nats.conf (nats-server -t)" nats-server -t -c "$work/nats.conf"
else
  echo "  skip  nats.conf: nats-server is not installed"
fi

echo "deploy checks: $passed passed, $failed failed"
[ "$failed" = 0 ]
