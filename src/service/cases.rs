//! Case review by the A-krim partners (issue 13): reading cases within what a person may see,
//! and every change of the workflow (`domain::case`). Each change is one write transaction
//! that updates the current state (`cases`, `case_shares`, `case_close_proposals`), appends
//! to the case's history (`case_events`) and writes the audit entry (`case.status`,
//! `case.assign`, `case.note`, `case.finding`, `case.close_proposed`, `case.close_confirmed`,
//! `case.reopen`, `case.share`, `case.unshare`). A read by an A-krim partner is audited too
//! (`case.read` for one case, `case.list` for a list).
//!
//! Access (`domain::case::CaseAccess`): Kemneren sees every case; an A-krim partner the
//! cases shared with their agency; an innkjøper the status and outcome of cases on the
//! contracts they own; the admin none (403). A case outside what a person may see is
//! answered as one that does not exist ([`Missing::Case`]).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::json;

use crate::db::models::audit::{self, Event};
use crate::db::models::cases::{
    self as rows, CaseContract, CaseFilter, CaseListRow, CaseOrder, CaseRisk, CaseRow, EventRow, NewEvent,
    ProposalRow, ShareRow,
};
use crate::db::models::users::{self, User};
use crate::db::models::{Actor, liaisons, now};
use crate::db::{DbConn, DbError, Missing, write_tx};
use crate::domain::case::{
    self as rules, CaseAccess, CaseState, CaseStatus, FindingResult, Outcome, Proposal, ReopenError,
    WorkflowError,
};
use crate::domain::liaison::{FieldError, Problem, decode_list};
use crate::domain::paging::{Cursor, Paging, PagingError};
use crate::domain::roles::{Agency, Permission};
use crate::risk::RuleSet;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// A value refused, naming its field (422).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A step the workflow refuses (409).
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// The role does not work with cases in this way (403).
    #[error("rollen din gir ikke tilgang til dette")]
    Forbidden,
}

impl From<diesel::result::Error> for CaseError {
    fn from(e: diesel::result::Error) -> Self {
        CaseError::Db(e.into())
    }
}

impl From<ReopenError> for CaseError {
    fn from(e: ReopenError) -> Self {
        match e {
            ReopenError::Workflow(w) => CaseError::Workflow(w),
            ReopenError::Field(f) => CaseError::Field(f),
        }
    }
}

fn access(user: &User) -> CaseAccess {
    if user.disabled {
        return CaseAccess::None;
    }
    CaseAccess::of(user.role, user.agency, user.id)
}

/// The access of someone who works cases (reads in full, changes), or 403.
fn reviewer(user: &User) -> Result<CaseAccess, CaseError> {
    let a = access(user);
    if a.reviews() && user.role.may(Permission::ReviewCases) {
        Ok(a)
    } else {
        Err(CaseError::Forbidden)
    }
}

fn not_found(id: i64) -> CaseError {
    CaseError::Db(DbError::NotFound(Missing::Case(id)))
}

fn corrupt(id: i64, what: &str) -> CaseError {
    CaseError::Db(DbError::Corrupt(format!("case {id}: {what}")))
}

fn parse_agencies(shares: &[ShareRow]) -> Vec<Agency> {
    shares.iter().filter_map(|s| s.agency.parse().ok()).collect()
}

/// Case `id` if `access` sees it in full, with its shares; otherwise 404, as for an id that
/// does not exist.
fn visible(c: &mut DbConn, a: CaseAccess, id: i64) -> Result<(CaseRow, Vec<ShareRow>), CaseError> {
    let case = rows::find(c, id)?.ok_or_else(|| not_found(id))?;
    let shares = rows::shares(c, id)?;
    if !a.sees_shared_with(&parse_agencies(&shares)) {
        return Err(not_found(id));
    }
    Ok((case, shares))
}

fn state_of(c: &mut DbConn, case: &CaseRow) -> Result<CaseState, CaseError> {
    let status: CaseStatus = case
        .status
        .parse()
        .map_err(|_| corrupt(case.id, "unknown status"))?;
    let proposal = match rows::proposal(c, case.id)? {
        Some(p) => Some(Proposal {
            outcome: p
                .outcome
                .parse()
                .map_err(|_| corrupt(case.id, "unknown outcome"))?,
            proposed_by: p.proposed_by_user_id,
        }),
        None => None,
    };
    Ok(CaseState { status, proposal })
}

fn audit_case(
    c: &mut DbConn,
    user: &User,
    action: &str,
    id: i64,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    audit::append(
        c,
        &Actor::user(&user.username),
        Event {
            action,
            object_type: "case",
            object_id: &id.to_string(),
            detail,
        },
    )
}

fn event(id: i64, user: &User, at: NaiveDateTime, kind: &'static str) -> NewEvent<'static> {
    NewEvent {
        case_id: id,
        at,
        actor_user_id: user.id,
        kind,
        ..NewEvent::default()
    }
}

// ----------------------------------------------------------------------------- reading

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub status: Option<String>,
    /// Cases shared with this agency.
    pub agency: Option<String>,
    /// Only the cases assigned to the person asking.
    pub assigned_to_me: bool,
    pub page: i64,
    pub per_page: i64,
    /// The `next_cursor` of an earlier page, newest first (then `page` must be 1).
    pub after: Option<String>,
}

