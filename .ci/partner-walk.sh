#!/usr/bin/env bash
# The partner walk of plugins/README.md ("Without a Rust toolchain: curl and wat2wasm"), run
# literally: its ```sh blocks are extracted in order and run in one shell with
# `set -euo pipefail`, in a scratch directory, against a running server; then the outcomes a
# partner would look at are checked. A block that fails, a GraphQL error or a userErrors entry
# in any answer, or an outcome that differs from what the README says, fails the walk.
#
# Needs: OMS_URL (the server, e.g. the demo's http://127.0.0.1:8080); `oms` (for the demo's
# seller token), `wat2wasm`, `jq`, `curl` and `sha256sum` on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
readme="$root/plugins/README.md"
section="## Without a Rust toolchain: curl and wat2wasm"
: "${OMS_URL:?set OMS_URL to the running server, e.g. http://127.0.0.1:8080}"
export OMS_URL

fail() {
  echo "partner walk FAILED: $*" >&2
  exit 1
}
for tool in oms wat2wasm jq curl sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The walk runs from the repository's root; only plugins/ is read there.
ln -s "$root/plugins" "$work/plugins"

# The section's ```sh blocks, verbatim, each between markers the prelude below defines.
awk -v section="$section" '
  /^## / { inside = ($0 == section) }
  inside && /^```sh$/ { block = 1; n++; print "__begin " n; next }
  inside && block && /^```$/ { block = 0; print "__end " n; next }
  block { print }
  END { if (block) exit 1 }
' "$readme" > "$work/blocks.sh" || fail "an unclosed \`\`\`sh block in \"$section\""
blocks=$(grep -c '^__begin ' "$work/blocks.sh" || true)
[ "$blocks" -gt 0 ] || fail "no \`\`\`sh blocks under \"$section\" in plugins/README.md"
# The walk must still contain every step this script checks.
for step in 'wat2wasm ' 'checkPlugin(' 'wasmBase64: $wasm, input: $claim' 'defaultPolicy: true' \
  'uploadPlugin(' 'pluginId: $id, input: $claim' 'activatePlugin(' 'plugins(' 'deactivatePlugin('; do
  grep -qF -- "$step" "$work/blocks.sh" || fail "the README's walk no longer has the step \"$step\""
done

cat > "$work/walk.sh" <<'PRELUDE'
set -euo pipefail
__begin() {
  echo "--- block $1" >&2
}
# After each block: no answer kept so far may carry a GraphQL error or a userErrors entry.
__end() {
  local f
  for f in *.json; do
    [ -e "$f" ] && [ "$f" != claim.json ] || continue
    if ! jq -e 'has("data") and (has("errors") | not)' "$f" >/dev/null; then
      echo "block $1: $f is not a GraphQL answer without errors:" >&2
      cat "$f" >&2
      echo >&2
      exit 1
    fi
    if jq -e '[.. | objects | .userErrors? // empty | length] | add // 0 | . > 0' "$f" >/dev/null; then
      echo "block $1: $f has userErrors:" >&2
      jq . "$f" >&2
      exit 1
    fi
  done
}
PRELUDE
cat "$work/blocks.sh" >> "$work/walk.sh"

echo "== partner walk: $blocks blocks of plugins/README.md against $OMS_URL"
(cd "$work" && bash "$work/walk.sh") || fail "a block of the walk failed (see above)"

# What a partner checks in the answers.
cd "$work"
expect() { # expect FILE JQ-CONDITION WHAT
  [ -s "$1" ] || fail "the walk wrote no $1"
  jq -e "$2" "$1" >/dev/null || { jq . "$1" >&2; fail "$1: $3"; }
}
sha=$(sha256sum flat_fee.wasm | cut -d' ' -f1)
size=$(wc -c < flat_fee.wasm | tr -d ' ')

expect check.json ".data.checkPlugin.check.sha256 == \"$sha\" and .data.checkPlugin.check.sizeBytes == $size" \
  "checkPlugin names the module's SHA-256 ($sha) and size ($size)"
expect check.json '.data.checkPlugin.check.samples | length > 0 and all(.failure == null and .output != null)' \
  "every sample evaluation of checkPlugin has an output and no failure"

raw='.data.dryRunPlugin.evaluation'
expect dry-run.json "$raw.failure == null and $raw.output.fault == \"CUSTOMER\" and $raw.output.returnFee == 3000 and $raw.output.exchangeFee == 0 and $raw.output.message == \"flat fee policy\"" \
  "the raw dry run decides CUSTOMER, returnFee 3000, exchangeFee 0, message \"flat fee policy\""
expect dry-run.json "$raw.log == \"flat fee: customer at fault\n\"" \
  "the raw dry run logs one line, \"flat fee: customer at fault\""
expect default.json "$raw.failure == null and $raw.output == {fault: \"CUSTOMER\", returnFee: 5000, initialShipping: true, couponClawback: true, exchangeFee: 0, message: null}" \
  "the default decides CUSTOMER with the seller's returnFee 5000 and no message"

expect upload.json ".data.uploadPlugin.plugin.state == \"INACTIVE\" and .data.uploadPlugin.plugin.sha256 == \"$sha\"" \
  "the upload stores the module ($sha), INACTIVE"
id=$(jq -r '.data.uploadPlugin.plugin.id' upload.json)
[ "$(jq -c "$raw.output" dry-run-uploaded.json)" = "$(jq -c "$raw.output" dry-run.json)" ] \
  || fail "the uploaded plugin's dry run differs from the raw bytes' dry run"
expect activate.json ".data.activatePlugin.plugin.id == \"$id\" and .data.activatePlugin.plugin.state == \"ACTIVE\"" \
  "activatePlugin makes $id ACTIVE"
expect plugins-active.json "[.data.plugins[] | select(.id == \"$id\") | .state] == [\"ACTIVE\"]" \
  "the plugins query shows $id ACTIVE"
expect deactivate.json ".data.deactivatePlugin.plugin.id == \"$id\"" \
  "deactivatePlugin names the plugin that was active ($id)"
expect plugins-after.json "[.data.plugins[] | select(.state != \"INACTIVE\")] == [] and any(.data.plugins[]; .id == \"$id\")" \
  "after deactivatePlugin no claim_fees plugin is active: the default decides again"

echo "partner walk: ok ($blocks blocks; check, raw and default dry runs, upload, activate, deactivate)"
