//! What a message says, as data: frozen into the outbox row's payload when the message is
//! queued (in the transaction of the event that causes it), and rendered into text, HTML
//! and attachments only when it is sent. A retry a day later therefore sends the same
//! mail, whatever changed in between.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// One contract as a message lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractLine {
    pub contract_id: i64,
    pub contract_no: String,
    pub title: Option<String>,
    pub supplier_name: String,
    pub orgnr: String,
    pub unit: Option<String>,
    pub value_ore: Option<i64>,
    pub score: Option<i32>,
    /// The tier's label as the rule set names it (`Høy`), empty when unscored.
    pub tier: Option<String>,
    /// Risk industries by name (`Bygg og anlegg`).
    pub industries: Vec<String>,
    /// Titles of the indicators that fired.
    pub fired: Vec<String>,
    /// The case opened for this contract, if any (linked from the mail).
    pub case_id: Option<i64>,
    /// For a drawn contract: the position in the draw and the part that picked it.
    pub draw: Option<DrawPlace>,
}

/// Where a drawn contract sits in its draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawPlace {
    pub position: u64,
    /// `weighted` or `uniform`.
    pub part: String,
    pub stratum: String,
}

/// A draw published since the last summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawBrief {
    pub draw_id: i64,
    pub published_at: NaiveDateTime,
    pub picks: u64,
}

/// Everything a message can be about. The `kind` tag is also the outbox row's `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Notice {
    /// A draw was published (round 1) or extended (later rounds): the picks in the
    /// recipient's industries.
    #[serde(rename = "draw.published")]
    DrawPublished {
        draw_id: i64,
        round: i32,
        manifest_sha256: String,
        published_at: NaiveDateTime,
        published_by: String,
        /// Picks in the whole round (the lines are those that concern the recipient).
        picks_in_round: u64,
        lines: Vec<ContractLine>,
    },
    /// Contracts entered the highest tier in one scoring run.
    #[serde(rename = "risk.high")]
    HighRisk {
        assessed_at: NaiveDateTime,
        /// Why the run happened (`import`, `enrichment`, `rules`, `manual`).
        reason: String,
        tier: String,
        lines: Vec<ContractLine>,
    },
    /// A document request passed its deadline with nothing received.
    #[serde(rename = "case.document_reminder")]
    DocumentReminder {
        case_id: i64,
        contract_no: String,
        supplier_name: String,
        orgnr: String,
        /// What was asked for, as people say it.
        documents: Vec<String>,
        deadline: NaiveDate,
        requested_at: NaiveDateTime,
        requested_by: String,
    },
    /// The week's summary.
    #[serde(rename = "summary.weekly")]
    WeeklySummary {
        /// `2026-W49`.
        week: String,
        from: NaiveDate,
        to: NaiveDate,
        draws: Vec<DrawBrief>,
        /// Contracts in the recipient's industries, per tier label, highest tier first.
        by_tier: Vec<(String, i64)>,
        /// Cases on those contracts that are not closed.
        open_cases: i64,
        /// Contracts that reached the highest tier during the week.
        high_risk: Vec<ContractLine>,
    },
}

impl Notice {
    /// The outbox `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::DrawPublished { round: 1, .. } => "draw.published",
            Notice::DrawPublished { .. } => "draw.extended",
            Notice::HighRisk { .. } => "risk.high",
            Notice::DocumentReminder { .. } => "case.document_reminder",
            Notice::WeeklySummary { .. } => "summary.weekly",
        }
    }

    /// The subject line (Norwegian).
    pub fn subject(&self) -> String {
        match self {
            Notice::DrawPublished {
                draw_id,
                round: 1,
                lines,
                ..
            } => format!(
                "Stikkprøvetrekning {draw_id} er publisert: {} {} i dine bransjer",
                lines.len(),
                plural(lines.len(), "kontrakt", "kontrakter")
            ),
            Notice::DrawPublished {
                draw_id,
                round,
                lines,
                ..
            } => format!(
                "Stikkprøvetrekning {draw_id} er utvidet (runde {round}): {} nye {} i dine bransjer",
                lines.len(),
                plural(lines.len(), "kontrakt", "kontrakter")
            ),
            Notice::HighRisk { tier, lines, .. } => format!(
                "{} {} har fått risikonivå «{tier}»",
                lines.len(),
                plural(lines.len(), "kontrakt", "kontrakter")
            ),
            Notice::DocumentReminder {
                case_id,
                supplier_name,
                ..
            } => format!("Fristen er passert: dokumenter fra {supplier_name} (sak {case_id})"),
            Notice::WeeklySummary { week, .. } => {
                let w = week.rsplit('W').next().unwrap_or(week);
                format!("Ukesoversikt fra spotcheck, uke {}", w.trim_start_matches('0'))
            }
        }
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
