//! The channels that carry a [`Rendered`] notification: mail over SMTP ([`Mailer`]) and
//! 카카오 알림톡 through an HTTP gateway ([`Messenger`]). Each has a `Log` variant that logs a
//! summary of the message instead (recipient, subject, size: never the text, which quotes
//! what customers wrote), so the demo and a server without partners still show every
//! notification.
//!
//! A send returns a receipt text for the delivery log, or an error text; the dispatcher
//! retries errors with backoff, so the same notification may be sent again after a crash
//! between sending and recording (at least once).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls as SmtpTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::templates::Rendered;
use crate::tls::Tls;

/// How long one SMTP conversation may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The most of a partner's answer quoted in a receipt or an error.
const QUOTE_CHARS: usize = 200;

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// SMTP to a relay (the host's MTA, or a provider's submission server over TLS), which
    /// does the retries towards the recipients' servers.
    Smtp {
        /// The client, one connection per message (boxed: with TLS parameters it is large).
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        /// The sender (`OMS 알림 <noreply@example.com>`).
        from: Mailbox,
    },
    /// No SMTP configured: each mail's recipient, subject and size are written to the log
    /// (`tracing::info!`), never its body.
    Log,
}

impl Mailer {
    /// A mailer for an [`SmtpUrl`], or the log when `smtp_url` is `None`. `from` is the
    /// sender mailbox (`OMS 알림 <noreply@example.com>` or a bare address). The relay's
    /// certificate is checked against `tls`.
    pub fn from_url(smtp_url: Option<&str>, from: &str, tls: &Tls) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("invalid mail sender `{from}`: {e}"))?;
        let Some(url) = smtp_url else {
            return Ok(Mailer::Log);
        };
        let relay = SmtpUrl::parse(url)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
            .port(relay.port)
            .timeout(Some(SMTP_TIMEOUT));
        if relay.security != SmtpSecurity::Plain {
            let mut parameters = TlsParameters::builder(relay.host.clone());
            if !tls.extra_roots_pem().is_empty() {
                let extra = Certificate::from_pem(tls.extra_roots_pem())
                    .map_err(|e| format!("the mail relay's CA (--tls-ca-file): {e}"))?;
                parameters = parameters.add_root_certificate(extra);
            }
            let parameters = parameters
                .build_rustls()
                .map_err(|e| format!("the mail relay's TLS: {e}"))?;
            builder = builder.tls(match relay.security {
                SmtpSecurity::StartTls => SmtpTls::Required(parameters),
                _ => SmtpTls::Wrapper(parameters),
            });
        }
        if let Some((user, password)) = relay.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Mailer::Smtp {
            transport: Box::new(builder.build()),
            from,
        })
    }

    /// Sends `rendered` to `to` (an address, or `이름 <address>`) as a UTF-8 plain-text mail
    /// (lettre encodes the Korean subject as RFC 2047 and picks base64 or quoted-printable
    /// for the body). Returns the relay's answer (`250 ... queued as ...`), or `logged`.
    pub async fn send(&self, to: &str, rendered: &Rendered) -> Result<String, String> {
        match self {
            Mailer::Log => {
                // The subject and the body's size only: a body quotes memos and reasons,
                // where customers write bank account numbers and the like.
                tracing::info!(
                    channel = "EMAIL",
                    to,
                    subject = %rendered.subject,
                    body_chars = rendered.body.chars().count(),
                    "notification mail (log sink)"
                );
                Ok("logged".to_owned())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = to
                    .parse()
                    .map_err(|e| format!("invalid mail recipient `{to}`: {e}"))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(rendered.subject.as_str())
                    .header(ContentType::TEXT_PLAIN)
                    .body(rendered.body.clone())
                    .map_err(|e| format!("cannot build the mail: {e}"))?;
                let response = transport
                    .send(message)
                    .await
                    .map_err(|e| format!("SMTP relay: {}", crate::tls::explain(&e)))?;
                let text: Vec<&str> = response.message().collect();
                Ok(quote(&format!("{} {}", response.code(), text.join(" "))))
            }
        }
    }
}

