//! Sending a rendered message: over SMTP (lettre, one pooled transport) or, when no SMTP
//! server is configured, as an `.eml` file under `<data dir>/outbox/`: the embedded default,
//! which lets a fresh installation show what it would send.
//!
//! `SPOTCHECK_SMTP_URL`:
//! - `smtps://user:pass@host:465`: TLS from the first byte (port 465 by default);
//! - `smtp://user:pass@host:587` or `…?tls=required`: STARTTLS, refused without it;
//! - `smtp://host:25?tls=opportunistic`: STARTTLS when offered;
//! - `smtp://host:25?tls=none`: no TLS at all, only when asked (a relay on the same host).
//!
//! Credentials are taken from the URL once and never written to a log or an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{PoolConfig, SmtpTransport};
use lettre::{Message, Transport};

use super::render::Rendered;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL or the sender address is not usable (a start-up error).
    #[error("{0}")]
    Config(String),
}

/// Why one message could not be handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Worth trying again later: the server is down, busy, or answered 4xx.
    Transient(String),
    /// The server refused the message for good (5xx), or it cannot be built.
    Permanent(String),
}

impl SendFailure {
    pub fn reason(&self) -> &str {
        match self {
            SendFailure::Transient(r) | SendFailure::Permanent(r) => r,
        }
    }
}

/// A message with its envelope, ready to hand over.
pub struct Outgoing<'a> {
    /// The outbox row's id: gives the file name and the Message-ID.
    pub outbox_id: i64,
    /// The outbox row's dedupe key: part of the Message-ID, so that two installations (or a
    /// database restored from scratch) never produce the same one.
    pub dedupe_key: &'a str,
    pub to_name: &'a str,
    pub to_address: &'a str,
    pub rendered: &'a Rendered,
}

pub enum MailTransport {
    Smtp {
        transport: SmtpTransport,
        /// For logs: the server without credentials.
        server: String,
    },
    Files {
        dir: PathBuf,
    },
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp { server, .. } => write!(f, "smtp {server}"),
            MailTransport::Files { dir } => write!(f, "files in {}", dir.display()),
        }
    }
}

/// The sender and the domain of Message-IDs.
#[derive(Debug, Clone)]
pub struct Sender {
    pub from: Mailbox,
    pub domain: String,
}

impl Sender {
    pub fn new(from: &str) -> Result<Sender, TransportError> {
        let from: Mailbox = from.parse().map_err(|e| {
            TransportError::Config(format!("mail_from «{from}» is not an e-mail address: {e}"))
        })?;
        let domain = from.email.domain().to_owned();
        Ok(Sender { from, domain })
    }
}

impl MailTransport {
    /// SMTP from `url`, or `.eml` files in `outbox_dir` when `url` is `None`.
    pub fn new(
        url: Option<&str>,
        outbox_dir: &Path,
        timeout: Duration,
    ) -> Result<MailTransport, TransportError> {
        match url {
            None => Ok(MailTransport::Files {
                dir: outbox_dir.to_path_buf(),
            }),
            Some(u) => smtp(u, timeout),
        }
    }

    /// `smtp host:port` or `files in …`, for the start-up log (never credentials).
    pub fn describe(&self) -> String {
        format!("{self:?}")
    }

    /// Hands one message over. For SMTP, the server's reply to DATA decides; for files, the
    /// file is written whole (a temporary file renamed into place), so a crash never leaves
    /// half a message, and a resend overwrites the same file.
    pub fn send(&self, sender: &Sender, m: &Outgoing<'_>) -> Result<(), SendFailure> {
        let message = build(sender, m)?;
        match self {
            MailTransport::Smtp { transport, .. } => match transport.send(&message) {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendFailure::Permanent(smtp_reason(&e))),
                Err(e) => Err(SendFailure::Transient(smtp_reason(&e))),
            },
            MailTransport::Files { dir } => {
                let io = |e: std::io::Error| SendFailure::Transient(format!("{}: {e}", dir.display()));
                std::fs::create_dir_all(dir).map_err(io)?;
                let name = format!("{:08}.eml", m.outbox_id);
                let tmp = dir.join(format!(".{name}.tmp"));
                std::fs::write(&tmp, message.formatted()).map_err(io)?;
                std::fs::rename(&tmp, dir.join(&name)).map_err(io)?;
                Ok(())
            }
        }
    }
}

/// The server's words, without the URL (which could hold credentials).
fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// `<spotcheck.42.1f2e3d4c@domain>`: the same for every attempt at outbox row 42, so a
/// receiver can drop a resend after a crash between sending and marking it sent.
pub fn message_id(outbox_id: i64, dedupe_key: &str, domain: &str) -> String {
    let key = crate::sampling::sha256_hex(dedupe_key);
    format!("<spotcheck.{outbox_id}.{}@{domain}>", &key[..8])
}

