//! Background enrichment from Enhetsregisteret: claim due jobs, look them up (the client
//! bounds concurrency, times out and retries), record what the register said.
//!
//! Jobs live in the database, so a look-up waiting for a register that is down survives a
//! restart, and two instances on one PostgreSQL share the work without doing it twice.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::brreg::{BrregClient, BrregConfig, BrregError};
use crate::config::Settings;
use crate::db::models::{Actor, suppliers};
use crate::db::{DbError, Pool};
use crate::domain::orgnr::OrgNr;
use crate::service::rules::ActiveRules;

#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the register: {0}")]
    Client(#[from] BrregError),
    #[error("a background task failed: {0}")]
    Task(String),
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PassSummary {
    pub claimed: usize,
    pub succeeded: usize,
    /// Failed for now (register down, slow, 5xx, 429): retried later with backoff.
    pub retrying: usize,
    /// Failed in a way that retrying will not fix (400, an unreadable answer).
    pub failed: usize,
}

impl PassSummary {
    fn add(&mut self, o: PassSummary) {
        self.claimed += o.claimed;
        self.succeeded += o.succeeded;
        self.retrying += o.retrying;
        self.failed += o.failed;
    }
}

/// What following the change feeds did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeedSummary {
    pub updates: usize,
    /// Our suppliers among the changed units, queued for a fresh look-up.
    pub queued: usize,
}

#[derive(Clone)]
pub struct Enricher {
    pool: Pool,
    client: BrregClient,
    max_age: chrono::Duration,
    batch: i64,
    /// When set, the contracts of suppliers with fresh facts are rescored after each pass.
    rules: Option<Arc<ActiveRules>>,
}

/// The register client as configured (base URL, contact in the User-Agent).
pub fn client_from_settings(settings: &Settings) -> Result<BrregClient, BrregError> {
    let mut cfg = BrregConfig {
        base_url: settings.brreg_url.trim_end_matches('/').to_owned(),
        ..BrregConfig::default()
    };
    if let Some(contact) = &settings.brreg_contact {
        cfg = cfg.with_contact(contact);
    }
    BrregClient::new(cfg)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DbError> + Send + 'static,
) -> Result<T, EnrichError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EnrichError::Task(e.to_string()))?
        .map_err(EnrichError::from)
}

impl Enricher {
    pub fn new(pool: Pool, client: BrregClient, max_age: chrono::Duration) -> Self {
        Enricher {
            pool,
            client,
            max_age,
            batch: 50,
            rules: None,
        }
    }

    /// Rescore the contracts of suppliers whose facts a pass fetched, with this rule set.
    pub fn with_rules(mut self, rules: Arc<ActiveRules>) -> Self {
        self.rules = Some(rules);
        self
    }

    pub fn from_settings(pool: Pool, settings: &Settings) -> Result<Self, EnrichError> {
        Ok(Self::new(
            pool,
            client_from_settings(settings)?,
            chrono::Duration::hours(settings.enrich_max_age_hours),
        ))
    }

    /// One pass at the current time.
    pub async fn run_once(&self) -> Result<PassSummary, EnrichError> {
        self.run_once_at(crate::db::models::now()).await
    }

