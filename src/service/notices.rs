//! Who is told what. Each function runs inside the caller's write transaction, next to
//! the event it reports (a draw stored, a scoring run recorded), and queues one message per
//! liaison concerned: a liaison who wants the notice and covers at least one of the
//! contracts' risk industries (a liaison with no industries covers them all). What the
//! message lists is frozen into its payload ([`crate::mail::Notice`]), so it is sent as it
//! was when the event happened. The dedupe keys make a repeated event queue nothing.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

use crate::db::models::liaisons::{self, Liaison};
use crate::db::models::notices::{self as rows, LineRow};
use crate::db::models::outbox::{self, NewMessage};
use crate::db::{DbConn, DbError};
use crate::domain::liaison::NoticeKind;
use crate::domain::oslo;
use crate::mail::{ContractLine, DrawBrief, DrawPlace, Notice};
use crate::risk::RuleSet;

/// A contract line with the industry ids it is matched on (the line itself shows names).
struct Candidate {
    line: ContractLine,
    industry_ids: Vec<String>,
}

fn decode(stored: Option<&str>) -> Vec<String> {
    stored
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Lines for `rows`, with names from `rules` (an id the set no longer has is shown as is).
fn candidates(
    rules: &RuleSet,
    rows: Vec<LineRow>,
    cases: &HashMap<i64, i64>,
    places: &HashMap<i64, DrawPlace>,
) -> Vec<Candidate> {
    let industry_name: HashMap<&str, &str> = rules
        .industries()
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let title: HashMap<&str, &str> = rules
        .indicators()
        .iter()
        .map(|i| (i.id.as_str(), i.title.as_str()))
        .collect();
    let tier_label: HashMap<&str, &str> = rules
        .tiers()
        .iter()
        .map(|t| (t.id.as_str(), t.label.as_str()))
        .collect();
    rows.into_iter()
        .map(|r| {
            let industry_ids = decode(r.industries.as_deref());
            let line = ContractLine {
                contract_id: r.contract_id,
                industries: industry_ids
                    .iter()
                    .map(|i| industry_name.get(i.as_str()).copied().unwrap_or(i).to_owned())
                    .collect(),
                fired: r
                    .fired
                    .iter()
                    .map(|id| title.get(id.as_str()).copied().unwrap_or(id).to_owned())
                    .collect(),
                tier: r
                    .tier
                    .as_deref()
                    .map(|t| tier_label.get(t).copied().unwrap_or(t).to_owned()),
                case_id: cases.get(&r.contract_id).copied(),
                draw: places.get(&r.contract_id).cloned(),
                contract_no: r.contract_no,
                title: r.title,
                supplier_name: r.supplier_name,
                orgnr: r.orgnr,
                unit: r.unit,
                value_ore: r.value_ore,
                score: r.score,
            };
            Candidate { line, industry_ids }
        })
        .collect()
}

fn covers(l: &Liaison, industry_ids: &[String]) -> bool {
    l.industries.is_empty() || industry_ids.iter().any(|i| l.industries.contains(i))
}

/// The liaisons who want `kind`, with the lines that concern each (none: left out).
fn concerned<'a>(
    all: &'a [Liaison],
    kind: NoticeKind,
    lines: &[Candidate],
) -> Vec<(&'a Liaison, Vec<ContractLine>)> {
    all.iter()
        .filter(|l| l.notices.contains(&kind))
        .filter_map(|l| {
            let mine: Vec<ContractLine> = lines
                .iter()
                .filter(|c| covers(l, &c.industry_ids))
                .map(|c| c.line.clone())
                .collect();
            (!mine.is_empty()).then_some((l, mine))
        })
        .collect()
}

fn message(l: &Liaison, dedupe_key: String, notice: &Notice) -> NewMessage {
    NewMessage {
        kind: notice.kind().to_owned(),
        dedupe_key,
        recipient_liaison_id: Some(l.id),
        recipient_user_id: None,
        recipient_agency: Some(l.agency.as_str().to_owned()),
        recipient_name: l.name.clone(),
        recipient_address: l.email.clone(),
        subject: notice.subject(),
        payload: serde_json::to_string(notice).unwrap_or_default(),
    }
}

