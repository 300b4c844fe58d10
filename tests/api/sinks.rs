//! Partners on loopback for the notification and webhook tests: a minimal SMTP server that
//! records each mail and decodes it back to readable UTF-8 ([`SmtpSink`]), and an HTTP server
//! that records every request and answers with a programmable status and delay ([`HttpSink`]).
//! Both live as long as the test's runtime and survive the app under test being restarted, so
//! a crash test can count what was delivered before and after.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How often `wait_for` looks again.
const POLL: Duration = Duration::from_millis(20);

/// One mail as the SMTP sink received it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, without the final `.` line.
    pub data: String,
    /// When the sink accepted it.
    pub received_at: DateTime<Utc>,
}

impl Mail {
    /// The raw value of a header (folded lines joined), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_message(&self.data);
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.lines() {
            match unfolded.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => unfolded.push(line.to_owned()),
            }
        }
        unfolded.iter().find_map(|line| {
            line.split_once(':')
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, value)| value.trim().to_owned())
        })
    }

    /// The subject, decoded from RFC 2047 encoded words (`=?utf-8?b?...?=`).
    pub fn subject(&self) -> String {
        self.header("Subject")
            .map(|s| decode_words(&s))
            .unwrap_or_default()
    }

    /// The body, decoded from its transfer encoding (base64, quoted-printable or 7/8 bit),
    /// with `\n` line endings.
    pub fn text(&self) -> String {
        let (_, body) = split_message(&self.data);
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => {
                let compact: String = body.split_whitespace().collect();
                STANDARD.decode(compact).unwrap_or_default()
            }
            "quoted-printable" => decode_quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }
}

/// The header block and the body of a message.
fn split_message(data: &str) -> (&str, &str) {
    data.split_once("\r\n\r\n")
        .or_else(|| data.split_once("\n\n"))
        .unwrap_or((data, ""))
}

/// Decodes RFC 2047 encoded words; whitespace between two encoded words is dropped, the
/// bytes of adjacent words are joined before UTF-8 decoding (a character may span words).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut space = String::new();
    let mut chars = value.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            space.push(c);
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, next)) = chars.peek() {
            if next.is_whitespace() {
                break;
            }
            end = i + next.len_utf8();
            chars.next();
        }
        let token = &value[start..end];
        match decode_word(token) {
            Some(bytes) => {
                if pending.is_empty() {
                    out.push_str(&space);
                }
                pending.extend(bytes);
            }
            None => {
                out.push_str(&String::from_utf8_lossy(&pending));
                pending.clear();
                out.push_str(&space);
                out.push_str(token);
            }
        }
        space.clear();
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out
}

/// The bytes of one `=?charset?B|Q?text?=` word.
fn decode_word(token: &str) -> Option<Vec<u8>> {
    let inner = token.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
    match encoding {
        "b" | "B" => STANDARD.decode(text).ok(),
        "q" | "Q" => Some(decode_quoted_printable(&text.replace('_', " "))),
        _ => None,
    }
}

/// Quoted-printable: `=XX` escapes and `=` soft line breaks.
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest
            .get(..2)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

/// How an [`SmtpSink`] speaks TLS.
#[derive(Clone)]
pub enum SmtpTls {
    /// Plain text only.
    None,
    /// Offers `STARTTLS` and refuses mail and `AUTH` before it (a submission server, 587).
    StartTls(TlsAcceptor),
    /// TLS from the first byte (465).
    Implicit(TlsAcceptor),
}

/// A byte stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A minimal SMTP server on `127.0.0.1`: greeting 220, `EHLO`/`HELO` 250, `MAIL FROM` and
/// `RCPT TO` 250, `DATA` 354 until `.`, then 250 (or 451 while failing), `RSET`/`NOOP` 250,
/// `QUIT` 221; with TLS, `STARTTLS` and `AUTH PLAIN`/`LOGIN`. Records each accepted mail and
/// the credentials it was given.
#[derive(Clone)]
pub struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    fail_next: Arc<AtomicU32>,
    tls: SmtpTls,
    logins: Arc<Mutex<Vec<(String, String)>>>,
}

