#!/usr/bin/env python3
"""Loopback stand-ins for deploy/local.sh, standard library only.

    sinks.py mail PORT DIR [CERT KEY]
                                  an SMTP sink: each message is written to DIR as N.eml;
                                  with a certificate and key, STARTTLS is required first
    sinks.py gateway PORT FILE    a payment gateway: POST /refunds and /charges, each
                                  Idempotency-Key moves money once; every call is appended
                                  to FILE as a JSON line {path, key, body, executed}
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
import json
import os
import socket
import ssl
import sys
import threading
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
# Payment gateway (the HTTP adapter's contract: README, "Partners")


def gateway(port, book_path):
    lock = threading.Lock()
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers.get("Idempotency-Key")
            if self.path not in ("/refunds", "/charges") or not key:
                self.send_error(400, "POST /refunds or /charges with an Idempotency-Key")
                return
            with lock:
                executed = key not in seen
                if executed:
                    seen[key] = "pg-%s-%d" % (self.path.strip("/"), len(seen) + 1)
                reference = seen[key]
                with open(book_path, "a") as f:
                    f.write(
                        json.dumps(
                            {
                                "path": self.path,
                                "key": key,
                                "body": body,
                                "executed": executed,
                                "reference": reference,
                            }
                        )
                        + "\n"
                    )
            answer = json.dumps({"reference": reference}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
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
    elif what == "gateway" and len(argv) == 4:
        gateway(port, argv[3])
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