/// A case in a list, for those who work cases.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub status: String,
    pub outcome: Option<String>,
    pub source: String,
    pub draw_id: Option<i64>,
    pub assigned_to: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub contract_id: i64,
    pub contract_no: String,
    pub supplier_name: String,
    pub orgnr: String,
    pub score: Option<i32>,
    pub tier: Option<String>,
    /// The earliest deadline of the document requests still open on the case.
    pub next_deadline: Option<chrono::NaiveDate>,
}

/// All an innkjøper sees of a case on a contract they own.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseOutcome {
    pub id: i64,
    pub contract_id: i64,
    pub contract_no: String,
    pub status: String,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CaseListItem {
    Summary(CaseSummary),
    Outcome(CaseOutcome),
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    /// How many cases match: exact when `total_exact`, otherwise the count stopped here.
    pub total: i64,
    /// `false` when more cases match than `total` (counting stops at 10 000).
    pub total_exact: bool,
    /// The page number asked for; `null` when asked for with a cursor.
    pub page: Option<i64>,
    pub per_page: i64,
    /// Newest first: pass as `cursor` for the next page; `null` on the last page (and in
    /// the work queue's order, which pages by number).
    pub next_cursor: Option<String>,
    pub items: Vec<CaseListItem>,
    /// Whether more cases follow this page, in either order (the pages' «Neste side»).
    #[serde(skip)]
    pub more: bool,
}

fn parse_status(s: &str, field: &'static str) -> Result<CaseStatus, FieldError> {
    s.parse::<CaseStatus>().map_err(|p| FieldError::new(field, p))
}

fn parse_agency(s: &str) -> Result<Agency, FieldError> {
    s.parse::<Agency>()
        .map_err(|_| FieldError::new("agency", Problem::UnknownAgency(s.to_owned())))
}

/// One page of the cases `user` may see, newest first. A page out of range is
/// [`DbError::Paging`] (400); an unknown status or agency names its field (422).
pub fn list(c: &mut DbConn, user: &User, q: &CaseQuery) -> Result<CasePage, CaseError> {
    list_queue(c, user, q, &QueueOptions::default())
}

/// What the work queue (the `/cases` page) asks for beyond [`CaseQuery`].
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueOptions {
    /// Only cases not closed with a document request still open whose deadline is before
    /// this date (today's date, Oslo time, for "overdue").
    pub deadline_before: Option<chrono::NaiveDate>,
    /// Open cases first, then by the nearest open document deadline; otherwise newest first.
    pub queue_order: bool,
}

/// As [`list`], with the queue's deadline filter and order. An innkjøper may not filter on
/// deadlines (they do not learn of document requests): 403.
pub fn list_queue(
    c: &mut DbConn,
    user: &User,
    q: &CaseQuery,
    opts: &QueueOptions,
) -> Result<CasePage, CaseError> {
    let a = access(user);
    let paging = Paging::new(q.page, q.per_page).map_err(DbError::from)?;
    let after = match q.after.as_deref() {
        None => None,
        Some(_) if q.page != 1 => return Err(DbError::from(PagingError::PageAndCursor).into()),
        // The work queue's order has no cursor: it pages by number.
        Some(_) if opts.queue_order => return Err(DbError::from(PagingError::Cursor).into()),
        Some(text) => match Cursor::decode(text).map_err(DbError::from)?.parts() {
            [tag, id] if tag == "case" => Some(
                id.parse::<i64>()
                    .map_err(|_| DbError::from(PagingError::Cursor))?,
            ),
            _ => return Err(DbError::from(PagingError::Cursor).into()),
        },
    };
    let mut filter = CaseFilter {
        status: q
            .status
            .as_deref()
            .map(|s| parse_status(s, "status").map(|s| s.as_str().to_owned()))
            .transpose()?,
        shared_with: q
            .agency
            .as_deref()
            .map(|s| parse_agency(s).map(|a| a.as_str().to_owned()))
            .transpose()?,
        assigned_to: q.assigned_to_me.then_some(user.id),
        open_deadline_before: opts.deadline_before,
        order: if opts.queue_order {
            CaseOrder::Queue
        } else {
            CaseOrder::Newest
        },
        ..CaseFilter::default()
    };
    match a {
        CaseAccess::None => return Err(CaseError::Forbidden),
        CaseAccess::All => {}
        CaseAccess::Agency(agency) => filter.visible_to_agency = Some(agency.as_str().to_owned()),
        CaseAccess::OutcomesOfOwnContracts(owner) => {
            // Whom a case is shared with or assigned to is not for the innkjøper to learn,
            // not even by filtering on it.
            if filter.shared_with.is_some()
                || filter.assigned_to.is_some()
                || filter.open_deadline_before.is_some()
            {
                return Err(CaseError::Forbidden);
            }
            filter.visible_to_owner = Some(owner);
        }
    }
    let page = |c: &mut DbConn| -> Result<CasePage, CaseError> {
        let (total, found, more) = rows::list(c, &filter, &paging, after)?;
        let next_cursor = match found.last() {
            Some(last) if more && !opts.queue_order => {
                Some(Cursor::new(["case".to_owned(), last.id.to_string()]).encode())
            }
            _ => None,
        };
        let items = match a {
            CaseAccess::OutcomesOfOwnContracts(_) => found
                .into_iter()
                .map(|r| {
                    CaseListItem::Outcome(CaseOutcome {
                        id: r.id,
                        contract_id: r.contract_id,
                        contract_no: r.contract_no,
                        status: r.status,
                        outcome: r.outcome,
                    })
                })
                .collect(),
            _ => summaries(c, found)?,
        };
        Ok(CasePage {
            total: total.total,
            total_exact: total.exact,
            page: after.is_none().then(|| paging.page()),
            per_page: paging.per_page(),
            next_cursor,
            items,
            more,
        })
    };
    match a {
        // Read and audited in one transaction: what was listed is what was logged.
        CaseAccess::Agency(agency) => write_tx(c, |c| {
            let listed = page(c)?;
            let ids: Vec<i64> = listed
                .items
                .iter()
                .filter_map(|i| match i {
                    CaseListItem::Summary(s) => Some(s.id),
                    CaseListItem::Outcome(_) => None,
                })
                .collect();
            audit::append(
                c,
                &Actor::user(&user.username),
                Event {
                    action: "case.list",
                    object_type: "case",
                    object_id: "",
                    detail: json!({"agency": agency, "cases": ids, "total": listed.total}),
                },
            )?;
            Ok(listed)
        }),
        _ => page(c),
    }
}

