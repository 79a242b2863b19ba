//! Suppliers: what the register says about them (bulk files, single look-ups on request),
//! the approval registers, and the views the API and pages show.

use serde::Serialize;

use crate::db::models::audit::{self, Event};
use crate::db::models::{Actor, suppliers};
use crate::db::{DbConn, DbError, write_tx};

/// Loads a register bulk file (JSON array, gzipped or not, or the CSV dump) into the register
/// history, streamed, in one transaction: only our suppliers unless `all`. Their jobs count
/// as freshly done.
pub fn load_bulk<R: std::io::Read>(
    conn: &mut crate::db::DbConn,
    reader: R,
    csv: bool,
    all: bool,
    actor: &Actor,
    file_name: &str,
) -> Result<crate::brreg::bulk::BulkStats, DbError> {
    use diesel::prelude::*;

    use crate::brreg::UnitFacts;
    use crate::db::models::suppliers::{SOURCE_BULK_CSV, SOURCE_BULK_JSON};
    use crate::db::schema::{enrichment_jobs, register_facts, suppliers};

    const BATCH: usize = 1000;
    let ours: std::collections::HashSet<String> = suppliers::table
        .select(suppliers::orgnr)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let source = if csv { SOURCE_BULK_CSV } else { SOURCE_BULK_JSON };
    let at = crate::db::models::now();

    fn flush(
        c: &mut crate::db::DbConn,
        buf: &mut Vec<UnitFacts>,
        source: &str,
        at: chrono::NaiveDateTime,
    ) -> Result<(), DbError> {
        if buf.is_empty() {
            return Ok(());
        }
        let jsons: Vec<String> = buf
            .iter()
            .map(|u| serde_json::to_string(u).unwrap_or_default())
            .collect();
        let rows: Vec<_> = buf
            .iter()
            .zip(&jsons)
            .map(|(u, j)| {
                (
                    register_facts::orgnr.eq(u.orgnr.as_str()),
                    register_facts::source.eq(source),
                    register_facts::outcome.eq(if u.deleted_date.is_some() {
                        "deleted"
                    } else {
                        "active"
                    }),
                    register_facts::facts.eq(Some(j.as_str())),
                    register_facts::fetched_at.eq(at),
                    register_facts::created_at.eq(at),
                )
            })
            .collect();
        crate::db::cached_insert::insert_rows!(&mut *c, register_facts::table, rows);
        let orgnrs: Vec<&str> = buf.iter().map(|u| u.orgnr.as_str()).collect();
        diesel::update(enrichment_jobs::table.filter(enrichment_jobs::orgnr.eq_any(&orgnrs)))
            .set((
                enrichment_jobs::state.eq("done"),
                enrichment_jobs::attempts.eq(0),
                enrichment_jobs::last_success_at.eq(Some(at)),
                enrichment_jobs::last_error.eq(None::<String>),
                enrichment_jobs::updated_at.eq(at),
            ))
            .execute(c)?;
        buf.clear();
        Ok(())
    }

    crate::db::write_tx(conn, |c| {
        let mut buf: Vec<UnitFacts> = Vec::with_capacity(BATCH);
        let only = (!all).then_some(&ours);
        let mut on_unit = |u: UnitFacts| -> Result<(), DbError> {
            buf.push(u);
            if buf.len() >= BATCH {
                flush(c, &mut buf, source, at)?;
            }
            Ok(())
        };
        let stats = if csv {
            crate::brreg::bulk::read_csv(reader, only, &mut on_unit)
        } else {
            crate::brreg::bulk::read_json_gz(reader, only, &mut on_unit)
        }
        .map_err(|e| match e {
            crate::brreg::bulk::BulkError::Callback { error, .. } => error,
            other => DbError::Invalid(other.to_string()),
        })?;
        flush(c, &mut buf, source, at)?;
        audit::append(
            c,
            actor,
            Event {
                action: "brreg.bulk_load",
                object_type: "register_file",
                object_id: file_name,
                detail: serde_json::json!({"source": source, "all": all, "read": stats.read,
                    "stored": stats.delivered, "rejected": stats.rejected}),
            },
        )?;
        Ok(stats)
    })
}

/// The register facts as shown: where they came from and when.
#[derive(Debug, Serialize)]
pub struct FactsView {
    pub source: String,
    pub outcome: String,
    pub fetched_at: chrono::NaiveDateTime,
    pub unit: Option<crate::brreg::UnitFacts>,
}

