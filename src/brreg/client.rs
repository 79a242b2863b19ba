//! HTTP client for Enhetsregisteret's open API.
//!
//! Politeness: one shared `reqwest::Client` (connection reuse), a semaphore that caps the
//! requests in flight, a timeout on every call, a descriptive User-Agent, and bounded
//! retries with exponential backoff and jitter on 5xx, 429, time-outs and connection
//! failures only.
//!
//! Connection failures (refused, reset, DNS) are retried like 5xx: from here they look the
//! same as the register being down for a moment. When the attempts are used up the call
//! returns [`BrregError::Unavailable`], which is retryable, so the job table can queue the
//! look-up again later instead of marking the supplier as unknown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, HeaderValue, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::error::BrregError;
use super::facts::{FactsError, UnitFacts, parse_unit_json};
use super::feed::{self, UpdatePage};
use crate::domain::orgnr::OrgNr;

/// Media types for the v2 JSON representation (docs/sources.md §1.9). Pinning the version keeps
/// a future v3 from changing field shapes under us; the register answers 415 if it ever
/// drops v2, which surfaces as [`BrregError::UnexpectedStatus`].
const ACCEPT_ENHET: &str = "application/vnd.brreg.enhetsregisteret.enhet.v2+json";
const ACCEPT_UNDERENHET: &str = "application/vnd.brreg.enhetsregisteret.underenhet.v2+json";
/// The change feed has no documented versioned media type; plain JSON is "latest".
const ACCEPT_JSON: &str = "application/json";

pub const DEFAULT_BASE_URL: &str = "https://data.brreg.no/enhetsregisteret/api";

/// Settings for [`BrregClient`].
#[derive(Clone, Debug)]
pub struct BrregConfig {
    /// Without trailing slash; e.g. `https://data.brreg.no/enhetsregisteret/api`.
    pub base_url: String,
    /// Total time for one HTTP request (connect, send, read the body).
    pub timeout: Duration,
    /// Maximum concurrent requests from this client (and all its clones).
    pub max_in_flight: usize,
    /// Attempts per request, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further retry, with jitter.
    pub backoff_base: Duration,
    /// Upper bound for one backoff delay, also for a `Retry-After` the register sends.
    pub max_backoff: Duration,
    /// Sent as `User-Agent`. Use [`BrregConfig::with_contact`] to add a contact address.
    pub user_agent: String,
}

impl BrregConfig {
    /// The User-Agent `spotcheck/<version> (+<contact>)`, so the register's operators can
    /// reach whoever runs this instance (a mail address or URL).
    pub fn user_agent_with_contact(contact: &str) -> String {
        let contact = contact.trim();
        if contact.is_empty() {
            format!("spotcheck/{}", env!("CARGO_PKG_VERSION"))
        } else {
            format!("spotcheck/{} (+{contact})", env!("CARGO_PKG_VERSION"))
        }
    }

    /// Same settings with the contact added to the User-Agent.
    pub fn with_contact(mut self, contact: &str) -> Self {
        self.user_agent = Self::user_agent_with_contact(contact);
        self
    }
}

impl Default for BrregConfig {
    fn default() -> Self {
        BrregConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(10),
            max_in_flight: 4,
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            user_agent: BrregConfig::user_agent_with_contact(""),
        }
    }
}

/// The register's answer about one org number.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// 200 without `slettedato`: the unit exists (it may still be bankrupt or under
    /// liquidation — read the facts).
    Active,
    /// 200 with `slettedato`: the unit is deleted; the body is reduced.
    Deleted,
    /// 410: removed from open data for legal reasons. The register asks every copy to be
    /// deleted, so the caller must purge its cached data for this org number.
    Removed,
    /// 404 from both `/enheter` and `/underenheter`: no such unit.
    Unknown,
}

impl Outcome {
    /// Stable lower-case code for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Active => "active",
            Outcome::Deleted => "deleted",
            Outcome::Removed => "removed",
            Outcome::Unknown => "unknown",
        }
    }
}

/// Result of [`BrregClient::lookup`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Lookup {
    pub outcome: Outcome,
    /// Facts for `Active` and `Deleted`; `None` for `Removed` and `Unknown`.
    pub facts: Option<UnitFacts>,
    /// For a sub-unit: its main unit (`overordnetEnhet`), fetched in the same look-up.
    pub parent: Option<UnitFacts>,
    /// How the parent look-up came out, when one was made (a parent may itself be
    /// deleted, removed or unknown).
    pub parent_outcome: Option<Outcome>,
    /// The response body as received (for the cache and audit); `None` for 404 and 410:
    /// a removed unit must not be stored.
    pub raw_json: Option<String>,
    pub parent_raw_json: Option<String>,
    /// When the first request of this look-up was sent.
    pub fetched_at: DateTime<Utc>,
}

