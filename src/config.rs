//! Settings: built-in defaults, then a TOML file (`SPOTCHECK_CONFIG`), then `SPOTCHECK_*`
//! environment variables. The defaults run on a fresh machine with nothing installed:
//! SQLite under `./data`, mail written to `./data/outbox`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::db::{DbTarget, redact_url};

pub const DEFAULT_BRREG_URL: &str = "https://data.brreg.no/enhetsregisteret/api";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("setting {name} is not valid: {message}")]
    Invalid { name: String, message: String },
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Every setting the service reads. Unknown keys in the file are an error, so a typo never
/// silently falls back to a default.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on (`SPOTCHECK_BIND`).
    pub bind: String,
    /// SQLite file, mail outbox, uploaded evidence (`SPOTCHECK_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; unset: SQLite at `<data_dir>/spotcheck.db` (`SPOTCHECK_DATABASE_URL`).
    pub database_url: Option<String>,
    /// Public address of the service, for links in mail; `https://…` makes cookies `Secure` (`SPOTCHECK_BASE_URL`).
    pub base_url: String,
    /// `smtp://`, `smtps://`; unset: mail is written as .eml files to `<data_dir>/outbox` (`SPOTCHECK_SMTP_URL`).
    pub smtp_url: Option<String>,
    /// The sender of every mail (`SPOTCHECK_MAIL_FROM`); its domain ends the Message-IDs.
    pub mail_from: String,
    /// Failed attempts before a message becomes a dead letter (`SPOTCHECK_MAIL_MAX_ATTEMPTS`).
    pub mail_max_attempts: u32,
    /// The wait after a message's first failure, doubled after each further one, at most
    /// six hours (`SPOTCHECK_MAIL_RETRY_BASE_SECONDS`).
    pub mail_retry_base_seconds: i64,
    /// How often `serve` sends what is due (`SPOTCHECK_MAIL_POLL_SECONDS`; 0 turns the
    /// worker off, e.g. when cron runs `spotcheck outbox send-pending`).
    pub mail_poll_seconds: u64,
    /// Time-out for connecting to the SMTP server and for each command (`SPOTCHECK_SMTP_TIMEOUT_SECONDS`).
    pub smtp_timeout_seconds: u64,
    /// Enhetsregisteret API root (`SPOTCHECK_BRREG_URL`).
    pub brreg_url: String,
    /// Largest accepted upload in bytes (`SPOTCHECK_MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: u64,
    /// How long a browser session lasts (`SPOTCHECK_SESSION_HOURS`).
    pub session_hours: i64,
    /// `text` or `json` (`SPOTCHECK_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Database connections in the pool (`SPOTCHECK_DB_POOL_SIZE`).
    pub db_pool_size: u32,
    /// How long a write waits for another writer (a large import) before the request
    /// gets 503 with `Retry-After` (`SPOTCHECK_DB_BUSY_TIMEOUT_MS`).
    pub db_busy_timeout_ms: u64,
    /// Contact put in the User-Agent sent to the register, e.g. an e-mail address (`SPOTCHECK_BRREG_CONTACT`).
    pub brreg_contact: Option<String>,
    /// Register facts older than this are fetched again (`SPOTCHECK_ENRICH_MAX_AGE_HOURS`, default 7 days).
    pub enrich_max_age_hours: i64,
    /// How often the background worker looks for due look-ups (`SPOTCHECK_ENRICH_POLL_SECONDS`; 0 turns it off).
    pub enrich_poll_seconds: u64,
    /// A folder of rule files to import at start-up and on `POST /api/v1/rules/reload`
    /// (`SPOTCHECK_RULES_DIR`). Unset (the default): the rule set lives in the database only.
    pub rules_dir: Option<PathBuf>,
    /// How often `serve` looks for a rule set another instance activated (`0`: never).
    pub rules_poll_seconds: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`SPOTCHECK_TRUSTED_PROXIES`,
    /// comma-separated IP addresses). Empty: the TCP peer is the client, whatever a header says.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            base_url: "http://127.0.0.1:8080".into(),
            smtp_url: None,
            mail_from: "spotcheck@localhost".into(),
            mail_max_attempts: 8,
            mail_retry_base_seconds: 60,
            mail_poll_seconds: 10,
            smtp_timeout_seconds: 20,
            brreg_url: DEFAULT_BRREG_URL.into(),
            max_upload_bytes: 50 * 1024 * 1024,
            session_hours: 10,
            log_format: LogFormat::Text,
            db_pool_size: 8,
            db_busy_timeout_ms: crate::db::DEFAULT_LOCK_WAIT_MS,
            brreg_contact: None,
            enrich_max_age_hours: 7 * 24,
            enrich_poll_seconds: 10,
            rules_dir: None,
            rules_poll_seconds: 30,
            trusted_proxies: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Settings {
    // Hand-written so that passwords inside URLs never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database", &self.db_target().redacted())
            .field("base_url", &self.base_url)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("mail_max_attempts", &self.mail_max_attempts)
            .field("mail_retry_base_seconds", &self.mail_retry_base_seconds)
            .field("mail_poll_seconds", &self.mail_poll_seconds)
            .field("smtp_timeout_seconds", &self.smtp_timeout_seconds)
            .field("brreg_url", &self.brreg_url)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("session_hours", &self.session_hours)
            .field("log_format", &self.log_format)
            .field("db_pool_size", &self.db_pool_size)
            .field("db_busy_timeout_ms", &self.db_busy_timeout_ms)
            .field("brreg_contact", &self.brreg_contact)
            .field("enrich_max_age_hours", &self.enrich_max_age_hours)
            .field("enrich_poll_seconds", &self.enrich_poll_seconds)
            .field("rules_dir", &self.rules_dir)
            .field("rules_poll_seconds", &self.rules_poll_seconds)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

impl Settings {
    /// Loads defaults, then the file named by `config_path` or `SPOTCHECK_CONFIG`, then the environment.
    pub fn load(config_path: Option<&Path>) -> Result<Self, ConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let path = config_path
            .map(Path::to_path_buf)
            .or_else(|| env("SPOTCHECK_CONFIG").map(PathBuf::from));
        let mut s = match path {
            Some(p) => Self::from_file(&p)?,
            None => Settings::default(),
        };
        s.apply_env(env)?;
        s.validate()?;
        Ok(s)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, ConfigError> {
            v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: name.into(),
                message: format!("«{v}» is not a number"),
            })
        }
        if let Some(v) = env("SPOTCHECK_BIND") {
            self.bind = v;
        }
        if let Some(v) = env("SPOTCHECK_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("SPOTCHECK_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = env("SPOTCHECK_BASE_URL") {
            self.base_url = v;
        }
        if let Some(v) = env("SPOTCHECK_SMTP_URL") {
            self.smtp_url = Some(v);
        }
        if let Some(v) = env("SPOTCHECK_MAIL_FROM") {
            self.mail_from = v;
        }
        if let Some(v) = env("SPOTCHECK_MAIL_MAX_ATTEMPTS") {
            self.mail_max_attempts = num("SPOTCHECK_MAIL_MAX_ATTEMPTS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_MAIL_RETRY_BASE_SECONDS") {
            self.mail_retry_base_seconds = num("SPOTCHECK_MAIL_RETRY_BASE_SECONDS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_MAIL_POLL_SECONDS") {
            self.mail_poll_seconds = num("SPOTCHECK_MAIL_POLL_SECONDS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_SMTP_TIMEOUT_SECONDS") {
            self.smtp_timeout_seconds = num("SPOTCHECK_SMTP_TIMEOUT_SECONDS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_BRREG_URL") {
            self.brreg_url = v;
        }
        if let Some(v) = env("SPOTCHECK_MAX_UPLOAD_BYTES") {
            self.max_upload_bytes = num("SPOTCHECK_MAX_UPLOAD_BYTES", v)?;
        }
        if let Some(v) = env("SPOTCHECK_SESSION_HOURS") {
            self.session_hours = num("SPOTCHECK_SESSION_HOURS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_DB_POOL_SIZE") {
            self.db_pool_size = num("SPOTCHECK_DB_POOL_SIZE", v)?;
        }
        if let Some(v) = env("SPOTCHECK_DB_BUSY_TIMEOUT_MS") {
            self.db_busy_timeout_ms = num("SPOTCHECK_DB_BUSY_TIMEOUT_MS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_BRREG_CONTACT") {
            self.brreg_contact = Some(v);
        }
        if let Some(v) = env("SPOTCHECK_ENRICH_MAX_AGE_HOURS") {
            self.enrich_max_age_hours = num("SPOTCHECK_ENRICH_MAX_AGE_HOURS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_ENRICH_POLL_SECONDS") {
            self.enrich_poll_seconds = num("SPOTCHECK_ENRICH_POLL_SECONDS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_RULES_DIR") {
            self.rules_dir = (!v.trim().is_empty()).then(|| PathBuf::from(v));
        }
        if let Some(v) = env("SPOTCHECK_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().map_err(|_| ConfigError::Invalid {
                        name: "SPOTCHECK_TRUSTED_PROXIES".into(),
                        message: format!("«{a}» is not an IP address"),
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = env("SPOTCHECK_RULES_POLL_SECONDS") {
            self.rules_poll_seconds = num("SPOTCHECK_RULES_POLL_SECONDS", v)?;
        }
        if let Some(v) = env("SPOTCHECK_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SPOTCHECK_LOG_FORMAT".into(),
                        message: format!("«{v}»: use text or json"),
                    });
                }
            };
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name: &str, message: &str| ConfigError::Invalid {
            name: name.into(),
            message: message.into(),
        };
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "bind",
                "use host:port with an IP address, e.g. 127.0.0.1:8080",
            ));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(invalid("base_url", "must start with http:// or https://"));
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            return Err(invalid("session_hours", "must be between 1 and 720"));
        }
        if self.max_upload_bytes == 0 {
            return Err(invalid("max_upload_bytes", "must be greater than 0"));
        }
        if self.enrich_max_age_hours < 1 {
            return Err(invalid("enrich_max_age_hours", "must be at least 1"));
        }
        if self.mail_max_attempts == 0 {
            return Err(invalid("mail_max_attempts", "must be at least 1"));
        }
        if self.mail_retry_base_seconds < 0 {
            return Err(invalid("mail_retry_base_seconds", "must be 0 or more"));
        }
        if self.smtp_timeout_seconds == 0 {
            return Err(invalid("smtp_timeout_seconds", "must be at least 1"));
        }
        if let Err(e) = crate::mail::Sender::new(&self.mail_from) {
            return Err(invalid("mail_from", &e.to_string()));
        }
        if let Err(e) = crate::mail::MailTransport::new(
            self.smtp_url.as_deref(),
            &self.outbox_dir(),
            std::time::Duration::from_secs(self.smtp_timeout_seconds),
        ) {
            return Err(invalid("smtp_url", &e.to_string()));
        }
        if self.db_pool_size == 0 {
            return Err(invalid("db_pool_size", "must be greater than 0"));
        }
        Ok(())
    }

    pub fn db_target(&self) -> DbTarget {
        match &self.database_url {
            Some(url) => DbTarget::from_url(url),
            None => DbTarget::Sqlite(self.data_dir.join("spotcheck.db")),
        }
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Cookies get `Secure` when the service is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<Settings>("bnid = \"127.0.0.1:1\"").err();
        assert!(err.is_some_and(|e| e.to_string().contains("bnid")));
    }

    #[test]
    fn env_overrides_and_redaction() {
        let mut s = Settings::default();
        s.apply_env(|k| match k {
            "SPOTCHECK_DATABASE_URL" => Some("postgres://spot:hemmelig@db/spot".into()),
            "SPOTCHECK_SMTP_URL" => Some("smtps://mail:pw123@smtp.example:465".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.db_target().backend_name(), "postgresql");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hemmelig") && !dbg.contains("pw123"), "{dbg}");
        assert!(
            s.apply_env(|k| (k == "SPOTCHECK_SESSION_HOURS").then(|| "ti".into()))
                .is_err()
        );
    }

    #[test]
    fn default_is_sqlite_under_data() {
        let s = Settings::default();
        assert_eq!(
            s.db_target(),
            DbTarget::Sqlite(PathBuf::from("./data/spotcheck.db"))
        );
        assert!(s.validate().is_ok());
    }
}
