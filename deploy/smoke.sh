#!/usr/bin/env bash
# A claim flow through the proxy of deploy/local.sh's topology, with one replica killed
# midway, then the checks that matter to an operator:
#
#   deploy/smoke.sh TOPOLOGY.env     (deploy/local.sh smoke writes it and runs this)
#
# 1. a card order is placed and its payment confirmed (`confirmPayment` with a payment key
#    made up here, as the Toss widget's success redirect would carry, and the order's
#    `amountDue`), shipped and delivered, a return is requested and approved (through the
#    proxy: both replicas answer);
# 2. replica a is SIGKILLed; the return is collected and completed and the refund paid
#    through the proxy, which now reaches replica b only;
# 3. checks: the Toss stand-in confirmed the payment once, for the amount due; it executed
#    the refund's cancel exactly once, for the refund's amount, and a second run of the refund
#    job changes nothing; the read replica has the claim and the refund with the cancel's
#    transactionKey; the mail sink got the customer's mail; NATS JetStream has the claim's
#    events.

# GraphQL documents name their variables `$i`, `$c`: single quotes keep them from the shell.
# shellcheck disable=SC2016
set -euo pipefail
[ $# = 1 ] && [ -f "$1" ] || { echo "usage: deploy/smoke.sh TOPOLOGY.env (deploy/local.sh smoke)" >&2; exit 2; }
# shellcheck disable=SC1090
. "$1"
# The NATS requests of sinks.py speak TLS when the topology's NATS does.
export SINKS_CA_FILE
here=$(cd "$(dirname "$0")" && pwd)
operator=$(OMS_JWT_SECRET=$(cat "$OMS_JWT_SECRET_PATH") "$OMS_BIN" token --role operator --subject smoke)
run=$(date +%s)-$$
failures=0
ok() { echo "  ok    $*"; }
fail() { echo "  FAIL  $*"; failures=$((failures + 1)); }

# A GraphQL request through the proxy; prints the answer's data and appends the replica that
# answered (haproxy's X-Served-By) to served.log. Stops on a transport error or a GraphQL
# error; userErrors are the caller's to read.
: >"$OMS_WORK/served.log"
gql() { # query, variables (JSON)
  local body answer
  body=$(jq -nc --arg q "$1" --argjson v "${2:-"{}"}" '{query: $q, variables: $v}')
  answer=$(curl -sS --max-time 30 -D "$OMS_WORK/headers" -H "Authorization: Bearer $operator" \
    -H 'Content-Type: application/json' --data "$body" "$OMS_URL/graphql")
  tr -d '\r' <"$OMS_WORK/headers" | awk 'tolower($1) == "x-served-by:" {print $2}' >>"$OMS_WORK/served.log"
  if [ "$(jq '.errors | length' <<<"$answer")" != 0 ]; then
    echo "smoke.sh: GraphQL errors: $answer" >&2
    exit 1
  fi
  jq -c .data <<<"$answer"
}
# A step of the flow: a mutation whose userErrors must be empty.
step() { # label, query, variables
  local data
  data=$(gql "$2" "$3")
  if [ "$(jq '[.[] | .userErrors? // [] | length] | add' <<<"$data")" != 0 ]; then
    echo "smoke.sh: $1 refused: $data" >&2
    exit 1
  fi
  echo "  step  $1 (answered by replica $(tail -n 1 "$OMS_WORK/served.log"))"
  printf '%s' "$data" >"$OMS_WORK/last.json"
}
last() { jq -r "$1" "$OMS_WORK/last.json"; }

echo "== smoke: a return through the proxy, one replica killed midway"
# The demo's first product option of the first seller, for its first customer.
gql '{ products { seller { id } options { id stock } } }' >"$OMS_WORK/products.json"
option=$(jq -r '[.products[] | .options[] | select(.stock > 0)][0].id' "$OMS_WORK/products.json")
seller=$(jq -r --arg o "$option" '.products[] | select(any(.options[]; .id == $o)) | .seller.id' "$OMS_WORK/products.json")
seller_id=${seller##*/}

step "placeOrder (card)" \
  'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { orderNumber cashTotal amountDue lines { id } } userErrors { code message } } }' \
  "$(jq -nc --arg o "$option" --arg k "smoke-$run" '{i: {customerId: "gid://oms/Customer/1", lines: [{optionId: $o, quantity: 1}], paymentMethod: "CARD", idempotencyKey: $k}}')"
order=$(last .placeOrder.order.orderNumber)
line=$(last '.placeOrder.order.lines[0].id')
amount_due=$(last .placeOrder.order.amountDue)
# The customer pays in Toss' widget (orderId = the order number, amount = amountDue); its
# success redirect hands the shop a payment key, which the server confirms with Toss. The
# stand-in takes a key it has not seen as the widget's card authorization.
payment_key=tsmoke$(date +%Y%m%d%H%M%S)$$
step "confirmPayment ($amount_due won)" \
  'mutation($i: ConfirmPaymentInput!) { confirmPayment(input: $i) { order { amountDue } userErrors { code message } } }' \
  "$(jq -nc --arg n "$order" --arg p "$payment_key" --argjson a "$amount_due" '{i: {orderNumber: $n, paymentKey: $p, amount: $a}}')"
due_after_payment=$(last .confirmPayment.order.amountDue)
lines=$(jq -nc --arg l "$line" --arg n "$order" '{n: $n, l: [$l]}')
step "confirmOrder" 'mutation($n: String!, $l: [ID!]!) { confirmOrder(input: {orderNumber: $n, lineIds: $l}) { userErrors { code message } } }' "$lines"
step "shipLines" 'mutation($l: [ID!]!) { shipLines(input: {lineIds: $l, courier: "CJ대한통운", trackingNumber: "SMOKE1"}) { userErrors { code message } } }' "$(jq -c '{l}' <<<"$lines")"
step "markDelivered" 'mutation($l: [ID!]!) { markDelivered(input: {lineIds: $l}) { userErrors { code message } } }' "$(jq -c '{l}' <<<"$lines")"
step "requestReturn" \
  'mutation($i: RequestReturnInput!) { requestReturn(input: $i) { claim { claimNumber status } userErrors { code message } } }' \
  "$(jq -nc --arg n "$order" --arg l "$line" '{i: {orderNumber: $n, items: [{lineId: $l, quantity: 1}], reason: "CHANGE_OF_MIND"}}')"
claim=$(last .requestReturn.claim.claimNumber)
claim_input=$(jq -nc --arg c "$claim" '{i: {claimNumber: $c}}')
step "approveClaim" 'mutation($i: ApproveClaimInput!) { approveClaim(input: $i) { claim { status } userErrors { code message } } }' "$claim_input"
before_kill=$(sort -u "$OMS_WORK/served.log" | paste -sd, -)
answers_before_kill=$(wc -l <"$OMS_WORK/served.log")

echo "  kill  replica a (pid $OMS_REPLICA_A_PID) with SIGKILL"
kill -KILL "$OMS_REPLICA_A_PID"

step "markCollected" \
  'mutation($i: CourierInput!) { markCollected(input: $i) { claim { status } userErrors { code message } } }' \
  "$(jq -nc --arg c "$claim" '{i: {claimNumber: $c, courier: "CJ대한통운", trackingNumber: "SMOKE-RETURN"}}')"
step "completeReturn" \
  'mutation($i: CompleteReturnInput!) { completeReturn(input: $i) { claim { status refund { cash status } } userErrors { code message } } }' \
  "$claim_input"
refund_cash=$(last .completeReturn.claim.refund.cash)

# The refund job: replica a may have held its lease (3 s here) when it died; the job runs
# once the lease has run out.
refund_status=
for _ in $(seq 1 30); do
  gql 'mutation { runSystemJobs(input: {jobs: [PAY_REFUNDS]}) { runs { job ran } } }' >/dev/null
  refund_status=$(gql 'query($c: String!) { claim(claimNumber: $c) { refund { status } } }' \
    "$(jq -nc --arg c "$claim" '{c: $c}')" | jq -r .claim.refund.status)
  [ "$refund_status" = SUCCEEDED ] && break
  sleep 0.5
done
echo "  step  runSystemJobs(PAY_REFUNDS) until the refund is paid: $refund_status"
# Once more: a paid refund must not be paid again.
gql 'mutation { runSystemJobs(input: {jobs: [PAY_REFUNDS]}) { runs { job ran } } }' >/dev/null
after_kill=$(tail -n +"$((answers_before_kill + 1))" "$OMS_WORK/served.log" | sort -u | paste -sd, -)
final=$(gql 'query($c: String!) { claim(claimNumber: $c) { status refund { cash status parts { method amount status attempts gatewayReference } } } }' \
  "$(jq -nc --arg c "$claim" '{c: $c}')")

echo "== checks (order $order, claim $claim)"
# Both replicas served before the kill; only b after it.
if [ "$before_kill" = "a,b" ]; then ok "before the kill both replicas answered ($before_kill)"
else fail "before the kill the answers came from: $before_kill (expected a,b)"; fi
if [ "$after_kill" = "b" ]; then ok "after the kill only replica b answered"
else fail "after the kill the answers came from: $after_kill (expected b)"; fi

# The payment: confirmed once at the gateway (Toss' confirm, the stand-in's Basic credentials
# checked), for the amount due, and the order owes nothing after it.
confirmed=$(jq -sc --arg p "$payment_key" '[.[] | select(.endpoint == "confirm" and .key == $p and .executed)]' "$OMS_GATEWAY_BOOK")
refused=$(jq -s '[.[] | select(.status == 401)] | length' "$OMS_GATEWAY_BOOK")
if [ "$(jq length <<<"$confirmed")" = 1 ] && [ "$(jq -c '.[0].body | [.orderId, .amount]' <<<"$confirmed")" = "$(jq -nc --arg n "$order" --argjson a "$amount_due" '[$n, $a]')" ] \
   && [ "$due_after_payment" = 0 ] && [ "$refused" = 0 ]; then
  ok "the gateway confirmed payment $payment_key once for order $order, $amount_due won; it owes 0 now"
else
  fail "confirms of $payment_key at the gateway: $confirmed (expected one for $order, $amount_due won); amountDue after: $due_after_payment; calls refused for their credentials: $refused"
fi

# The refund: paid, and its cancel executed once at the gateway, for the refund's amount.
status=$(jq -r .claim.status <<<"$final")
if [ "$refund_status" = SUCCEEDED ]; then ok "claim $status, refund $refund_cash won SUCCEEDED"
else fail "refund status $refund_status: $final"; fi
# The cancels of the claim's refund part: the Idempotency-Key is the part's, which starts with
# the claim number.
executed=$(jq -sc --arg c "$claim-" '[.[] | select(.endpoint == "cancel" and (.key | startswith($c)) and .executed)]' "$OMS_GATEWAY_BOOK")
calls=$(jq -s --arg c "$claim-" '[.[] | select(.endpoint == "cancel" and (.key | startswith($c)))] | length' "$OMS_GATEWAY_BOOK")
if [ "$(jq length <<<"$executed")" = 1 ] && [ "$(jq '.[0].body.cancelAmount' <<<"$executed")" = "$refund_cash" ] \
   && [ "$(jq -r '.[0].paymentKey' <<<"$executed")" = "$payment_key" ]; then
  ok "the gateway executed the refund's cancel of $payment_key exactly once ($refund_cash won; $calls call(s) with its key)"
else
  fail "cancels executed at the gateway for $claim: $executed (expected one of $refund_cash won from $payment_key)"
fi
paid_parts=$(jq '[.claim.refund.parts[] | select(.method != "POINTS")] | length' <<<"$final")
if [ "$paid_parts" = 1 ]; then ok "one cash refund part"; else fail "cash refund parts: $final"; fi
# The part keeps the cancel's transactionKey as its gateway reference.
reference=$(jq -r '.[0].transactionKey // "none"' <<<"$executed")
part_reference=$(jq -r '[.claim.refund.parts[] | select(.method != "POINTS")][0].gatewayReference // "none"' <<<"$final")
if [ "$reference" != none ] && [ "$part_reference" = "$reference" ]; then
  ok "the refund part's gatewayReference is the cancel's transactionKey ($reference)"
else
  fail "the refund part's gatewayReference is $part_reference; the cancel's transactionKey $reference"
fi

# The read replica: the claim's rows as the primary has them, read directly from the standby,
# with the cancel's transactionKey on the paid part.
rows="select c.status, p.method, p.amount, p.status, coalesce(p.gateway_reference, '-')
        from claims c join refund_parts p on p.claim_id = c.id
       where c.claim_number = '$claim' order by p.id"
on_primary=$(psql -h "$OMS_PG_SOCKET" -p "$OMS_PG_PRIMARY_PORT" -U postgres -d oms -AtF ' ' -c "$rows")
on_replica=
for _ in $(seq 1 50); do
  on_replica=$(psql -h "$OMS_PG_SOCKET" -p "$OMS_PG_REPLICA_PORT" -U postgres -d oms -AtF ' ' -c "$rows" 2>&1 || true)
  [ "$on_replica" = "$on_primary" ] && break
  sleep 0.2
done
in_recovery=$(psql -h "$OMS_PG_SOCKET" -p "$OMS_PG_REPLICA_PORT" -U postgres -Atc 'select pg_is_in_recovery()')
if [ "$in_recovery" = t ] && [ "$on_replica" = "$on_primary" ] && grep -q " $reference\$" <<<"$on_replica"; then
  ok "the standby (in recovery) has the claim and its refund as the primary does: $(paste -sd';' <<<"$on_replica")"
else
  fail "the standby (recovery: $in_recovery) answered '$on_replica'; the primary '$on_primary'; gateway reference $reference"
fi

# TLS on every database connection: the servers' pg_hba.conf has hostssl lines only, and
# pg_stat_ssl shows it for the replicas' pool and the standby's WAL stream.
tls_rows=$(psql -h "$OMS_PG_SOCKET" -p "$OMS_PG_PRIMARY_PORT" -U postgres -Atc \
  "select coalesce(a.usename, '') || ':' || s.ssl || ':' || coalesce(s.version, '-')
     from pg_stat_ssl s join pg_stat_activity a using (pid)
    where a.usename in ('oms', 'replicator') group by 1 order by 1")
if grep -q '^oms:true:TLS' <<<"$tls_rows" && grep -q '^replicator:true:TLS' <<<"$tls_rows" \
   && ! grep -q ':false:' <<<"$tls_rows"; then
  ok "every connection to the primary is TLS: $(paste -sd' ' <<<"$tls_rows")"
else
  fail "connections to the primary (user:ssl:version): $(paste -sd' ' <<<"$tls_rows")"
fi

# Mail: the customer is told that the return was collected and completed, steps that only
# replica b ran (notifications go out through the outbox, once per event).
mail='[]'
for _ in $(seq 1 100); do
  mail=$(python3 "$here/local/sinks.py" mails "$OMS_MAIL_DIR" "$order")
  jq -e 'any(.[]; .subject | test("반품.*완료"))' <<<"$mail" >/dev/null && break
  sleep 0.2
done
if jq -e 'any(.[]; .subject | test("반품.*완료"))' <<<"$mail" >/dev/null; then
  ok "the mail sink got $(jq length <<<"$mail") mails about $order, among them: $(jq -r '[.[] | select(.subject | test("반품.*완료")) | .subject] | join(" / ")' <<<"$mail")"
else
  fail "no mail that the return of $order was collected or completed: $mail"
fi

# NATS JetStream: the claim's events on the seller's subjects, the last one included.
events=0
completed=
for _ in $(seq 1 100); do
  events=0
  subjects=$(python3 "$here/local/sinks.py" subjects "$OMS_NATS_PORT" OMS_EVENTS)
  for subject in $(jq -r --arg s "oms.seller.$seller_id.claim." '.subjects | keys[] | select(startswith($s))' <<<"$subjects"); do
    if python3 "$here/local/sinks.py" jetstream "$OMS_NATS_PORT" OMS_EVENTS "$subject" 2>/dev/null | grep -q "$claim"; then
      events=$((events + 1))
      [ "$subject" = "oms.seller.$seller_id.claim.return_completed" ] && completed=yes
    fi
  done
  [ "$events" -ge 4 ] && [ -n "$completed" ] && break
  sleep 0.2
done
if [ "$events" -ge 4 ] && [ -n "$completed" ]; then
  ok "JetStream OMS_EVENTS holds the claim's events on $events subjects of seller $seller_id, return_completed included ($(jq .messages <<<"$subjects") messages in all)"
else
  fail "JetStream subjects of seller $seller_id whose last event is $claim's: $events (expected 4 or more, return_completed among them: ${completed:-no})"
fi

echo "== summary: order $order paid ($amount_due won, $payment_key), return $claim ($status), refund $refund_cash won cancelled once; replica a killed after approval, replica b finished"
if [ "$failures" != 0 ]; then
  echo "smoke: $failures check(s) failed"
  exit 1
fi
echo "smoke: all checks passed"