impl SmtpSink {
    /// Starts the sink on a free port.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_with(SmtpTls::None).await
    }

    /// Starts the sink on a free port, speaking TLS as `tls` says.
    pub async fn start_with(tls: SmtpTls) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = SmtpSink {
            addr: listener.local_addr().unwrap(),
            mails: Arc::default(),
            fail_next: Arc::default(),
            tls,
            logins: Arc::default(),
        };
        let shared = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let conn = shared.clone();
                tokio::spawn(async move {
                    // A client that hangs up mid-conversation (or fails the handshake) just
                    // ends it.
                    let stream: Box<dyn Io> = match &conn.tls {
                        SmtpTls::Implicit(acceptor) => match acceptor.accept(stream).await {
                            Ok(tls) => Box::new(tls),
                            Err(_) => return,
                        },
                        _ => Box::new(stream),
                    };
                    let _ = conn.converse(stream).await;
                });
            }
        });
        sink
    }

    /// The user names and passwords clients authenticated with, in order.
    pub fn logins(&self) -> Vec<(String, String)> {
        self.logins.lock().unwrap().clone()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:<port>`, for `Mailer::from_url` and `--smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The mails accepted so far, in order.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Refuses the next `n` mails with `451` at the end of `DATA` (a transient failure).
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Waits until at least `n` mails arrived (or `timeout` passed) and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= n || Instant::now() >= deadline {
                return mails;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn converse(&self, stream: Box<dyn Io>) -> std::io::Result<()> {
        let mut read = BufReader::new(stream);
        read.get_mut()
            .write_all(b"220 oms-test-sink ESMTP\r\n")
            .await?;
        let mut from = String::new();
        let mut to: Vec<String> = Vec::new();
        let mut line = Vec::new();
        // TLS is on from the start with implicit TLS, after `STARTTLS` otherwise.
        let mut secure = matches!(self.tls, SmtpTls::Implicit(_));
        loop {
            line.clear();
            if read.read_until(b'\n', &mut line).await? == 0 {
                return Ok(());
            }
            let command = String::from_utf8_lossy(&line).trim_end().to_owned();
            let verb = command
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let must_start_tls = matches!(self.tls, SmtpTls::StartTls(_)) && !secure;
            let reply: &[u8] = match verb.as_str() {
                "EHLO" if must_start_tls => b"250-oms-test-sink\r\n250 STARTTLS\r\n",
                "EHLO" if secure => b"250-oms-test-sink\r\n250 AUTH PLAIN LOGIN\r\n",
                "EHLO" | "HELO" => b"250 oms-test-sink\r\n",
                "STARTTLS" => {
                    let SmtpTls::StartTls(acceptor) = &self.tls else {
                        read.get_mut()
                            .write_all(b"502 5.5.1 STARTTLS not offered\r\n")
                            .await?;
                        continue;
                    };
                    read.get_mut()
                        .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                        .await?;
                    let plain = read.into_inner();
                    let tls = acceptor.accept(plain).await?;
                    read = BufReader::new(Box::new(tls));
                    secure = true;
                    from.clear();
                    to.clear();
                    continue;
                }
                "MAIL" | "AUTH" if must_start_tls => {
                    b"530 5.7.0 Must issue a STARTTLS command first\r\n"
                }
                "AUTH" => {
                    let login = authenticate(&command, &mut read).await?;
                    self.logins.lock().unwrap().push(login);
                    b"235 2.7.0 Authentication successful\r\n"
                }
                "MAIL" => {
                    from = angle_address(&command);
                    to.clear();
                    b"250 2.1.0 Ok\r\n"
                }
                "RCPT" => {
                    to.push(angle_address(&command));
                    b"250 2.1.5 Ok\r\n"
                }
                "DATA" => {
                    read.get_mut()
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let data = read_data(&mut read).await?;
                    let failing = self
                        .fail_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        b"451 4.3.0 Try again later (test sink)\r\n"
                    } else {
                        let queued = {
                            let mut mails = self.mails.lock().unwrap();
                            mails.push(Mail {
                                from: from.clone(),
                                to: to.clone(),
                                data,
                                received_at: Utc::now(),
                            });
                            mails.len()
                        };
                        let reply = format!("250 2.0.0 Ok: queued as {queued}\r\n");
                        read.get_mut().write_all(reply.as_bytes()).await?;
                        continue;
                    }
                }
                "RSET" => {
                    from.clear();
                    to.clear();
                    b"250 2.0.0 Ok\r\n"
                }
                "NOOP" => b"250 2.0.0 Ok\r\n",
                "QUIT" => {
                    read.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 5.5.2 Command not recognized\r\n",
            };
            read.get_mut().write_all(reply).await?;
        }
    }
}

/// The address between `<` and `>` of `MAIL FROM:<a@b> SIZE=...`.
fn angle_address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

/// The user name and password of `AUTH PLAIN <base64>` or `AUTH LOGIN` (asked for in turn).
async fn authenticate(
    command: &str,
    read: &mut BufReader<Box<dyn Io>>,
) -> std::io::Result<(String, String)> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let decode = |b64: &str| {
        String::from_utf8_lossy(&STANDARD.decode(b64.trim()).unwrap_or_default()).into_owned()
    };
    let mut answer = async |prompt: &[u8]| -> std::io::Result<String> {
        read.get_mut().write_all(prompt).await?;
        let mut line = String::new();
        read.read_line(&mut line).await?;
        Ok(line)
    };
    match words.get(1).map(|m| m.to_ascii_uppercase()).as_deref() {
        Some("PLAIN") => {
            let payload = match words.get(2) {
                Some(p) => (*p).to_owned(),
                None => answer(b"334 \r\n").await?,
            };
            let text = decode(&payload);
            let mut parts = text.split('\0').skip(1);
            let user = parts.next().unwrap_or_default().to_owned();
            let password = parts.next().unwrap_or_default().to_owned();
            Ok((user, password))
        }
        _ => {
            let user = decode(&answer(b"334 VXNlcm5hbWU6\r\n").await?);
            let password = decode(&answer(b"334 UGFzc3dvcmQ6\r\n").await?);
            Ok((user, password))
        }
    }
}