/// One stored round of a draw, as the notice needs it.
pub struct DrawRound<'a> {
    pub draw_id: i64,
    pub round: i32,
    pub manifest_sha256: &'a str,
    pub published_at: NaiveDateTime,
    pub published_by: &'a str,
    /// Per pick: the contract, its place in the draw and the case opened for it.
    pub picks: Vec<(i64, DrawPlace, Option<i64>)>,
}

/// Queues the notice of a published (round 1) or extended draw; returns how many
/// messages were queued.
pub fn queue_draw_round(c: &mut DbConn, rules: &RuleSet, d: &DrawRound<'_>) -> Result<usize, DbError> {
    let ids: Vec<i64> = d.picks.iter().map(|p| p.0).collect();
    let places: HashMap<i64, DrawPlace> = d.picks.iter().map(|p| (p.0, p.1.clone())).collect();
    let cases: HashMap<i64, i64> = d.picks.iter().filter_map(|p| p.2.map(|k| (p.0, k))).collect();
    let mut lines = candidates(rules, rows::contract_lines(c, &ids)?, &cases, &places);
    lines.sort_by_key(|l| l.line.draw.as_ref().map_or(u64::MAX, |p| p.position));
    let all = liaisons::list_active(c)?;
    let messages: Vec<NewMessage> = concerned(&all, NoticeKind::DrawPublished, &lines)
        .into_iter()
        .map(|(l, mine)| {
            let notice = Notice::DrawPublished {
                draw_id: d.draw_id,
                round: d.round,
                manifest_sha256: d.manifest_sha256.to_owned(),
                published_at: d.published_at,
                published_by: d.published_by.to_owned(),
                picks_in_round: d.picks.len() as u64,
                lines: mine,
            };
            message(
                l,
                format!("draw:{}:round:{}:liaison:{}", d.draw_id, d.round, l.id),
                &notice,
            )
        })
        .collect();
    outbox::enqueue(c, &messages, d.published_at)
}

/// Queues one digest per liaison concerned for the contracts that entered the highest
/// tier in one scoring run (`at`); returns how many messages were queued.
pub fn queue_high_risk(
    c: &mut DbConn,
    rules: &RuleSet,
    contract_ids: &[i64],
    reason: &str,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    let Some(top) = rules.tiers().last() else {
        return Ok(0);
    };
    if contract_ids.is_empty() {
        return Ok(0);
    }
    // Nobody to tell: the contracts are not even read (this runs in the last transaction
    // of a scoring run, which may have put thousands into the highest tier).
    let all = liaisons::list_active(c)?;
    if !all.iter().any(|l| l.notices.contains(&NoticeKind::HighRisk)) {
        return Ok(0);
    }
    let lines = candidates(
        rules,
        rows::contract_lines(c, contract_ids)?,
        &HashMap::new(),
        &HashMap::new(),
    );
    let run = at.and_utc().timestamp_micros();
    let messages: Vec<NewMessage> = concerned(&all, NoticeKind::HighRisk, &lines)
        .into_iter()
        .map(|(l, mine)| {
            let notice = Notice::HighRisk {
                assessed_at: at,
                reason: reason.to_owned(),
                tier: top.label.clone(),
                lines: mine,
            };
            message(l, format!("risk.high:{run}:liaison:{}", l.id), &notice)
        })
        .collect();
    outbox::enqueue(c, &messages, at)
}