/// How the connection to the mail relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://host`: plain text, for a relay on this host or a trusted private network.
    Plain,
    /// `smtp://host:587?tls=required`: STARTTLS, and the mail is not sent without it.
    StartTls,
    /// `smtps://host:465`: TLS from the first byte (implicit TLS).
    ImplicitTls,
}

/// Where mail goes, from `--smtp-url`:
///
/// - `smtp://host[:port]` — plain SMTP (port 25);
/// - `smtp://[user:password@]host[:port]?tls=required` — STARTTLS required (port 587);
/// - `smtps://[user:password@]host[:port]` — implicit TLS (port 465).
///
/// A user name and password (percent-encoded) are sent only over TLS: credentials on a plain
/// URL are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// The relay's host name or address (IPv6 without brackets).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Plain, STARTTLS or implicit TLS.
    pub security: SmtpSecurity,
    /// The user name and password, when given.
    pub credentials: Option<(String, String)>,
}

impl SmtpUrl {
    /// Reads an SMTP URL, or says what is wrong with it (the password never appears).
    pub fn parse(text: &str) -> Result<SmtpUrl, String> {
        let shown = crate::production::redacted_url(text);
        let invalid = |why: &str| format!("invalid SMTP URL `{shown}`: {why}");
        let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        let mut security = match url.scheme() {
            "smtp" => SmtpSecurity::Plain,
            "smtps" => SmtpSecurity::ImplicitTls,
            _ => {
                return Err(invalid(
                    "expected smtp://host:25, smtp://user:password@host:587?tls=required \
                     (STARTTLS) or smtps://user:password@host:465 (implicit TLS)",
                ))
            }
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("tls", "required", SmtpSecurity::Plain | SmtpSecurity::StartTls) => {
                    security = SmtpSecurity::StartTls;
                }
                ("tls", _, _) => {
                    return Err(invalid(
                        "`tls` takes only `required` (STARTTLS) on smtp://; smtps:// is TLS \
                         already",
                    ))
                }
                _ => return Err(invalid(&format!("unknown parameter `{key}`"))),
            }
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(invalid("a path or fragment means nothing here"));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(invalid("no host")),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => {
                if security == SmtpSecurity::Plain {
                    return Err(invalid(
                        "a user name and password are sent only over TLS: add ?tls=required \
                         (STARTTLS) or use smtps://",
                    ));
                }
                Some((decode(user), password.map(decode).unwrap_or_default()))
            }
        };
        Ok(SmtpUrl {
            host,
            port,
            security,
            credentials,
        })
    }
}

/// 카카오 알림톡 through an HTTP gateway (a 알림톡 reseller's send API, or a small adapter in
/// front of one).
///
/// Each message is one `POST {url}` with a JSON body:
///
/// ```json
/// {"senderKey": "발신 프로필 키", "templateCode": "claim.collected:CUSTOMER",
///  "recipientNo": "01012345678", "content": "[주문번호 ...] ...\n\n..."}
/// ```
///
/// - `senderKey`: the 카카오톡 채널's sender profile key, from configuration;
/// - `templateCode`: the code the approved 알림톡 template is registered under (Kakao only
///   delivers text that matches an approved template);
/// - `recipientNo`: the phone number, digits only, `+82` rewritten to `0`;
/// - `content`: the subject line, a blank line, and the body.
///
/// A 2xx answer is a success; its receipt is the answer's `messageId`, `requestId`, `id` or
/// `reference` field, else the start of the body, else `HTTP 200`. Anything else is an error
/// naming the status and quoting the answer.
#[derive(Debug, Clone)]
pub struct Alimtalk {
    url: String,
    sender_key: String,
    client: reqwest::Client,
}