fn build(sender: &Sender, m: &Outgoing<'_>) -> Result<Message, SendFailure> {
    let bad = |what: &str, e: &dyn std::fmt::Display| SendFailure::Permanent(format!("{what}: {e}"));
    let to_email = m
        .to_address
        .parse()
        .map_err(|e| bad(&format!("recipient «{}»", m.to_address), &e))?;
    let to = Mailbox::new(Some(m.to_name.to_owned()), to_email);
    let body = MultiPart::alternative_plain_html(m.rendered.text.clone(), m.rendered.html.clone());
    let builder = Message::builder()
        .from(sender.from.clone())
        .to(to)
        .subject(m.rendered.subject.clone())
        .message_id(Some(message_id(m.outbox_id, m.dedupe_key, &sender.domain)));
    let message = if m.rendered.attachments.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &m.rendered.attachments {
            let ct = ContentType::parse(a.content_type).map_err(|e| bad("content type", &e))?;
            mixed = mixed.singlepart(LettreAttachment::new(a.filename.clone()).body(a.bytes.clone(), ct));
        }
        builder.multipart(mixed)
    };
    message.map_err(|e| bad("message", &e))
}

fn smtp(raw: &str, timeout: Duration) -> Result<MailTransport, TransportError> {
    let redacted = crate::db::redact_url(raw);
    let bad = |msg: &str| TransportError::Config(format!("SPOTCHECK_SMTP_URL {redacted}: {msg}"));
    let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host"))?
        .to_owned();
    let mut tls_mode = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "tls" => tls_mode = Some(v.into_owned()),
            other => return Err(bad(&format!("unknown parameter «{other}»: only tls is read"))),
        }
    }
    let params = || TlsParameters::new(host.clone()).map_err(|e| bad(&format!("TLS: {e}")));
    let (tls, default_port, mode) = match (url.scheme(), tls_mode.as_deref()) {
        ("smtps", None | Some("wrapper")) => (Tls::Wrapper(params()?), 465, "tls"),
        ("smtps", Some(other)) => {
            return Err(bad(&format!("smtps always uses TLS; tls={other} is for smtp://")));
        }
        ("smtp", None | Some("required")) => (Tls::Required(params()?), 587, "starttls"),
        ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587, "starttls if offered"),
        ("smtp", Some("none")) => (Tls::None, 25, "no tls"),
        ("smtp", Some(other)) => {
            return Err(bad(&format!("tls={other}: use required, opportunistic or none")));
        }
        (other, _) => return Err(bad(&format!("scheme «{other}»: use smtp:// or smtps://"))),
    };
    let port = url.port().unwrap_or(default_port);
    let mut builder = SmtpTransport::builder_dangerous(&host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout))
        .pool_config(PoolConfig::new().max_size(4));
    if !url.username().is_empty() {
        let decode = |s: &str| {
            percent_decode(s).map_err(|_| bad("the user name or password is not valid percent-encoding"))
        };
        let user = decode(url.username())?;
        let pass = decode(url.password().unwrap_or(""))?;
        builder = builder.credentials(Credentials::new(user, pass));
    }
    Ok(MailTransport::Smtp {
        transport: builder.build(),
        server: format!("{host}:{port} ({mode})"),
    })
}

fn percent_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(url: &str) -> Result<MailTransport, TransportError> {
        MailTransport::new(Some(url), Path::new("/nonexistent"), Duration::from_secs(5))
    }

    #[test]
    fn urls_choose_tls_and_refuse_the_unclear() {
        assert_eq!(
            t("smtps://u:p@mail.example").unwrap().describe(),
            "smtp mail.example:465 (tls)"
        );
        assert_eq!(
            t("smtp://mail.example").unwrap().describe(),
            "smtp mail.example:587 (starttls)"
        );
        assert_eq!(
            t("smtp://127.0.0.1:2525?tls=none").unwrap().describe(),
            "smtp 127.0.0.1:2525 (no tls)"
        );
        for bad in [
            "smtp://h?tls=maybe",
            "http://h",
            "smtps://h?tls=none",
            "smtp://h?tsl=none",
            "smtp://",
        ] {
            assert!(t(bad).is_err(), "{bad} must be refused");
        }
        let err = t("smtp://user:hemmelig@h?tls=maybe")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!err.contains("hemmelig"), "{err}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%3Aw").unwrap(), "p@ss:w");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
    }

    #[test]
    fn message_ids_are_stable_per_row() {
        let a = message_id(42, "draw:1:round:1:liaison:3", "bergen.kommune.no");
        assert_eq!(a, message_id(42, "draw:1:round:1:liaison:3", "bergen.kommune.no"));
        assert_ne!(a, message_id(43, "draw:1:round:1:liaison:3", "bergen.kommune.no"));
        assert!(
            a.starts_with("<spotcheck.42.") && a.ends_with("@bergen.kommune.no>"),
            "{a}"
        );
    }
}