    /// One pass as if it were `at` (tests move time forward past a backoff this way).
    pub async fn run_once_at(&self, at: NaiveDateTime) -> Result<PassSummary, EnrichError> {
        let (pool, max_age, batch) = (self.pool.clone(), self.max_age, self.batch);
        let due = blocking(move || {
            let mut conn = pool.get()?;
            suppliers::requeue_stale(&mut conn, max_age)?;
            suppliers::claim_due(&mut conn, at, batch)
        })
        .await?;
        let mut summary = PassSummary {
            claimed: due.len(),
            ..Default::default()
        };
        if due.is_empty() {
            return Ok(summary);
        }
        let lookups = due.iter().map(|orgnr| {
            let client = self.client.clone();
            let orgnr = orgnr.clone();
            async move {
                let result = match OrgNr::parse_canonical(&orgnr) {
                    Ok(o) => client.lookup(&o).await,
                    Err(e) => Err(BrregError::InvalidRequest {
                        status: 0,
                        message: e.to_string(),
                    }),
                };
                (orgnr, result)
            }
        });
        let results = futures_util::future::join_all(lookups).await;
        for (_, r) in &results {
            match r {
                Ok(_) => summary.succeeded += 1,
                Err(e) if e.is_retryable() => summary.retrying += 1,
                Err(_) => summary.failed += 1,
            }
        }
        let pool = self.pool.clone();
        let rules = self.rules.as_ref().map(|r| r.get());
        blocking(move || {
            let mut conn = pool.get()?;
            for (orgnr, result) in &results {
                record_lookup(&mut conn, orgnr, result, at)?;
            }
            let fresh: Vec<String> = results
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(o, _)| o.clone())
                .collect();
            if let (Some(rules), false) = (rules, fresh.is_empty()) {
                // New facts change scores; a failure here leaves the facts stored and is
                // caught up by the next pass or `spotcheck score`.
                let scope = crate::service::scoring::Scope::Suppliers(fresh);
                crate::service::scoring::rescore_after(
                    &mut conn,
                    &rules,
                    scope,
                    "enrichment",
                    &Actor::system(),
                );
            }
            Ok(())
        })
        .await?;
        Ok(summary)
    }

    /// Passes until nothing is due (what `spotcheck enrich` does).
    pub async fn run_until_idle(&self) -> Result<PassSummary, EnrichError> {
        let mut total = PassSummary::default();
        loop {
            let s = self.run_once().await?;
            total.add(s);
            // Stop when nothing was due, or when everything due failed (it waits for backoff).
            if s.claimed == 0 || s.succeeded == 0 {
                return Ok(total);
            }
        }
    }

    /// Reads the register's change feeds (main units and sub-units) from where we stopped
    /// and queues our suppliers that changed. The first time, it starts `max_age` back.
    pub async fn follow_feeds(&self, max_pages: usize) -> Result<FeedSummary, EnrichError> {
        let mut summary = FeedSummary::default();
        for feed in ["enheter", "underenheter"] {
            for _ in 0..max_pages {
                let pool = self.pool.clone();
                let pos = blocking(move || suppliers::feed_position(&mut *pool.get()?, feed)).await?;
                let page = match (pos, feed) {
                    (Some(id), "enheter") => self.client.updates(id, 1000).await?,
                    (Some(id), _) => self.client.subunit_updates(id, 1000).await?,
                    (None, "enheter") => {
                        // No position yet: start from the first update within the freshness window.
                        let since = chrono::Utc::now() - self.max_age;
                        self.client.updates_since(since, 1000).await?
                    }
                    (None, _) => self.client.subunit_updates(0, 1000).await?,
                };
                summary.updates += page.updates.len();
                let changed: Vec<String> = page.updates.iter().map(|u| u.orgnr.clone()).collect();
                let (pool, next) = (self.pool.clone(), page.next_after_id);
                summary.queued +=
                    blocking(move || suppliers::apply_feed_page(&mut *pool.get()?, feed, &changed, next))
                        .await?;
                if !page.has_more {
                    break;
                }
            }
        }
        Ok(summary)
    }

    /// The worker inside `spotcheck serve`: a pass every `poll`, the change feeds hourly,
    /// errors logged, never ends.
    pub async fn run_forever(self, poll: StdDuration) {
        let mut last_feed: Option<std::time::Instant> = None;
        loop {
            if last_feed.is_none_or(|t| t.elapsed() > StdDuration::from_secs(3600)) {
                // Hourly whether it worked or not: an unreachable register is retried next hour,
                // not on every poll (the look-up jobs have their own backoff).
                last_feed = Some(std::time::Instant::now());
                match self.follow_feeds(20).await {
                    Ok(f) if f.queued > 0 => {
                        tracing::info!(updates = f.updates, queued = f.queued, "change feed")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "change feed failed; next try in an hour"),
                }
            }
            match self.run_until_idle().await {
                Ok(s) if s.claimed > 0 => tracing::info!(
                    claimed = s.claimed,
                    succeeded = s.succeeded,
                    retrying = s.retrying,
                    failed = s.failed,
                    "enrichment pass"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "enrichment pass failed"),
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// Stores what the register answered for `orgnr` and moves its job on, in one transaction;
/// a unit the register removed (410) has its cached facts deleted, and says so in the audit
/// log.
pub fn record_lookup(
    conn: &mut crate::db::DbConn,
    orgnr: &str,
    result: &Result<crate::brreg::Lookup, BrregError>,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    crate::db::write_tx(conn, |c| {
        if suppliers::record(c, orgnr, result, at)? {
            crate::db::models::audit::append(
                c,
                &Actor::system(),
                crate::db::models::audit::Event {
                    action: "brreg.removed",
                    object_type: "supplier",
                    object_id: orgnr,
                    detail: serde_json::json!({"note": "410 from Enhetsregisteret: cached register data deleted"}),
                },
            )?;
        }
        Ok(())
    })
}