/// The message after `DATA`, up to the lone `.` line, dot-unstuffed.
async fn read_data(read: &mut BufReader<Box<dyn Io>>) -> std::io::Result<String> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(String::from_utf8_lossy(&data).into_owned());
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}

/// One request as the HTTP sink received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, ...
    pub method: String,
    /// The path and query (`/webhooks/a?x=1`).
    pub path: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The status the sink answered.
    pub status: u16,
}

impl Recorded {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

#[derive(Default)]
struct HttpState {
    requests: Mutex<Vec<Recorded>>,
    fail_next: AtomicU32,
    fail_status: AtomicU16,
    status: AtomicU16,
    delay_ms: AtomicU64,
    location: Mutex<Option<String>>,
    close: std::sync::atomic::AtomicBool,
}

/// An HTTP server on `127.0.0.1` that records every request (any method, any path) and
/// answers `200 {"messageId": "sink-<n>"}`, or a programmed failure or redirect, after a
/// programmed delay.
#[derive(Clone)]
pub struct HttpSink {
    addr: SocketAddr,
    state: Arc<HttpState>,
    scheme: &'static str,
}

impl HttpSink {
    /// Starts the sink on a free port of `127.0.0.1`.
    pub async fn start() -> HttpSink {
        HttpSink::start_on("127.0.0.1").await
    }

    /// Starts the sink on a free port of `ip` (`127.0.0.2`: another loopback address).
    pub async fn start_on(ip: &str) -> HttpSink {
        let state = Arc::new(HttpState {
            fail_status: AtomicU16::new(500),
            status: AtomicU16::new(200),
            ..HttpState::default()
        });
        let app = Router::new().fallback(record).with_state(state.clone());
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        HttpSink {
            addr,
            state,
            scheme: "http",
        }
    }

