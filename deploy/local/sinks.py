#!/usr/bin/env python3
"""Loopback stand-ins for deploy/local.sh, standard library only.

    sinks.py mail PORT DIR [CERT KEY]
                                  an SMTP sink: each message is written to DIR as N.eml;
                                  with a certificate and key, STARTTLS is required first
    sinks.py gateway PORT FILE [SECRET_KEY]
                                  a stand-in for Toss Payments' core API v1, the calls the
                                  server's adapter makes (src/gateway/toss.rs):
                                    POST /v1/payments/confirm {paymentKey, orderId, amount}
                                    GET  /v1/payments/{paymentKey}
                                    GET  /v1/payments/orders/{orderId}
                                    POST /v1/payments/{paymentKey}/cancel
                                         {cancelReason, cancelAmount, refundReceiveAccount?}
                                  Every call must carry HTTP Basic base64(SECRET_KEY + ":")
                                  (the key: the argument, or SINKS_GATEWAY_SECRET_KEY; else
                                  401 UNAUTHORIZED_KEY). A payment key it has not seen is
                                  taken at confirm as the widget's card authorization of the
                                  amount confirmed (DONE, 카드); a repeat is 400
                                  ALREADY_PROCESSED_PAYMENT, another key for a confirmed
                                  orderId 400 DUPLICATED_ORDER_ID, an unknown key 404
                                  NOT_FOUND_PAYMENT. Each cancel Idempotency-Key moves money
                                  once (a repeat gets the first answer again); nothing is
                                  cancelled beyond the balance (403 NOT_CANCELABLE_AMOUNT).
                                  State lives in memory. Every call is appended to FILE as a
                                  JSON line {method, path, endpoint, key, body, status, code?,
                                  executed, replayed?, paymentKey?, transactionKey?}: key is
                                  the Idempotency-Key of a cancel, else the payment key (the
                                  order id of a look-up by order); executed is true when the
                                  call confirmed a payment or moved money
    sinks.py jetstream PORT STREAM SUBJECT
                                  asks NATS JetStream for the last message on SUBJECT of
                                  STREAM and prints its data (exit 1 when there is none)
    sinks.py subjects PORT STREAM asks for the stream's subjects and their message counts
    sinks.py mails DIR TEXT       prints the recipients and decoded subjects of the mails in
                                  DIR that mention TEXT in their subject or body (JSON)

The sinks print "ready" once they listen and run until they are killed. With SINKS_CA_FILE
set, the NATS requests speak TLS and check the server's certificate against that CA.
"""

import asyncio
import base64
import datetime
import hmac
import json
import os
import re
import socket
import ssl
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# ----------------------------------------------------------------------------------------------
# SMTP sink (RFC 5321, the commands lettre sends; STARTTLS, RFC 3207, when given a certificate)


async def smtp_session(reader, writer, folder, counter, tls):
    def say(line):
        writer.write((line + "\r\n").encode())

    say("220 oms-local-mail ESMTP")
    await writer.drain()
    secure = tls is None
    while True:
        raw = await reader.readline()
        if not raw:
            break
        command = raw.decode("utf-8", "replace").strip()
        verb = command.split(" ", 1)[0].upper()
        if verb == "EHLO":
            say("250-oms-local-mail")
            if not secure:
                say("250-STARTTLS")
            say("250-8BITMIME")
            say("250 SMTPUTF8")
        elif verb == "STARTTLS" and not secure:
            say("220 ready to start TLS")
            await writer.drain()
            await writer.start_tls(tls)
            secure = True
            continue
        elif verb in ("MAIL", "RCPT", "DATA") and not secure:
            say("530 must issue a STARTTLS command first")
        elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
            say("250 OK")
        elif verb == "DATA":
            say("354 end with <CRLF>.<CRLF>")
            await writer.drain()
            lines = []
            while True:
                line = await reader.readline()
                if not line or line in (b".\r\n", b".\n"):
                    break
                # Dot-stuffing: a leading ".." stands for ".".
                lines.append(line[1:] if line.startswith(b"..") else line)
            counter[0] += 1
            path = os.path.join(folder, "%06d.eml" % counter[0])
            with open(path + ".part", "wb") as f:
                f.writelines(lines)
            os.replace(path + ".part", path)
            say("250 OK queued as %d" % counter[0])
        elif verb == "QUIT":
            say("221 bye")
            await writer.drain()
            break
        else:
            say("502 command not implemented")
        await writer.drain()
    writer.close()