/// Client for Enhetsregisteret. Cheap to clone; clones share the connection pool and the
/// in-flight limit, so build it once and hand clones to the workers.
#[derive(Clone)]
pub struct BrregClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    cfg: BrregConfig,
    permits: Semaphore,
    jitter_state: AtomicU64,
}

/// A response we accept as an answer (anything but 5xx/429/transport failures).
struct Answer {
    status: u16,
    body: String,
}

#[derive(Clone, Copy)]
enum Endpoint {
    Main,
    Sub,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Main => "enheter",
            Endpoint::Sub => "underenheter",
        }
    }
    fn accept(self) -> &'static str {
        match self {
            Endpoint::Main => ACCEPT_ENHET,
            Endpoint::Sub => ACCEPT_UNDERENHET,
        }
    }
}

enum FeedStart {
    After(i64),
    Since(DateTime<Utc>),
}

/// One endpoint's answer, classified.
enum Fetched {
    Found {
        outcome: Outcome,
        facts: Box<UnitFacts>,
        raw: String,
    },
    Removed,
    NotFound,
}

impl BrregClient {
    pub fn new(cfg: BrregConfig) -> Result<Self, BrregError> {
        let base = cfg.base_url.trim().trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base)
            .map_err(|e| BrregError::Config(format!("ugyldig adresse «{base}»: {e}")))?;
        if cfg.max_in_flight == 0 {
            return Err(BrregError::Config(
                "maks antall samtidige forespørsler må være minst 1".into(),
            ));
        }
        if cfg.max_attempts == 0 {
            return Err(BrregError::Config("antall forsøk må være minst 1".into()));
        }
        if cfg.timeout.is_zero() {
            return Err(BrregError::Config("tidsgrensen kan ikke være 0".into()));
        }
        HeaderValue::from_str(&cfg.user_agent)
            .map_err(|_| BrregError::Config(format!("ugyldig User-Agent «{}»", cfg.user_agent)))?;
        let http = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .build()
            .map_err(|e| BrregError::Config(format!("kunne ikke lage HTTP-klient: {e}")))?;
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64);
        Ok(BrregClient {
            inner: Arc::new(Inner {
                http,
                base,
                permits: Semaphore::new(cfg.max_in_flight),
                cfg,
                jitter_state: AtomicU64::new(seed),
            }),
        })
    }

    pub fn config(&self) -> &BrregConfig {
        &self.inner.cfg
    }

    /// Looks up one org number: `/enheter/{orgnr}` first, `/underenheter/{orgnr}` when
    /// that answers 404. For a sub-unit, its main unit (`overordnetEnhet`) is fetched too,
    /// since approvals and bankruptcy flags live on the main unit.
    ///
    /// Errors: 400 → [`BrregError::InvalidRequest`]; register down or busy through all
    /// attempts → [`BrregError::Unavailable`] (retryable). A failing parent fetch fails the
    /// whole look-up, so that a job is retried rather than stored half-enriched.
    pub async fn lookup(&self, orgnr: &OrgNr) -> Result<Lookup, BrregError> {
        let fetched_at = Utc::now();
        let mut lookup = Lookup {
            outcome: Outcome::Unknown,
            facts: None,
            parent: None,
            parent_outcome: None,
            raw_json: None,
            parent_raw_json: None,
            fetched_at,
        };
        let mut fetched = self.fetch(Endpoint::Main, orgnr.as_str()).await?;
        if matches!(fetched, Fetched::NotFound) {
            fetched = self.fetch(Endpoint::Sub, orgnr.as_str()).await?;
        }
        match fetched {
            Fetched::NotFound => lookup.outcome = Outcome::Unknown,
            Fetched::Removed => lookup.outcome = Outcome::Removed,
            Fetched::Found { outcome, facts, raw } => {
                lookup.outcome = outcome;
                if facts.is_subunit
                    && let Some(parent) = facts.parent_orgnr.clone()
                {
                    self.fetch_parent(&parent, &mut lookup).await?;
                }
                lookup.facts = Some(*facts);
                lookup.raw_json = Some(raw);
            }
        }
        Ok(lookup)
    }

    async fn fetch_parent(&self, parent: &str, lookup: &mut Lookup) -> Result<(), BrregError> {
        if OrgNr::parse_canonical(parent).is_err() {
            tracing::warn!(parent, "sub-unit names an invalid overordnetEnhet");
            return Ok(());
        }
        // The parent of a sub-unit is a main unit; do not fall back to /underenheter.
        match self.fetch(Endpoint::Main, parent).await? {
            Fetched::Found { outcome, facts, raw } => {
                lookup.parent_outcome = Some(outcome);
                lookup.parent = Some(*facts);
                lookup.parent_raw_json = Some(raw);
            }
            Fetched::Removed => lookup.parent_outcome = Some(Outcome::Removed),
            Fetched::NotFound => lookup.parent_outcome = Some(Outcome::Unknown),
        }
        Ok(())
    }

    async fn fetch(&self, endpoint: Endpoint, orgnr: &str) -> Result<Fetched, BrregError> {
        let url = format!("{}/{}/{}", self.inner.base, endpoint.path(), orgnr);
        let answer = self.get(&url, endpoint.accept()).await?;
        match answer.status {
            200 => {
                let facts =
                    parse_unit_json(&answer.body, Some(matches!(endpoint, Endpoint::Sub))).map_err(|e| {
                        match e {
                            FactsError::Json(msg) => BrregError::Decode(msg),
                            other => BrregError::Decode(other.to_string()),
                        }
                    })?;
                // Deletion is recognised by `slettedato`, not by `respons_klasse`.
                let outcome = if facts.deleted_date.is_some() {
                    Outcome::Deleted
                } else {
                    Outcome::Active
                };
                Ok(Fetched::Found {
                    outcome,
                    facts: Box::new(facts),
                    raw: answer.body,
                })
            }
            404 => Ok(Fetched::NotFound),
            410 => Ok(Fetched::Removed),
            400 => Err(invalid_request(answer)),
            status => Err(BrregError::UnexpectedStatus { status, url }),
        }
    }

    /// One page of the main-unit change feed, with updates whose id is greater than
    /// `after_id` (0 starts from the beginning). `page_size` is clamped to 1..=10 000,
    /// the register's limit.
    pub async fn updates(&self, after_id: i64, page_size: u32) -> Result<UpdatePage, BrregError> {
        self.feed("enheter", FeedStart::After(after_id), page_size).await
    }

    /// Like [`BrregClient::updates`], for sub-units (`/oppdateringer/underenheter`).
    pub async fn subunit_updates(&self, after_id: i64, page_size: u32) -> Result<UpdatePage, BrregError> {
        self.feed("underenheter", FeedStart::After(after_id), page_size)
            .await
    }

    /// The first page of main-unit updates published at or after `since`: the register's
    /// recommended way to find the starting id the first time (or after a long pause);
    /// continue with [`BrregClient::updates`] from `next_after_id` (0 when nothing matched).
    pub async fn updates_since(
        &self,
        since: DateTime<Utc>,
        page_size: u32,
    ) -> Result<UpdatePage, BrregError> {
        self.feed("enheter", FeedStart::Since(since), page_size).await
    }

    async fn feed(&self, kind: &str, start: FeedStart, page_size: u32) -> Result<UpdatePage, BrregError> {
        let size = page_size.clamp(1, 10_000);
        let (filter, after_id) = match start {
            FeedStart::After(after_id) => {
                let after_id = after_id.max(0);
                (format!("oppdateringsid={}", after_id.saturating_add(1)), after_id)
            }
            // `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`; no characters that need escaping.
            FeedStart::Since(t) => (format!("dato={}", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")), 0),
        };
        let url = format!(
            "{}/oppdateringer/{kind}?{filter}&size={size}&sort=id,ASC",
            self.inner.base
        );
        let answer = self.get(&url, ACCEPT_JSON).await?;
        match answer.status {
            200 => feed::parse_page(&answer.body, after_id),
            400 => Err(invalid_request(answer)),
            status => Err(BrregError::UnexpectedStatus { status, url }),
        }
    }

    /// GET with the in-flight cap, time-out and retries. Returns any answer that is not
    /// worth retrying (including 4xx other than 429); the caller interprets the status.
    async fn get(&self, url: &str, accept: &'static str) -> Result<Answer, BrregError> {
        let cfg = &self.inner.cfg;
        let mut last_reason = String::new();
        for attempt in 1..=cfg.max_attempts {
            let mut retry_after = None;
            {
                // Held for the request and its body only, not across the backoff sleep, so
                // a retrying look-up does not block healthy ones.
                let _permit = self
                    .inner
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| BrregError::Config("klienten er stengt".into()))?;
                let sent = self.inner.http.get(url).header(ACCEPT, accept).send().await;
                match sent {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        retry_after = resp
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(Duration::from_secs);
                        if status == 429 || (500..600).contains(&status) {
                            last_reason = if status == 429 {
                                "for mange forespørsler (HTTP 429)".to_owned()
                            } else {
                                format!("feil hos registeret (HTTP {status})")
                            };
                        } else {
                            match resp.text().await {
                                Ok(body) => return Ok(Answer { status, body }),
                                Err(e) => last_reason = describe_transport(&e),
                            }
                        }
                    }
                    Err(e) => {
                        if e.is_builder() {
                            return Err(BrregError::Config(format!("ugyldig forespørsel: {e}")));
                        }
                        last_reason = describe_transport(&e);
                    }
                }
            }
            if attempt < cfg.max_attempts {
                let delay = self.backoff(attempt, retry_after);
                tracing::warn!(
                    url,
                    attempt,
                    reason = %last_reason,
                    delay_ms = delay.as_millis() as u64,
                    "register call failed; retrying"
                );
                tokio::time::sleep(delay).await;
            }
        }
        tracing::warn!(url, attempts = cfg.max_attempts, reason = %last_reason, "register call gave up");
        Err(BrregError::Unavailable {
            attempts: cfg.max_attempts,
            reason: last_reason,
        })
    }

    /// Exponential backoff with "equal jitter": half the step is fixed, half random, so
    /// many workers that failed together do not retry in lock-step. A `Retry-After` from
    /// the register is honoured as a lower bound (capped by `max_backoff`).
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let cfg = &self.inner.cfg;
        let exp = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        let step = cfg.backoff_base.saturating_mul(exp).min(cfg.max_backoff);
        let half = step / 2;
        let jitter_ns = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let r = self.next_random();
        let jitter = if jitter_ns == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(r % jitter_ns)
        };
        let delay = half + jitter;
        match retry_after {
            Some(ra) => delay.max(ra.min(cfg.max_backoff)),
            None => delay,
        }
    }

    /// splitmix64 over a shared counter: good enough for jitter, no RNG dependency.
    fn next_random(&self) -> u64 {
        let mut z = self
            .inner
            .jitter_state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "tidsavbrudd: registeret svarte ikke innen tidsgrensen".to_owned()
    } else if e.is_connect() {
        "fikk ikke kontakt med registeret (tilkobling avvist eller brutt)".to_owned()
    } else {
        format!("nettverksfeil: {e}")
    }
}