impl Alimtalk {
    /// A gateway at `url` (`https://alimtalk.example.com/send`, or an `http://` stand-in on
    /// loopback) sending as `sender_key`, with a timeout per message and certificates checked
    /// against `tls`.
    pub fn new(
        url: &str,
        sender_key: &str,
        timeout: Duration,
        tls: &Tls,
    ) -> Result<Alimtalk, String> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!(
                "invalid 알림톡 gateway URL `{url}`: expected https://..."
            ));
        }
        if sender_key.trim().is_empty() {
            return Err("the 알림톡 sender key is empty".to_owned());
        }
        let client = tls
            .http_client(None)
            .map_err(|e| format!("the 알림톡 gateway's TLS: {e}"))?
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the 알림톡 client: {e}"))?;
        Ok(Alimtalk {
            url: url.to_owned(),
            sender_key: sender_key.to_owned(),
            client,
        })
    }

    /// Sends `rendered` to `phone` under `template_code`; returns the gateway's receipt.
    pub async fn send(
        &self,
        phone: &str,
        template_code: &str,
        rendered: &Rendered,
    ) -> Result<String, String> {
        let recipient = phone_digits(phone)?;
        let body = serde_json::json!({
            "senderKey": self.sender_key,
            "templateCode": template_code,
            "recipientNo": recipient,
            "content": content(rendered),
        });
        let response = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "알림톡 gateway timed out".to_owned()
                } else {
                    format!("알림톡 gateway unreachable: {}", crate::tls::explain(&e))
                }
            })?;
        let status = response.status();
        let answer = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let answer = answer.trim();
            return Err(if answer.is_empty() {
                format!("알림톡 gateway answered HTTP {status}")
            } else {
                format!("알림톡 gateway answered HTTP {status}: {}", quote(answer))
            });
        }
        Ok(receipt(&answer).unwrap_or_else(|| format!("HTTP {}", status.as_u16())))
    }
}

/// The 알림톡 text: the subject as its first line, then the body.
fn content(rendered: &Rendered) -> String {
    format!("{}\n\n{}", rendered.subject, rendered.body)
}

/// A Korean phone number as the gateways want it: digits only, `+82 10-...` as `010...`.
fn phone_digits(phone: &str) -> Result<String, String> {
    let trimmed = phone.trim();
    let (international, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits: String = rest
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '(' | ')' | '.'))
        .collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("invalid phone number `{phone}`"));
    }
    if international {
        match digits.strip_prefix("82") {
            Some(national) => digits = format!("0{}", national.trim_start_matches('0')),
            None => return Err(format!("not a Korean phone number `{phone}`")),
        }
    }
    if !(9..=11).contains(&digits.len()) || !digits.starts_with('0') {
        return Err(format!("invalid phone number `{phone}`"));
    }
    Ok(digits)
}