fn summaries(c: &mut DbConn, found: Vec<CaseListRow>) -> Result<Vec<CaseListItem>, CaseError> {
    let ids: Vec<i64> = found.iter().filter_map(|r| r.assigned_to).collect();
    let names = rows::usernames(c, &ids)?;
    Ok(found
        .into_iter()
        .map(|r| {
            CaseListItem::Summary(CaseSummary {
                assigned_to: r.assigned_to.and_then(|u| names.get(&u).cloned()),
                id: r.id,
                status: r.status,
                outcome: r.outcome,
                source: r.source,
                draw_id: r.draw_id,
                created_at: r.created_at,
                updated_at: r.updated_at,
                contract_id: r.contract_id,
                contract_no: r.contract_no,
                supplier_name: r.supplier_name,
                orgnr: r.orgnr,
                score: r.score,
                tier: r.tier,
                next_deadline: r.next_deadline,
            })
        })
        .collect())
}

/// Where in its draw a case came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrawOrigin {
    pub draw_id: i64,
    pub round: i32,
    pub position: i64,
    pub part: Option<String>,
    pub stratum: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    pub author: String,
    pub at: NaiveDateTime,
    pub text: String,
}

/// The latest finding for one indicator.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FindingView {
    pub indicator: String,
    pub result: String,
    pub by: String,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    #[serde(flatten)]
    pub event: EventRow,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

/// A case in full, for those who work it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    pub id: i64,
    pub status: String,
    pub outcome: Option<String>,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub assigned_to: Option<String>,
    /// The pending four-eyes proposal, if any.
    pub close_proposal: Option<ProposalRow>,
    pub contract: CaseContract,
    /// The contract's current risk (none if never scored).
    pub risk: Option<CaseRisk>,
    /// The contract's risk industries (ids of the rule set that scored it), which decided
    /// whom the case was shared with at publication.
    pub industries: Vec<String>,
    pub draw: Option<DrawOrigin>,
    pub shares: Vec<ShareRow>,
    pub notes: Vec<NoteView>,
    /// The latest finding per indicator (the history is in `events`).
    pub findings: Vec<FindingView>,
    /// What the supplier was asked for, by when, and whether it came.
    pub document_requests: Vec<DocumentRequestView>,
    /// Evidence files (metadata; the bytes through the evidence route).
    pub evidence: Vec<rows::EvidenceRow>,
    pub events: Vec<EventView>,
}

/// A document request as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentRequestView {
    pub id: i64,
    /// Ids (`lonnsslipper`, …).
    pub documents: Vec<String>,
    pub note: Option<String>,
    pub deadline: chrono::NaiveDate,
    pub requested_by: Option<String>,
    pub requested_at: NaiveDateTime,
    pub received_at: Option<NaiveDateTime>,
    pub received_by: Option<String>,
    /// Past its deadline with nothing received (in Oslo's calendar).
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CaseView {
    Detail(Box<CaseDetail>),
    Outcome(CaseOutcome),
}