async def mail(port, folder, cert=None, key=None):
    os.makedirs(folder, exist_ok=True)
    counter = [0]
    tls = None
    if cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
    server = await asyncio.start_server(
        lambda r, w: smtp_session(r, w, folder, counter, tls), "127.0.0.1", port
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


# ----------------------------------------------------------------------------------------------
# Payment gateway: the subset of Toss Payments' core API v1 the server's adapter speaks
# (src/gateway/toss.rs; README, "Payments")

TOSS_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
KST = datetime.timezone(datetime.timedelta(hours=9))


class Refusal(Exception):
    """A Toss error answer: HTTP status, {code, message}."""

    def __init__(self, status, code, message):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def now_kst():
    # As Toss writes times: ISO-8601 to the second, Korean time.
    return datetime.datetime.now(KST).isoformat(timespec="seconds")


def gateway(port, book_path, secret_key):
    lock = threading.Lock()
    payments = {}  # paymentKey -> the Payment JSON object
    orders = {}  # orderId -> paymentKey
    cancels = {}  # Idempotency-Key -> (the first answer's bytes, its transactionKey)
    credentials = "Basic " + base64.b64encode((secret_key + ":").encode()).decode()

    def positive_int(value, field):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise Refusal(400, "INVALID_REQUEST", "%s must be a positive whole number of won" % field)
        return value

    def confirm(body, entry):
        key, order_id, amount = body.get("paymentKey"), body.get("orderId"), body.get("amount")
        entry["key"] = key
        if not isinstance(key, str) or not 1 <= len(key) <= 200:
            raise Refusal(400, "INVALID_REQUEST", "paymentKey is required (at most 200 characters)")
        if not isinstance(order_id, str) or not TOSS_ORDER_ID.match(order_id):
            raise Refusal(400, "INVALID_REQUEST", "orderId must be 6 to 64 of A-Z a-z 0-9 - _")
        amount = positive_int(amount, "amount")
        if key in payments:
            raise Refusal(400, "ALREADY_PROCESSED_PAYMENT", "이미 처리된 결제 입니다.")
        if order_id in orders:
            raise Refusal(400, "DUPLICATED_ORDER_ID", "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.")
        # A key never seen: the widget's card authorization of exactly this amount.
        now = now_kst()
        payment = {
            "mId": "tosspayments",
            "version": "2022-11-16",
            "paymentKey": key,
            "orderId": order_id,
            "orderName": "OMS order %s" % order_id,
            "type": "NORMAL",
            "status": "DONE",
            "method": "카드",
            "currency": "KRW",
            "totalAmount": amount,
            "balanceAmount": amount,
            "card": {"amount": amount, "issuerCode": "61", "number": "433012******123*",
                     "installmentPlanMonths": 0, "approveNo": "%08d" % (len(payments) + 1)},
            "virtualAccount": None,
            "secret": None,
            "cancels": None,
            "requestedAt": now,
            "approvedAt": now,
        }
        payments[key] = payment
        orders[order_id] = key
        entry["executed"] = True
        return payment

    def lookup(key):
        if key not in payments:
            raise Refusal(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        return payments[key]

    def cancel(payment_key, body, idempotency_key, entry):
        entry["key"] = idempotency_key or payment_key
        entry["paymentKey"] = payment_key
        payment = lookup(payment_key)
        if idempotency_key and idempotency_key in cancels:
            # The same key: the first answer again, and no money moves.
            answer, transaction_key = cancels[idempotency_key]
            entry["replayed"] = True
            entry["transactionKey"] = transaction_key
            return answer
        reason = body.get("cancelReason")
        if not isinstance(reason, str) or not 1 <= len(reason) <= 200:
            raise Refusal(400, "INVALID_REQUEST", "cancelReason is required (at most 200 characters)")
        balance = payment["balanceAmount"]
        # No cancelAmount: the whole balance, as Toss does.
        amount = positive_int(body["cancelAmount"], "cancelAmount") if "cancelAmount" in body else balance
        if balance == 0:
            raise Refusal(400, "ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다.")
        if amount > balance:
            raise Refusal(403, "NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.")
        transaction_key = "tx%s" % uuid.uuid4().hex
        payment["balanceAmount"] = balance - amount
        payment["status"] = "PARTIAL_CANCELED" if payment["balanceAmount"] else "CANCELED"
        payment["cancels"] = (payment["cancels"] or []) + [
            {
                "transactionKey": transaction_key,
                "cancelReason": reason,
                "cancelAmount": amount,
                "taxFreeAmount": 0,
                "taxExemptionAmount": 0,
                "refundableAmount": payment["balanceAmount"],
                "transferDiscountAmount": 0,
                "easyPayDiscountAmount": 0,
                "canceledAt": now_kst(),
                "cancelStatus": "DONE",
                "cancelRequestId": None,
                "receiptKey": None,
            }
        ]
        answer = json.dumps(payment, ensure_ascii=False).encode()
        if idempotency_key:
            cancels[idempotency_key] = (answer, transaction_key)
        entry["executed"] = True
        entry["transactionKey"] = transaction_key
        return answer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.handle_call("GET")

        def do_POST(self):
            self.handle_call("POST")

        def handle_call(self, method):
            path = urllib.parse.urlsplit(self.path).path
            parts = [urllib.parse.unquote(p) for p in path.split("/")]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            idempotency_key = self.headers.get("Idempotency-Key")
            entry = {"method": method, "path": path, "key": idempotency_key, "body": None,
                     "executed": False}
            with lock:
                try:
                    try:
                        body = json.loads(raw) if raw else {}
                    except ValueError:
                        raise Refusal(400, "INVALID_REQUEST", "the body is not JSON")
                    entry["body"] = body
                    given = self.headers.get("Authorization") or ""
                    if not given.startswith("Basic "):
                        raise Refusal(401, "INCORRECT_BASIC_AUTH_FORMAT", "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.")
                    if not hmac.compare_digest(given.encode(), credentials.encode()):
                        raise Refusal(401, "UNAUTHORIZED_KEY", "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.")
                    if method == "POST" and parts[1:] == ["v1", "payments", "confirm"]:
                        if not isinstance(body, dict):
                            raise Refusal(400, "INVALID_REQUEST", "the body is not a JSON object")
                        entry["endpoint"] = "confirm"
                        answer = json.dumps(confirm(body, entry), ensure_ascii=False).encode()
                    elif method == "GET" and len(parts) == 5 and parts[1:4] == ["v1", "payments", "orders"]:
                        entry["endpoint"], entry["key"] = "payment-for-order", parts[4]
                        if parts[4] not in orders:
                            raise Refusal(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
                        answer = json.dumps(payments[orders[parts[4]]], ensure_ascii=False).encode()
                    elif method == "GET" and len(parts) == 4 and parts[1:3] == ["v1", "payments"]:
                        entry["endpoint"], entry["key"] = "payment", parts[3]
                        answer = json.dumps(lookup(parts[3]), ensure_ascii=False).encode()
                    elif method == "POST" and len(parts) == 5 and parts[1:3] == ["v1", "payments"] \
                            and parts[4] == "cancel":
                        if not isinstance(body, dict):
                            raise Refusal(400, "INVALID_REQUEST", "the body is not a JSON object")
                        entry["endpoint"] = "cancel"
                        answer = cancel(parts[3], body, idempotency_key, entry)
                    else:
                        raise Refusal(404, "NOT_FOUND", "%s %s is not an endpoint of this stand-in" % (method, path))
                    status = 200
                except Refusal as refusal:
                    status = refusal.status
                    entry["code"] = refusal.code
                    answer = json.dumps({"code": refusal.code, "message": refusal.message},
                                        ensure_ascii=False).encode()
                entry["status"] = status
                with open(book_path, "a") as f:
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


# ----------------------------------------------------------------------------------------------
# JetStream API over the NATS text protocol (one request, one reply)


def nats_request(port, subject, payload):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        s = plain
        f = s.makefile("rb")
        info = f.readline()
        if not info.startswith(b"INFO"):
            raise SystemExit("not a NATS server: %r" % info[:40])
        if os.environ.get("SINKS_CA_FILE"):
            context = ssl.create_default_context(cafile=os.environ["SINKS_CA_FILE"])
            s = context.wrap_socket(plain, server_hostname="127.0.0.1")
            f = s.makefile("rb")
        data = json.dumps(payload).encode()
        s.sendall(
            b'CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\n'
            b"SUB _INBOX.smoke 1\r\n"
            + b"PUB %s _INBOX.smoke %d\r\n%s\r\n" % (subject.encode(), len(data), data)
            + b"PING\r\n"
        )
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("NATS closed the connection")
            if line.startswith(b"MSG "):
                size = int(line.split()[-1])
                body = f.read(size + 2)[:size]
                return json.loads(body)
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                raise SystemExit("NATS: %s" % line.decode().strip())


def jetstream(port, stream, subject):
    answer = nats_request(port, "$JS.API.STREAM.MSG.GET." + stream, {"last_by_subj": subject})
    message = answer.get("message")
    if not message:
        print(json.dumps(answer.get("error", answer)), file=sys.stderr)
        sys.exit(1)
    sys.stdout.write(base64.b64decode(message["data"]).decode("utf-8", "replace") + "\n")


def subjects(port, stream):
    answer = nats_request(port, "$JS.API.STREAM.INFO." + stream, {"subjects_filter": ">"})
    if "error" in answer:
        print(json.dumps(answer["error"]), file=sys.stderr)
        sys.exit(1)
    state = answer["state"]
    print(json.dumps({"messages": state["messages"], "subjects": state.get("subjects", {})}))


def mails(folder, text):
    import email
    from email import policy

    found = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(folder, name), "rb") as f:
            message = email.message_from_binary_file(f, policy=policy.default)
        subject = str(message["subject"] or "")
        body = message.get_body(preferencelist=("plain", "html"))
        content = body.get_content() if body is not None else ""
        if text in subject or text in content:
            found.append({"to": str(message["to"] or ""), "subject": subject})
    print(json.dumps(found, ensure_ascii=False))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    what = argv[1]
    port = int(argv[2]) if argv[2].isdigit() else 0
    if what == "mail" and len(argv) in (4, 6):
        asyncio.run(mail(port, *argv[3:]))
    elif what == "gateway" and len(argv) in (4, 5):
        secret_key = argv[4] if len(argv) == 5 else os.environ.get("SINKS_GATEWAY_SECRET_KEY", "")
        if not secret_key:
            sys.exit("sinks.py gateway: no secret key (an argument, or SINKS_GATEWAY_SECRET_KEY)")
        gateway(port, argv[3], secret_key)
    elif what == "jetstream" and len(argv) == 5:
        jetstream(port, argv[3], argv[4])
    elif what == "mails" and len(argv) == 4:
        mails(argv[2], argv[3])
    elif what == "subjects" and len(argv) == 4:
        subjects(port, argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