/// Queues the summary of the last whole week (Monday to Sunday, Oslo time) for every
/// liaison who wants one, once per week and liaison whoever calls it (the serve worker and
/// `outbox send-pending` both do, several instances too): from Monday 07:00 on.
pub fn queue_weekly(c: &mut DbConn, rules: &RuleSet, now: NaiveDateTime) -> Result<usize, DbError> {
    let local = oslo::local(now);
    let (this_monday, _) = oslo::iso_week(now);
    if local.date() == this_monday
        && local.time() < chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default()
    {
        return Ok(0);
    }
    let from_day = this_monday - Duration::days(7);
    let to_day = this_monday - Duration::days(1);
    let (from, until) = (oslo::midnight_utc(from_day), oslo::midnight_utc(this_monday));
    let (_, week) = oslo::iso_week(from + Duration::hours(12));
    let all: Vec<Liaison> = liaisons::list_active(c)?
        .into_iter()
        .filter(|l| l.notices.contains(&NoticeKind::WeeklySummary))
        .collect();
    if all.is_empty() {
        return Ok(0);
    }
    let tier_order: Vec<(&str, &str)> = rules
        .tiers()
        .iter()
        .rev()
        .map(|t| (t.id.as_str(), t.label.as_str()))
        .collect();
    let counts = rows::risk_counts(c)?;
    let open = rows::open_cases_by_industries(c)?;
    let rounds = rows::rounds_between(c, from, until)?;
    let top_ids = match rules.tiers().last() {
        Some(t) => rows::in_tier_assessed_between(c, &t.id, from, until)?,
        None => Vec::new(),
    };
    let top = candidates(
        rules,
        rows::contract_lines(c, &top_ids)?,
        &HashMap::new(),
        &HashMap::new(),
    );
    let mut messages = Vec::new();
    for l in &all {
        let by_tier: Vec<(String, i64)> = tier_order
            .iter()
            .map(|(id, label)| {
                let n = counts
                    .iter()
                    .filter(|(t, ind, _)| t == id && covers(l, &decode(Some(ind))))
                    .map(|(_, _, n)| n)
                    .sum();
                ((*label).to_owned(), n)
            })
            .collect();
        let open_cases = open
            .iter()
            .filter(|(ind, _)| covers(l, &decode(ind.as_deref())))
            .map(|(_, n)| n)
            .sum();
        let notice = Notice::WeeklySummary {
            week: week.clone(),
            from: from_day,
            to: to_day,
            draws: rounds
                .iter()
                .map(|(id, _, at, picks)| DrawBrief {
                    draw_id: *id,
                    published_at: *at,
                    picks: u64::try_from(*picks).unwrap_or(0),
                })
                .collect(),
            by_tier,
            open_cases,
            high_risk: top
                .iter()
                .filter(|c| covers(l, &c.industry_ids))
                .map(|c| c.line.clone())
                .collect(),
        };
        messages.push(message(l, format!("weekly:{week}:liaison:{}", l.id), &notice));
    }
    // Due at once (also when a summary is made for a given time, as the tests do).
    outbox::enqueue(c, &messages, now.min(crate::db::models::now()))
}

/// Queues one reminder per document request whose deadline (Oslo calendar) passed before
/// `now` with nothing received, on a case not closed: to the person the case is assigned
/// to, or else to the one who asked, whichever has an e-mail address (dedupe key per
/// request: one reminder, however often this runs). Returns how many were queued.
pub fn queue_document_reminders(c: &mut DbConn, now: NaiveDateTime) -> Result<usize, DbError> {
    use crate::db::models::{cases, users};
    let today = oslo::local(now).date();
    let mut messages = Vec::new();
    for r in cases::overdue_document_requests(c, today)? {
        let Some(case) = cases::find(c, r.case_id)? else {
            continue;
        };
        let requester = users::find_by_id(c, r.requested_by_user_id)?;
        let assignee = match case.assigned_to {
            Some(id) => users::find_by_id(c, id)?,
            None => None,
        };
        let Some(to) = [&assignee, &requester]
            .into_iter()
            .flatten()
            .find(|u| !u.disabled && u.email.as_deref().is_some_and(|e| !e.is_empty()))
        else {
            continue;
        };
        let Some(line) = rows::contract_lines(c, &[case.contract_id])?.into_iter().next() else {
            continue;
        };
        let documents = crate::domain::liaison::decode_list(&r.documents)
            .iter()
            .map(|d| crate::domain::case::DocumentKind::parse(d).map_or(d.clone(), |k| k.label().to_owned()))
            .collect();
        let notice = Notice::DocumentReminder {
            case_id: case.id,
            contract_no: line.contract_no,
            supplier_name: line.supplier_name,
            orgnr: line.orgnr,
            documents,
            deadline: r.deadline,
            requested_at: r.requested_at,
            requested_by: requester
                .as_ref()
                .map_or_else(String::new, |u| u.username.clone()),
        };
        messages.push(NewMessage {
            kind: notice.kind().to_owned(),
            dedupe_key: format!("case.document_reminder:{}", r.id),
            recipient_liaison_id: None,
            recipient_user_id: Some(to.id),
            recipient_agency: to.agency.map(|a| a.as_str().to_owned()),
            recipient_name: to.username.clone(),
            recipient_address: to.email.clone().unwrap_or_default(),
            subject: notice.subject(),
            payload: serde_json::to_string(&notice).unwrap_or_default(),
        });
    }
    outbox::enqueue(c, &messages, now.min(crate::db::models::now()))
}