impl From<suppliers::FactsRow> for FactsView {
    fn from(r: suppliers::FactsRow) -> Self {
        FactsView {
            unit: r.unit_facts(),
            source: r.source,
            outcome: r.outcome,
            fetched_at: r.fetched_at,
        }
    }
}

/// A supplier with its newest register facts (and its main unit's), approval statuses and
/// enrichment state.
#[derive(Debug, Serialize)]
pub struct SupplierView {
    pub orgnr: String,
    pub name: String,
    pub enrichment: Option<suppliers::Job>,
    pub facts: Option<FactsView>,
    pub parent: Option<FactsView>,
    pub approvals: Vec<suppliers::ApprovalStatus>,
}

fn no_supplier(orgnr: &str) -> DbError {
    DbError::NotFound(crate::db::Missing::Supplier(orgnr.to_owned()))
}

/// One supplier, by canonical org number.
pub fn show(conn: &mut DbConn, orgnr: &str) -> Result<SupplierView, DbError> {
    let name = suppliers::supplier_name(conn, orgnr)?.ok_or_else(|| no_supplier(orgnr))?;
    let facts = suppliers::latest_facts(conn, orgnr)?;
    let parent_orgnr = facts
        .as_ref()
        .and_then(|f| f.unit_facts())
        .and_then(|u| u.parent_orgnr);
    let parent = match &parent_orgnr {
        Some(p) => suppliers::latest_facts(conn, p)?,
        None => None,
    };
    Ok(SupplierView {
        approvals: suppliers::approvals(conn, orgnr, parent_orgnr.as_deref())?,
        enrichment: suppliers::job(conn, orgnr)?,
        facts: facts.map(FactsView::from),
        parent: parent.map(FactsView::from),
        orgnr: orgnr.to_owned(),
        name,
    })
}

/// Suppliers in org number order, by page or after a cursor.
pub fn list(
    conn: &mut DbConn,
    page: i64,
    per_page: i64,
    after: Option<&str>,
) -> Result<suppliers::SupplierList, DbError> {
    suppliers::list_suppliers(conn, page, per_page, after)
}

/// Queues a fresh look-up of a supplier now (audited); returns its job.
pub fn refresh(conn: &mut DbConn, actor: &Actor, orgnr: &str) -> Result<Option<suppliers::Job>, DbError> {
    suppliers::supplier_name(conn, orgnr)?.ok_or_else(|| no_supplier(orgnr))?;
    write_tx(conn, |c| {
        suppliers::enqueue(c, &[orgnr.to_owned()])?;
        audit::append(
            c,
            actor,
            Event {
                action: "supplier.refresh",
                object_type: "supplier",
                object_id: orgnr,
                detail: serde_json::json!({}),
            },
        )
    })?;
    suppliers::job(conn, orgnr)
}

/// Queues look-ups for `orgnrs` (new ones are added; known ones are made due now).
pub fn enqueue(conn: &mut DbConn, orgnrs: &[String]) -> Result<usize, DbError> {
    suppliers::enqueue(conn, orgnrs)
}

/// Queues every supplier whose facts are older than `max_age`.
pub fn requeue_stale(conn: &mut DbConn, max_age: chrono::Duration) -> Result<usize, DbError> {
    suppliers::requeue_stale(conn, max_age)
}

/// Look-up jobs per state.
pub fn job_counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    suppliers::job_counts(conn)
}

/// Stores one dated load of an approval register file (audited); returns the load's id.
pub fn load_approvals(
    conn: &mut DbConn,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
    parsed: &crate::brreg::approvals::ApprovalFile,
) -> Result<i64, DbError> {
    let sha = crate::domain::digest::sha256_hex(bytes);
    write_tx(conn, |c| {
        let load_id = suppliers::insert_approval_load(c, actor, file_name, &sha, parsed)?;
        audit::append(
            c,
            actor,
            Event {
                action: "approvals.load",
                object_type: "approval_load",
                object_id: &load_id.to_string(),
                detail: serde_json::json!({"register": parsed.register.as_str(), "file_name": file_name,
                    "sha256": sha, "entries": parsed.entries.len(), "rejected": parsed.rejected.len(),
                    "file_date": parsed.file_date}),
            },
        )?;
        Ok(load_id)
    })
}