    /// Starts an HTTPS sink on a free port of `127.0.0.1`, with `acceptor`'s certificate.
    pub async fn start_tls(acceptor: TlsAcceptor) -> HttpSink {
        let state = Arc::new(HttpState {
            fail_status: AtomicU16::new(500),
            status: AtomicU16::new(200),
            ..HttpState::default()
        });
        let app = Router::new().fallback(record).with_state(state.clone());
        let listener = TlsListener::bind(acceptor).await;
        let addr = listener.tcp.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        HttpSink {
            addr,
            state,
            scheme: "https",
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>` (the address it listens on; `https` for a TLS sink)
    /// followed by `path` (`/alimtalk`).
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Answers the next `n` requests with 500.
    pub fn fail_next(&self, n: u32) {
        self.fail_next_with(n, StatusCode::INTERNAL_SERVER_ERROR);
    }

    /// Answers the next `n` requests with `status`.
    pub fn fail_next_with(&self, n: u32, status: StatusCode) {
        self.state
            .fail_status
            .store(status.as_u16(), Ordering::SeqCst);
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// Answers every request (after any programmed failures) with `status` (200 by default;
    /// 410 Gone, say, to test an endpoint that asks to be disabled).
    pub fn set_status(&self, status: StatusCode) {
        self.state.status.store(status.as_u16(), Ordering::SeqCst);
    }

    /// Answers every request (after any programmed failures) with `status` (a `3xx`) and
    /// `Location: location`.
    pub fn redirect_to(&self, status: StatusCode, location: &str) {
        *self.state.location.lock().unwrap() = Some(location.to_owned());
        self.set_status(status);
    }

    /// Closes the connection after each answer (`Connection: close`), so every request comes
    /// on a new connection — its client resolves the name again.
    pub fn close_connections(&self) {
        self.state.close.store(true, Ordering::SeqCst);
    }

    /// Waits `delay` before answering each request (a slow receiver, or time to kill the
    /// dispatcher mid-delivery). Requests are recorded on arrival, before the delay.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Waits until at least `n` requests arrived (or `timeout` passed) and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n || Instant::now() >= deadline {
                return requests;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A TLS listener for `axum::serve`: accepts TCP connections on `127.0.0.1` and completes
/// each handshake before handing the stream over (a client that refuses the certificate is
/// dropped; the next one is served).
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    /// Binds a free port of `127.0.0.1`.
    pub async fn bind(acceptor: TlsAcceptor) -> TlsListener {
        TlsListener {
            tcp: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            acceptor,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.tcp.local_addr().unwrap()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

async fn record(
    State(state): State<Arc<HttpState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received_at = Utc::now();
    let failing = state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let code = if failing {
        state.fail_status.load(Ordering::SeqCst)
    } else {
        state.status.load(Ordering::SeqCst)
    };
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Recorded before the delay: a client that gives up waiting still left its request here.
    let count = {
        let mut requests = state.requests.lock().unwrap();
        requests.push(Recorded {
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
            headers,
            body: body.to_vec(),
            received_at,
            status: status.as_u16(),
        });
        requests.len()
    };
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let answer = if status.is_success() {
        serde_json::json!({"messageId": format!("sink-{count}")}).to_string()
    } else {
        serde_json::json!({"message": "test sink failure"}).to_string()
    };
    let mut response = (status, answer).into_response();
    if state.close.load(Ordering::SeqCst) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let location = state.location.lock().unwrap().clone();
    if let Some(location) = location.filter(|_| status.is_redirection()) {
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(&location).unwrap());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_and_quoted_printable_decode() {
        assert_eq!(
            decode_words("=?utf-8?b?7ZWc6rWt?= =?utf-8?b?7Ja0?="),
            "한국어"
        );
        // A character split across two words.
        let bytes = "교환".as_bytes();
        let split = format!(
            "=?utf-8?b?{}?=\r\n =?utf-8?b?{}?=",
            STANDARD.encode(&bytes[..4]),
            STANDARD.encode(&bytes[4..])
        );
        assert_eq!(decode_words(&split), "교환");
        assert_eq!(
            decode_words("Re: =?UTF-8?Q?caf=C3=A9_au_lait?= ok"),
            "Re: café au lait ok"
        );
        assert_eq!(
            String::from_utf8(decode_quoted_printable("=ED=95=9C=\r\n=EA=B5=AD a=3Db")).unwrap(),
            "한국 a=b"
        );
    }
}