fn detail(c: &mut DbConn, case: CaseRow, shares: Vec<ShareRow>) -> Result<CaseDetail, CaseError> {
    let contract =
        rows::contract(c, case.contract_id)?.ok_or_else(|| corrupt(case.id, "contract missing"))?;
    let risk = rows::risk(c, case.contract_id)?;
    let industries = risk
        .as_ref()
        .map(|r| decode_list(&r.industries))
        .unwrap_or_default();
    let draw = match (case.draw_id, case.pick_id) {
        (Some(draw_id), Some(pick_id)) => rows::pick_place(c, pick_id)?.map(|(round, position)| DrawOrigin {
            draw_id,
            round,
            position,
            part: case.part.clone(),
            stratum: case.stratum.clone(),
        }),
        _ => None,
    };
    let events = rows::events(c, case.id)?;
    let requests = rows::document_requests(c, case.id)?;
    let mut ids: Vec<i64> = events.iter().filter_map(|e| e.assignee_user_id).collect();
    ids.extend(case.assigned_to);
    ids.extend(requests.iter().map(|r| r.requested_by_user_id));
    ids.extend(requests.iter().filter_map(|r| r.received_by_user_id));
    let names = rows::usernames(c, &ids)?;
    let notes = events
        .iter()
        .filter(|e| e.kind == "note")
        .map(|e| NoteView {
            author: e.actor.clone(),
            at: e.at,
            text: e.text.clone().unwrap_or_default(),
        })
        .collect();
    // Latest wins: later events overwrite earlier ones for the same indicator.
    let mut latest: BTreeMap<String, FindingView> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == "finding") {
        if let (Some(indicator), Some(result)) = (&e.indicator, &e.result) {
            latest.insert(
                indicator.clone(),
                FindingView {
                    indicator: indicator.clone(),
                    result: result.clone(),
                    by: e.actor.clone(),
                    at: e.at,
                },
            );
        }
    }
    let events = events
        .into_iter()
        .map(|e| EventView {
            assignee: e.assignee_user_id.and_then(|u| names.get(&u).cloned()),
            event: e,
        })
        .collect();
    Ok(CaseDetail {
        id: case.id,
        status: case.status,
        outcome: case.outcome,
        source: case.source,
        created_at: case.created_at,
        updated_at: case.updated_at,
        assigned_to: case.assigned_to.and_then(|u| names.get(&u).cloned()),
        close_proposal: rows::proposal(c, case.id)?,
        contract,
        risk,
        industries,
        draw,
        shares,
        notes,
        findings: latest.into_values().collect(),
        evidence: rows::evidence(c, case.id)?,
        document_requests: {
            let today = crate::domain::oslo::local(now()).date();
            requests
                .into_iter()
                .map(|r| DocumentRequestView {
                    id: r.id,
                    documents: decode_list(&r.documents),
                    note: r.note,
                    deadline: r.deadline,
                    requested_by: names.get(&r.requested_by_user_id).cloned(),
                    requested_at: r.requested_at,
                    received_by: r.received_by_user_id.and_then(|u| names.get(&u).cloned()),
                    overdue: r.received_at.is_none() && r.deadline < today,
                    received_at: r.received_at,
                })
                .collect()
        },
        events,
    })
}

/// Case `id` as `user` may see it: in full for Kemneren and the A-krim partners it is shared
/// with (a partner's read is audited as `case.read`), its status and outcome for the
/// innkjøper who owns the contract; 404 for anyone else, as for an id that does not exist.
pub fn show(c: &mut DbConn, user: &User, id: i64) -> Result<CaseView, CaseError> {
    match access(user) {
        CaseAccess::None => Err(CaseError::Forbidden),
        CaseAccess::OutcomesOfOwnContracts(owner) => {
            let case = rows::find(c, id)?.ok_or_else(|| not_found(id))?;
            let contract = rows::contract(c, case.contract_id)?.ok_or_else(|| not_found(id))?;
            if contract.owner_user_id != owner {
                return Err(not_found(id));
            }
            Ok(CaseView::Outcome(CaseOutcome {
                id: case.id,
                contract_id: contract.id,
                contract_no: contract.contract_no,
                status: case.status,
                outcome: case.outcome,
            }))
        }
        a @ CaseAccess::All => {
            let (case, shares) = visible(c, a, id)?;
            Ok(CaseView::Detail(Box::new(detail(c, case, shares)?)))
        }
        a @ CaseAccess::Agency(agency) => write_tx(c, |c| {
            // Read and audited in one transaction: what was shown is what was logged.
            let (case, shares) = visible(c, a, id)?;
            let d = detail(c, case, shares)?;
            audit_case(c, user, "case.read", id, json!({"agency": agency}))?;
            Ok(CaseView::Detail(Box::new(d)))
        }),
    }
}