/// Builds the 400 error from the register's `BadRequest` body
/// (`{feilmelding, valideringsfeil[{feilmelding, feilaktigVerdi}]}`), falling back to a
/// generic text when the body is something else.
fn invalid_request(answer: Answer) -> BrregError {
    #[derive(Deserialize)]
    struct BadRequest {
        #[serde(default)]
        feilmelding: Option<String>,
        #[serde(default)]
        valideringsfeil: Vec<Validation>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Validation {
        #[serde(default)]
        feilmelding: Option<String>,
        #[serde(default, deserialize_with = "super::facts::lenient_str")]
        feilaktig_verdi: Option<String>,
    }
    let message = match serde_json::from_str::<BadRequest>(&answer.body) {
        Ok(b) => {
            let mut parts: Vec<String> = b.feilmelding.into_iter().collect();
            for v in b.valideringsfeil {
                match (v.feilmelding, v.feilaktig_verdi) {
                    (Some(m), Some(val)) => parts.push(format!("{m} («{val}»)")),
                    (Some(m), None) => parts.push(m),
                    (None, Some(val)) => parts.push(format!("ugyldig verdi «{val}»")),
                    (None, None) => {}
                }
            }
            if parts.is_empty() {
                "ugyldig forespørsel".to_owned()
            } else {
                parts.join("; ")
            }
        }
        Err(_) => "ugyldig forespørsel".to_owned(),
    };
    BrregError::InvalidRequest {
        status: answer.status,
        message,
    }
}