/// The receipt in a gateway's success answer.
fn receipt(answer: &str) -> Option<String> {
    let answer = answer.trim();
    if answer.is_empty() {
        return None;
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(answer) {
        for key in ["messageId", "requestId", "id", "reference"] {
            match &json[key] {
                serde_json::Value::String(s) if !s.is_empty() => return Some(quote(s)),
                serde_json::Value::Number(n) => return Some(n.to_string()),
                _ => {}
            }
        }
    }
    Some(quote(answer))
}

/// At most [`QUOTE_CHARS`] characters of a partner's text, on one line.
fn quote(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// Where 알림톡 goes.
#[derive(Debug, Clone)]
pub enum Messenger {
    /// Through an HTTP gateway.
    Alimtalk(Alimtalk),
    /// No gateway configured: each message's recipient, template, subject and size are written
    /// to the log (`tracing::info!`), never its text.
    Log,
}

impl Messenger {
    /// Sends `rendered` to `phone` under `template_code`; returns the receipt, or `logged`.
    pub async fn send(
        &self,
        phone: &str,
        template_code: &str,
        rendered: &Rendered,
    ) -> Result<String, String> {
        match self {
            Messenger::Alimtalk(gateway) => gateway.send(phone, template_code, rendered).await,
            Messenger::Log => {
                // As for mail: the subject and the size, never the text.
                tracing::info!(
                    channel = "ALIMTALK",
                    phone,
                    template_code,
                    subject = %rendered.subject,
                    content_chars = content(rendered).chars().count(),
                    "notification 알림톡 (log sink)"
                );
                Ok("logged".to_owned())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let parse = |u: &str| SmtpUrl::parse(u).unwrap();
        let plain = parse("smtp://127.0.0.1:2525");
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 2525));
        assert_eq!(plain.security, SmtpSecurity::Plain);
        assert_eq!(parse("smtp://localhost").port, 25);
        assert_eq!(parse("smtp://[::1]:2525/").host, "::1");
        let starttls = parse("smtp://oms%40shop.kr:p%40ss%2Bw@mail.example.com?tls=required");
        assert_eq!(starttls.security, SmtpSecurity::StartTls);
        assert_eq!(starttls.port, 587);
        assert_eq!(
            starttls.credentials,
            Some(("oms@shop.kr".into(), "p@ss+w".into()))
        );
        let implicit = parse("smtps://u:pw@mail.example.com");
        assert_eq!(
            (implicit.security, implicit.port),
            (SmtpSecurity::ImplicitTls, 465)
        );
        for bad in [
            "smtp://user:pw@mail.example.com:587",
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://mail.example.com?tls=required",
            "smtp://mail.example.com?auth=plain",
            "smtp://mail.example.com/inbox",
            "smtp://:25",
            "smtp://host:port",
            "http://host",
        ] {
            let refused = SmtpUrl::parse(bad).unwrap_err();
            assert!(!refused.contains("pw@"), "the password shows: {refused}");
        }
    }

    #[test]
    fn mailer_from_url() {
        let tls = Tls::default();
        assert!(matches!(
            Mailer::from_url(None, "OMS 알림 <noreply@oms.test>", &tls),
            Ok(Mailer::Log)
        ));
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://127.0.0.1:2525?tls=required",
            "smtps://u:p@127.0.0.1:2465",
        ] {
            assert!(
                matches!(
                    Mailer::from_url(Some(url), "noreply@oms.test", &tls),
                    Ok(Mailer::Smtp { .. })
                ),
                "{url}"
            );
        }
        assert!(Mailer::from_url(None, "not an address", &tls).is_err());
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(phone_digits("010-1234-5678").unwrap(), "01012345678");
        assert_eq!(phone_digits("+82 10-1234-5678").unwrap(), "01012345678");
        assert_eq!(phone_digits("02 123 4567").unwrap(), "021234567");
        for bad in [
            "",
            "1234",
            "+1 555 123 4567",
            "010-ABCD-5678",
            "010123456789",
        ] {
            assert!(phone_digits(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn alimtalk_configuration() {
        let timeout = Duration::from_secs(1);
        let tls = Tls::default();
        let new = |url: &str, key: &str| Alimtalk::new(url, key, timeout, &tls);
        assert!(new("http://127.0.0.1:9100/send", "key").is_ok());
        assert!(new("https://alimtalk.example.com/send", "key").is_ok());
        assert!(new("ftp://alimtalk.example.com/send", "key").is_err());
        assert!(new("http://127.0.0.1:9100/send", " ").is_err());
    }

    #[test]
    fn receipts() {
        assert_eq!(receipt(r#"{"messageId":"m-1"}"#).as_deref(), Some("m-1"));
        assert_eq!(receipt(r#"{"id":42}"#).as_deref(), Some("42"));
        assert_eq!(receipt("accepted\n").as_deref(), Some("accepted"));
        assert_eq!(receipt("  "), None);
        assert_eq!(quote(&"가".repeat(300)).chars().count(), QUOTE_CHARS + 1);
    }

    #[tokio::test]
    async fn log_sinks_answer_logged() {
        let rendered = Rendered {
            subject: "[주문번호 1] 테스트".into(),
            body: "본문".into(),
        };
        assert_eq!(
            Mailer::Log.send("a@b.test", &rendered).await.unwrap(),
            "logged"
        );
        assert_eq!(
            Messenger::Log
                .send("010-1234-5678", "x", &rendered)
                .await
                .unwrap(),
            "logged"
        );
    }
}