/// Runs one change of case `id` by a reviewer who sees it: `f` gets the case, its current
/// state and the time, and returns the audit action and detail. The case is returned as it
/// is after the change.
fn change(
    c: &mut DbConn,
    user: &User,
    id: i64,
    f: impl FnOnce(
        &mut DbConn,
        &CaseRow,
        CaseState,
        &[Agency],
        NaiveDateTime,
    ) -> Result<(&'static str, serde_json::Value), CaseError>,
) -> Result<CaseDetail, CaseError> {
    let a = reviewer(user)?;
    write_tx(c, |c| {
        let (case, shares) = visible(c, a, id)?;
        let state = state_of(c, &case)?;
        let at = now();
        let (action, detail_json) = f(c, &case, state, &parse_agencies(&shares), at)?;
        audit_case(c, user, action, id, detail_json)?;
        let (case, shares) = (
            rows::find(c, id)?.ok_or_else(|| not_found(id))?,
            rows::shares(c, id)?,
        );
        detail(c, case, shares)
    })
}

// ----------------------------------------------------------------------------- changing

/// Moves the status one step (`domain::case::set_status`), audited as `case.status`.
pub fn set_status(c: &mut DbConn, user: &User, id: i64, status: &str) -> Result<CaseDetail, CaseError> {
    let to = parse_status(status, "status")?;
    change(c, user, id, |c, case, state, _, at| {
        let step = rules::set_status(state, to)?;
        rows::set_state(c, id, step.to.as_str(), None, at)?;
        if step.withdraws_proposal {
            rows::delete_proposal(c, id)?;
            rows::insert_event(c, &event(id, user, at, "close_withdrawn"))?;
        }
        rows::insert_event(
            c,
            &NewEvent {
                status: Some(step.to.as_str()),
                ..event(id, user, at, "status")
            },
        )?;
        Ok((
            "case.status",
            json!({"from": case.status, "to": step.to, "proposal_withdrawn": step.withdraws_proposal}),
        ))
    })
}

/// Assigns the case to `username` (Kemneren, or an A-krim user of an agency it is shared
/// with), audited as `case.assign`.
pub fn assign(c: &mut DbConn, user: &User, id: i64, username: &str) -> Result<CaseDetail, CaseError> {
    change(c, user, id, |c, case, state, shares, at| {
        rules::check_open(state)?;
        let who = users::find_by_username(c, username)?
            .ok_or_else(|| FieldError::new("user", Problem::UnknownUser(username.trim().to_owned())))?;
        rules::check_assignee(&who.username, who.role, who.agency, who.disabled, shares)?;
        rows::set_assignee(c, id, who.id, at)?;
        rows::insert_event(
            c,
            &NewEvent {
                assignee_user_id: Some(who.id),
                ..event(id, user, at, "assign")
            },
        )?;
        let before = match case.assigned_to {
            Some(u) => rows::usernames(c, &[u])?.remove(&u),
            None => None,
        };
        Ok(("case.assign", json!({"from": before, "to": who.username})))
    })
}

/// Appends a note (non-empty, at most `domain::case::TEXT_MAX` characters; 422 naming
/// `text`), audited as `case.note`.
pub fn add_note(c: &mut DbConn, user: &User, id: i64, text: &str) -> Result<CaseDetail, CaseError> {
    let text = rules::check_text(text).map_err(|p| FieldError::new("text", p))?;
    change(c, user, id, |c, _, state, _, at| {
        rules::check_open(state)?;
        rows::insert_event(
            c,
            &NewEvent {
                text: Some(&text),
                ..event(id, user, at, "note")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok(("case.note", json!({"text": text})))
    })
}

/// Asks the supplier for `documents` by `deadline` (today or later, Oslo time), audited as
/// `case.document_request`. When the deadline passes with nothing received, one reminder
/// goes through the outbox (`service::notices::queue_document_reminders`).
pub fn request_documents(
    c: &mut DbConn,
    user: &User,
    id: i64,
    documents: &[String],
    deadline: chrono::NaiveDate,
    note: Option<&str>,
) -> Result<CaseDetail, CaseError> {
    let today = crate::domain::oslo::local(now()).date();
    let kinds = rules::check_document_request(documents, deadline, today)?;
    let note = note
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| rules::check_text(n).map_err(|p| FieldError::new("note", p)))
        .transpose()?;
    let list = format!(
        ",{},",
        kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
    );
    change(c, user, id, |c, _, state, _, at| {
        rules::check_open(state)?;
        let request = rows::insert_document_request(c, id, &list, note.as_deref(), deadline, user.id, at)?;
        let labels: Vec<&str> = kinds.iter().map(|k| k.label()).collect();
        let text = format!(
            "Ba om: {} innen {}",
            labels.join(", "),
            crate::domain::oslo::date(deadline)
        );
        rows::insert_event(
            c,
            &NewEvent {
                text: Some(&text),
                ..event(id, user, at, "document_requested")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok((
            "case.document_request",
            json!({"request": request, "documents": kinds, "deadline": deadline, "note": note}),
        ))
    })
}

/// Marks document request `request` of case `id` received, audited as
/// `case.document_received`; 404 for a request that is not open on this case.
pub fn documents_received(
    c: &mut DbConn,
    user: &User,
    id: i64,
    request: i64,
) -> Result<CaseDetail, CaseError> {
    change(c, user, id, |c, _, _, _, at| {
        if !rows::mark_document_received(c, id, request, user.id, at)? {
            return Err(CaseError::Db(DbError::NotFound(Missing::DocumentRequest(
                request,
            ))));
        }
        rows::insert_event(
            c,
            &NewEvent {
                text: Some("Dokumentene er mottatt"),
                ..event(id, user, at, "document_received")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok(("case.document_received", json!({"request": request})))
    })
}

/// Records a finding for one indicator of the rule set in force (the latest per indicator
/// wins; earlier ones stay in the history), audited as `case.finding`.
pub fn add_finding(
    c: &mut DbConn,
    user: &User,
    rule_set: &RuleSet,
    id: i64,
    indicator: &str,
    result: &str,
) -> Result<CaseDetail, CaseError> {
    let indicator = indicator.trim();
    if !rule_set.indicators().iter().any(|i| i.id == indicator) {
        return Err(FieldError::new("indicator", Problem::UnknownIndicator(indicator.to_owned())).into());
    }
    let result = result
        .parse::<FindingResult>()
        .map_err(|p| FieldError::new("result", p))?;
    change(c, user, id, |c, _, state, _, at| {
        rules::check_open(state)?;
        rows::insert_event(
            c,
            &NewEvent {
                indicator: Some(indicator),
                result: Some(result.as_str()),
                ..event(id, user, at, "finding")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok((
            "case.finding",
            json!({"indicator": indicator, "result": result, "rule_set_version": rule_set.version()}),
        ))
    })
}

/// Proposes closing the case with `outcome` (four eyes: another person confirms), audited
/// as `case.close_proposed`.
pub fn propose_close(c: &mut DbConn, user: &User, id: i64, outcome: &str) -> Result<CaseDetail, CaseError> {
    let outcome = outcome
        .parse::<Outcome>()
        .map_err(|p| FieldError::new("outcome", p))?;
    change(c, user, id, |c, _, state, _, at| {
        let p = rules::propose_close(state, outcome, user.id)?;
        rows::insert_proposal(c, id, p.outcome.as_str(), user.id, at)?;
        rows::insert_event(
            c,
            &NewEvent {
                outcome: Some(p.outcome.as_str()),
                ..event(id, user, at, "close_proposed")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok(("case.close_proposed", json!({"outcome": p.outcome})))
    })
}

/// Confirms the pending proposal; the case becomes `lukket` with its outcome. The proposer
/// cannot confirm (409). Audited as `case.close_confirmed`.
pub fn confirm_close(c: &mut DbConn, user: &User, id: i64) -> Result<CaseDetail, CaseError> {
    change(c, user, id, |c, _, state, _, at| {
        let proposed_by = state.proposal.map(|p| p.proposed_by);
        let outcome = rules::confirm_close(state, user.id)?;
        rows::delete_proposal(c, id)?;
        rows::set_state(c, id, CaseStatus::Lukket.as_str(), Some(outcome.as_str()), at)?;
        rows::insert_event(
            c,
            &NewEvent {
                status: Some(CaseStatus::Lukket.as_str()),
                outcome: Some(outcome.as_str()),
                ..event(id, user, at, "close_confirmed")
            },
        )?;
        let proposer = match proposed_by {
            Some(u) => rows::usernames(c, &[u])?.remove(&u),
            None => None,
        };
        Ok((
            "case.close_confirmed",
            json!({"outcome": outcome, "proposed_by": proposer}),
        ))
    })
}

/// Reopens a closed case with a reason (422 naming `reason` when empty); it goes back to
/// `under_vurdering` and loses its outcome (kept in the history). Audited as `case.reopen`.
pub fn reopen(c: &mut DbConn, user: &User, id: i64, reason: &str) -> Result<CaseDetail, CaseError> {
    change(c, user, id, |c, case, state, _, at| {
        let (reason, to) = rules::reopen(state, reason)?;
        rows::set_state(c, id, to.as_str(), None, at)?;
        rows::insert_event(
            c,
            &NewEvent {
                status: Some(to.as_str()),
                text: Some(&reason),
                ..event(id, user, at, "reopen")
            },
        )?;
        Ok((
            "case.reopen",
            json!({"reason": reason, "outcome_was": case.outcome, "to": to}),
        ))
    })
}

fn require_sharer(user: &User) -> Result<(), CaseError> {
    if !user.disabled && user.role.may(Permission::ShareCases) {
        Ok(())
    } else {
        Err(CaseError::Forbidden)
    }
}

/// Shares the case with `agency` (Kemneren), audited as `case.share`.
pub fn share(c: &mut DbConn, user: &User, id: i64, agency: &str) -> Result<CaseDetail, CaseError> {
    require_sharer(user)?;
    let agency = parse_agency(agency)?;
    change(c, user, id, |c, _, _, _, at| {
        if !rows::insert_share(c, id, agency.as_str(), at)? {
            return Err(WorkflowError::AlreadyShared(agency).into());
        }
        rows::insert_event(
            c,
            &NewEvent {
                agency: Some(agency.as_str()),
                ..event(id, user, at, "share")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok(("case.share", json!({"agency": agency})))
    })
}

/// Stops sharing the case with `agency` (Kemneren), audited as `case.unshare`. The
/// agency's partners then get 404 for it, as for any case they cannot see.
pub fn unshare(c: &mut DbConn, user: &User, id: i64, agency: &str) -> Result<CaseDetail, CaseError> {
    require_sharer(user)?;
    let agency = parse_agency(agency)?;
    change(c, user, id, |c, _, _, _, at| {
        if !rows::delete_share(c, id, agency.as_str())? {
            return Err(WorkflowError::NotShared(agency).into());
        }
        rows::insert_event(
            c,
            &NewEvent {
                agency: Some(agency.as_str()),
                ..event(id, user, at, "unshare")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok(("case.unshare", json!({"agency": agency})))
    })
}

// ----------------------------------------------------------------------------- publishing

/// Shares the cases a draw round just opened: each with the agencies of the active liaisons
/// who cover its contract's risk industries, or with every agency that has an active liaison
/// when none covers it (`domain::case::share_agencies`). Runs inside the draw's write
/// transaction; each share is a `share` event by the publisher. The draw's audit entry
/// counts them. Returns how many shares were made.
pub(crate) fn share_new_cases(
    c: &mut DbConn,
    new_cases: &[(i64, i64)],
    publisher: &User,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    let active: Vec<(Agency, Vec<String>)> = liaisons::list_active(c)?
        .into_iter()
        .map(|l| (l.agency, l.industries))
        .collect();
    if active.is_empty() || new_cases.is_empty() {
        return Ok(0);
    }
    let contract_ids: Vec<i64> = new_cases.iter().map(|(_, k)| *k).collect();
    let industries = rows::industries_of(c, &contract_ids)?;
    let mut pairs: Vec<(i64, &'static str)> = Vec::new();
    for (case_id, contract_id) in new_cases {
        let inds = industries
            .get(contract_id)
            .map(|s| decode_list(s))
            .unwrap_or_default();
        for agency in rules::share_agencies(&active, &inds) {
            pairs.push((*case_id, agency.as_str()));
        }
    }
    rows::insert_shares(c, &pairs, at)?;
    let events: Vec<NewEvent<'_>> = pairs
        .iter()
        .map(|(case_id, agency)| NewEvent {
            agency: Some(agency),
            ..event(*case_id, publisher, at, "share")
        })
        .collect();
    rows::insert_events(c, &events)?;
    Ok(pairs.len())
}

/// Opens a case (source `flag`) for each contract in `contract_ids` that never had one:
/// the contracts a scoring run just put into the highest tier. Shared as a drawn case is
/// (by the liaisons' industries); its events name the operations user, as the run's audit
/// entry names whoever started it. Runs inside the caller's write transaction; returns how
/// many were opened.
pub(crate) fn open_flag_cases(
    c: &mut DbConn,
    contract_ids: &[i64],
    actor: &crate::db::models::Actor,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    if contract_ids.is_empty() {
        return Ok(0);
    }
    let new = rows::contracts_without_flag_case(c, contract_ids)?;
    if new.is_empty() {
        return Ok(0);
    }
    let opened = rows::open_flag_cases(c, &new, at)?;
    let opener = crate::service::users::acting_user(c, actor, None)?;
    share_new_cases(c, &opened, &opener, at)?;
    Ok(opened.len())
}

/// Where the evidence of case `case_id` is kept: `<data dir>/evidence/<case id>/`.
fn evidence_dir(data_dir: &std::path::Path, case_id: i64) -> std::path::PathBuf {
    data_dir.join("evidence").join(case_id.to_string())
}

/// Adds an evidence file to case `id`: at most `domain::case::EVIDENCE_MAX_BYTES`, of a kind
/// found from its bytes (422 naming `file` otherwise), stored under the data folder named by
/// its SHA-256, the name people gave it cleaned; audited as `case.evidence`. The file is
/// written before the transaction: a failed transaction leaves an unreferenced file, never
/// a row without its file.
pub fn add_evidence(
    c: &mut DbConn,
    user: &User,
    data_dir: &std::path::Path,
    id: i64,
    file_name: &str,
    bytes: &[u8],
) -> Result<CaseDetail, CaseError> {
    if bytes.len() > rules::EVIDENCE_MAX_BYTES {
        return Err(FieldError::new(
            "file",
            Problem::FileTooLarge {
                max: rules::EVIDENCE_MAX_BYTES,
            },
        )
        .into());
    }
    let content_type =
        rules::evidence_type(bytes).ok_or_else(|| FieldError::new("file", Problem::FileType))?;
    let name = rules::clean_file_name(file_name);
    let sha = crate::sampling::sha256_hex_bytes(bytes);
    // Visible to this user at all? (Checked again in the transaction.)
    let a = reviewer(user)?;
    visible(c, a, id)?;
    let dir = evidence_dir(data_dir, id);
    let io =
        |e: std::io::Error| CaseError::Db(DbError::Corrupt(format!("evidence store {}: {e}", dir.display())));
    std::fs::create_dir_all(&dir).map_err(io)?;
    let tmp = dir.join(format!(".{sha}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, dir.join(&sha)).map_err(io)?;
    change(c, user, id, |c, _, state, _, at| {
        rules::check_open(state)?;
        rows::insert_evidence(c, id, &name, content_type, bytes.len() as i64, &sha, user.id, at)?;
        rows::insert_event(
            c,
            &NewEvent {
                text: Some(&name),
                ..event(id, user, at, "evidence_added")
            },
        )?;
        rows::touch(c, id, at)?;
        Ok((
            "case.evidence",
            json!({"file_name": name, "content_type": content_type, "size_bytes": bytes.len(), "sha256": sha}),
        ))
    })
}

/// The bytes of evidence `evidence` of case `id`, for a user who may see the case (404
/// otherwise, also for an id of another case's evidence); a partner's read is audited as
/// `case.evidence_read`.
pub fn evidence_file(
    c: &mut DbConn,
    user: &User,
    data_dir: &std::path::Path,
    id: i64,
    evidence: i64,
) -> Result<(rows::EvidenceRow, Vec<u8>), CaseError> {
    let a = reviewer(user)?;
    visible(c, a, id)?;
    let row = rows::evidence_item(c, id, evidence)?
        .ok_or(CaseError::Db(DbError::NotFound(Missing::Evidence(evidence))))?;
    let path = evidence_dir(data_dir, id).join(&row.sha256);
    let bytes = std::fs::read(&path).map_err(|e| {
        CaseError::Db(DbError::Corrupt(format!(
            "evidence {evidence} ({}): {e}",
            path.display()
        )))
    })?;
    if crate::sampling::sha256_hex_bytes(&bytes) != row.sha256 {
        return Err(CaseError::Db(DbError::Corrupt(format!(
            "evidence {evidence} does not match its SHA-256"
        ))));
    }
    if matches!(a, CaseAccess::Agency(_)) {
        write_tx(c, |c| {
            audit_case(
                c,
                user,
                "case.evidence_read",
                id,
                json!({"evidence": evidence, "sha256": row.sha256}),
            )
        })?;
    }
    Ok((row, bytes))
}

// ----------------------------------------------------------------------------- the case page

/// Everything the case page (`/cases/{id}`) shows someone who works the case.
#[derive(Debug)]
pub struct CaseWorkbench {
    pub case: CaseDetail,
    /// The supplier's register facts (with their fetch times) and approval statuses; `None`
    /// when the supplier has no row (never looked up).
    pub supplier: Option<crate::service::suppliers::SupplierView>,
    /// The contract's newest assessment, explained with the rules it was made with.
    pub current: Option<crate::service::scoring::ExplainedAssessment>,
    /// The assessment in force when the case was opened: the explanation the case was
    /// drawn or flagged on, frozen.
    pub at_opening: Option<crate::service::scoring::ExplainedAssessment>,
    /// Who may be given the case: Kemneren and the enabled A-krim partners of the agencies
    /// it is shared with (`domain::case::check_assignee`), by user name.
    pub assignees: Vec<String>,
}

/// The case page's view: the workbench, or the outcome an innkjøper may see.
#[derive(Debug)]
pub enum CasePageView {
    Work(Box<CaseWorkbench>),
    Outcome(CaseOutcome),
}

/// Case `id` for its page: [`show`] (same access, same audit), and for those who work it,
/// the supplier's register facts, the assessment now and when the case was opened, and
/// whom it may be assigned to.
pub fn workbench(
    c: &mut DbConn,
    user: &User,
    active: &std::sync::Arc<RuleSet>,
    id: i64,
) -> Result<CasePageView, CaseError> {
    use crate::service::scoring;
    let d = match show(c, user, id)? {
        CaseView::Outcome(o) => return Ok(CasePageView::Outcome(o)),
        CaseView::Detail(d) => d,
    };
    let supplier = match crate::service::suppliers::show(c, &d.contract.orgnr) {
        Ok(v) => Some(v),
        Err(DbError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let history = crate::db::models::assessments::contract_history(c, d.contract.id)?;
    // An explanation that no longer reads is logged and left out: the case stays workable.
    let mut reader = crate::db::models::assessments::ExplanationReader::new();
    let mut explain = |row: &crate::db::models::assessments::AssessmentRow| {
        let rules = scoring::rule_set_of_version(c, active, &row.rule_set_version)?;
        match scoring::explain(c, &mut reader, row, rules.as_deref()) {
            Ok(a) => Ok(Some(a)),
            Err(DbError::Corrupt(m)) => {
                tracing::warn!(case = id, assessment = row.id, error = %m, "assessment not shown");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    };
    let current = history.first().map(&mut explain).transpose()?.flatten();
    let at_opening = history
        .iter()
        .find(|r| r.assessed_at <= d.created_at)
        .map(&mut explain)
        .transpose()?
        .flatten();
    let shares = parse_agencies(&d.shares);
    let assignees = users::list(c)?
        .into_iter()
        .filter(|u| rules::check_assignee(&u.username, u.role, u.agency, u.disabled, &shares).is_ok())
        .map(|u| u.username)
        .collect();
    Ok(CasePageView::Work(Box::new(CaseWorkbench {
        case: *d,
        supplier,
        current,
        at_opening,
        assignees,
    })))
}

/// Every case of the list `q` asks for (all pages), for an export of the queue.
pub fn list_all(
    c: &mut DbConn,
    user: &User,
    q: &CaseQuery,
    opts: &QueueOptions,
) -> Result<Vec<CaseListItem>, CaseError> {
    let mut out = Vec::new();
    let mut q = CaseQuery {
        page: 1,
        per_page: crate::domain::paging::MAX_PER_PAGE,
        ..q.clone()
    };
    loop {
        let page = list_queue(c, user, &q, opts)?;
        let n = page.items.len() as i64;
        out.extend(page.items);
        // Not `page.total`: a count stops at 10 000, the list does not.
        if n < q.per_page {
            return Ok(out);
        }
        q.page += 1;
    }
}
