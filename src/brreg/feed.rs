//! The register's change feed (`/oppdateringer/enheter`, docs/sources.md §1.6).
//!
//! We page by update id, not by page number: `oppdateringsid=N` returns updates with id
//! `>= N` in ascending order, so continuing from "last id + 1" never skips or repeats an
//! update even while the register appends new ones (which would shift page numbers).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::BrregError;

/// What happened to a unit, as the register's `endringstype` says.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// `Ukjent`: the change predates change types.
    Unknown,
    /// `Ny`: added to the register.
    New,
    /// `Endring`: changed.
    Changed,
    /// `Sletting`: deleted (the unit now answers 200 with `slettedato`).
    Deleted,
    /// `Fjernet`: removed from open data; copies must delete the unit (as with HTTP 410).
    Removed,
    /// A type this code does not know yet, kept verbatim.
    Other(String),
}

impl ChangeType {
    fn from_register(s: &str) -> Self {
        match s {
            "Ukjent" => ChangeType::Unknown,
            "Ny" => ChangeType::New,
            "Endring" => ChangeType::Changed,
            "Sletting" => ChangeType::Deleted,
            "Fjernet" => ChangeType::Removed,
            other => ChangeType::Other(other.to_owned()),
        }
    }
}

/// One entry of the change feed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Update {
    pub update_id: i64,
    pub orgnr: String,
    pub change: ChangeType,
    /// When the change was published in the open API (`dato`).
    pub time: Option<DateTime<Utc>>,
}

/// One page of the change feed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UpdatePage {
    pub updates: Vec<Update>,
    /// Pass this as `after_id` to continue: the highest update id seen, or the `after_id`
    /// that was asked for when the page is empty.
    pub next_after_id: i64,
    /// Whether the register reported more updates after this page.
    pub has_more: bool,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(rename = "_embedded", default)]
    embedded: Option<RawEmbedded>,
    #[serde(default)]
    page: Option<RawPageInfo>,
}

#[derive(Deserialize)]
struct RawEmbedded {
    #[serde(rename = "oppdaterteEnheter", alias = "oppdaterteUnderenheter", default)]
    items: Vec<RawUpdate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPageInfo {
    #[serde(default)]
    total_elements: Option<i64>,
}

#[derive(Deserialize)]
struct RawUpdate {
    oppdateringsid: i64,
    #[serde(default, deserialize_with = "super::facts::lenient_str")]
    organisasjonsnummer: Option<String>,
    #[serde(default, deserialize_with = "super::facts::lenient_str")]
    endringstype: Option<String>,
    #[serde(default, deserialize_with = "super::facts::lenient_str")]
    dato: Option<String>,
}

/// Parses a feed page. The register leaves `_embedded` out entirely when nothing matched.
pub(crate) fn parse_page(body: &str, after_id: i64) -> Result<UpdatePage, BrregError> {
    let raw: RawPage =
        serde_json::from_str(body).map_err(|e| BrregError::Decode(format!("endringsloggen: {e}")))?;
    let items = raw.embedded.map(|e| e.items).unwrap_or_default();
    let total = raw.page.and_then(|p| p.total_elements);
    let on_page = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let mut updates = Vec::with_capacity(items.len());
    for item in items {
        let Some(orgnr) = item.organisasjonsnummer else {
            tracing::warn!(
                update_id = item.oppdateringsid,
                "change feed entry without organisasjonsnummer"
            );
            continue;
        };
        let time = item.dato.as_deref().and_then(|d| {
            DateTime::parse_from_rfc3339(d)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| tracing::warn!(value = d, "unreadable dato in change feed"))
                .ok()
        });
        updates.push(Update {
            update_id: item.oppdateringsid,
            orgnr,
            change: item
                .endringstype
                .as_deref()
                .map_or(ChangeType::Unknown, ChangeType::from_register),
            time,
        });
    }
    // The register sorts by id when asked (`sort=id,ASC`); sort anyway so that
    // `next_after_id` can never move backwards.
    updates.sort_by_key(|u| u.update_id);
    let next_after_id = updates.last().map_or(after_id, |u| u.update_id.max(after_id));
    let has_more = total.is_some_and(|t| t > on_page);
    Ok(UpdatePage {
        updates,
        next_after_id,
        has_more,
    })
}
