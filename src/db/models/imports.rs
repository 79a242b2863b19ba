//! Storing an import: the batch record, its row errors, suppliers (upserted by org number)
//! and contracts (a new version whenever a register says something new about them), all in
//! one transaction with the audit entry. A re-upload of the same bytes by the same uploader
//! is recognised by SHA-256 and stores nothing; someone else's upload of them is their own.
//!
//! Contracts are created and updated within the uploader's [`ContractScope`]: a row whose
//! contract number another owner holds is refused as a row error that says nothing about
//! that contract, and counts as rejected, never as created, updated or unchanged.
//!
//! Rows are stored while the file is still being read ([`BatchWriter`], fed by
//! `service::imports::import_register`), so a large register is never held in memory whole and storing
//! overlaps parsing.

use std::collections::HashMap;

use crate::domain::digest::sha256_hex;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sqlite::Sqlite;
use serde::Serialize;

use super::assessments::ContractInputRow;
use super::now;
use super::users::User;
use crate::db::cached_insert::insert_rows;
use crate::db::schema::{
    contract_versions, contracts, import_batches, import_errors, import_mappings, import_staged_updates,
    suppliers,
};
use crate::db::sqlite_raw::{insert_rows_of, raw_row};
use crate::db::{DbConn, DbError};
use crate::domain::ownership::ContractScope;
use crate::import::{CellProblem, ColumnMapping, ContractRow, Field, ParsedRegister, RowError};

/// Keys per `IN` look-up: 1 000 stays under both backends' bind limits.
const CHUNK: usize = 1000;

/// The uploaded file, as received.
#[derive(Debug, Clone)]
pub struct UploadMeta {
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: i64,
}

impl UploadMeta {
    /// The name, checksum and size of `file` (a file on disk is hashed as it streams by).
    pub fn of(
        file_name: &str,
        file: crate::import::RegisterFile<'_>,
    ) -> Result<Self, crate::import::ImportError> {
        Ok(UploadMeta {
            file_name: file_name.to_owned(),
            sha256: file.sha256_hex()?,
            size_bytes: file.len() as i64,
        })
    }
}

/// The import report shown to the uploader (API, CLI, web).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub batch_id: Option<i64>,
    pub rows_total: u64,
    pub rows_imported: u64,
    pub rows_rejected: u64,
    pub errors: Vec<RowError>,
    /// True when these exact bytes were imported before (`batch_id` is that batch).
    pub already_imported: bool,
    pub file_name: String,
    pub sha256: String,
    pub format: String,
    pub sheet: String,
    pub header_row: i32,
    /// Which column each field was read from: `{"supplier_name": "Firma", …}`.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub mapping: ColumnMapping,
    pub contracts_created: u64,
    pub contracts_updated: u64,
    pub contracts_unchanged: u64,
    pub suppliers_created: u64,
}

impl ImportReport {
    /// The report of a file that was read but not stored (`--dry-run`).
    pub fn dry_run(meta: &UploadMeta, parsed: &ParsedRegister) -> Self {
        ImportReport {
            batch_id: None,
            rows_total: parsed.rows_total,
            rows_imported: parsed.rows.len() as u64,
            rows_rejected: parsed.rows_rejected,
            errors: parsed.errors.clone(),
            already_imported: false,
            file_name: meta.file_name.clone(),
            sha256: meta.sha256.clone(),
            format: parsed.format.to_string(),
            sheet: parsed.sheet.clone(),
            header_row: parsed.header_row as i32,
            mapping: parsed.mapping.clone(),
            contracts_created: 0,
            contracts_updated: 0,
            contracts_unchanged: 0,
            suppliers_created: 0,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = import_batches)]
pub struct BatchRow {
    pub id: i64,
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub format: String,
    pub sheet: String,
    pub header_row: i32,
    pub mapping: String,
    pub uploader_id: i64,
    pub created_at: chrono::NaiveDateTime,
    pub rows_total: i64,
    pub rows_imported: i64,
    pub rows_rejected: i64,
    pub contracts_created: i64,
    pub contracts_updated: i64,
    pub contracts_unchanged: i64,
    pub suppliers_created: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_errors)]
struct ErrorRow {
    sheet: String,
    row_number: i64,
    column_name: String,
    raw_value: String,
    message: String,
}

impl From<ErrorRow> for RowError {
    fn from(e: ErrorRow) -> Self {
        RowError {
            sheet: e.sheet,
            row: u32::try_from(e.row_number).unwrap_or(u32::MAX),
            column: e.column_name,
            value: e.raw_value,
            message: e.message,
        }
    }
}

/// What one register row says about a contract, in a fixed field order: its JSON is stored
/// with each version and its SHA-256 tells whether a later register says something new.
#[derive(Serialize)]
struct ContractData<'a> {
    contract_no: &'a str,
    title: Option<&'a str>,
    supplier_name: &'a str,
    orgnr: &'a str,
    category: Option<&'a str>,
    cpv: Option<&'a str>,
    value_ore: Option<i64>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    unit: Option<&'a str>,
    contract_manager: Option<&'a str>,
    subcontractor_levels: Option<i32>,
    extras: &'a [(String, String)],
}

fn contract_data(r: &ContractRow) -> ContractData<'_> {
    ContractData {
        contract_no: &r.contract_id,
        title: r.title.as_deref(),
        supplier_name: &r.supplier_name,
        orgnr: r.orgnr.as_str(),
        category: r.category.as_deref(),
        cpv: r.cpv.as_deref(),
        value_ore: r.value_ore,
        start_date: r.start_date,
        end_date: r.end_date,
        unit: r.unit.as_deref(),
        contract_manager: r.contract_manager.as_deref(),
        subcontractor_levels: r.subcontractor_levels,
        extras: &r.extras,
    }
}

/// Whether a contract row can say this version's data itself, so its `contract_versions`
/// row leaves `data` out while the version is current: the row keeps the unknown columns as
/// a JSON object with sorted keys, which gives back the register's pairs only when their
/// names were unique and in that order already (also when there were none).
fn data_in_contract_row(extras: &[(String, String)]) -> bool {
    extras.windows(2).all(|w| w[0].0 < w[1].0)
}

/// A contract's fields as its row stores them: what its current version's JSON is rebuilt
/// from when the `contract_versions` row leaves `data` out.
#[derive(Queryable, Selectable)]
#[diesel(table_name = contracts)]
struct StoredFields {
    id: i64,
    contract_no: String,
    title: Option<String>,
    supplier_name: String,
    orgnr: String,
    category: Option<String>,
    cpv: Option<String>,
    value_ore: Option<i64>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    unit: Option<String>,
    contract_manager: Option<String>,
    subcontractor_levels: Option<i32>,
    extras: String,
    version: i32,
    data_sha256: String,
}

/// The version JSON of `fields` with the unknown columns of `extras_json` (a stored JSON
/// object of strings) as the register's pairs in name order; `fields.extras` is not read.
fn rebuilt_version_json(fields: ContractData<'_>, extras_json: &str) -> Result<String, DbError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(extras_json)
        .map_err(|e| DbError::Corrupt(format!("a contract's extra columns are not a JSON object: {e}")))?;
    let extras = object
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(v) => Ok((k, v)),
            other => Err(DbError::Corrupt(format!(
                "a contract's extra column {k:?} holds {other}, not text"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data = ContractData {
        extras: &extras,
        ..fields
    };
    serde_json::to_string(&data).map_err(|e| DbError::Corrupt(e.to_string()))
}

impl StoredFields {
    /// The JSON of the contract's current version, checked against its SHA-256.
    fn current_version_json(&self) -> Result<String, DbError> {
        let fields = ContractData {
            contract_no: &self.contract_no,
            title: self.title.as_deref(),
            supplier_name: &self.supplier_name,
            orgnr: &self.orgnr,
            category: self.category.as_deref(),
            cpv: self.cpv.as_deref(),
            value_ore: self.value_ore,
            start_date: self.start_date,
            end_date: self.end_date,
            unit: self.unit.as_deref(),
            contract_manager: self.contract_manager.as_deref(),
            subcontractor_levels: self.subcontractor_levels,
            extras: &[],
        };
        let json = rebuilt_version_json(fields, &self.extras)?;
        if sha256_hex(json.as_bytes()) != self.data_sha256 {
            return Err(DbError::Corrupt(format!(
                "contract {} (version {}): its row no longer gives the JSON its SHA-256 was taken of",
                self.id, self.version
            )));
        }
        Ok(json)
    }
}

/// What the register row of version `version` of contract `contract_id` said, as the JSON
/// the version's SHA-256 was taken of: the version's own `data`, or, for a current version
/// that left both out, rebuilt from the contract row and checked against the row's
/// `data_sha256`. `None` when there is no such version.
pub fn version_data(conn: &mut DbConn, contract_id: i64, version: i32) -> Result<Option<String>, DbError> {
    let stored: Option<(Option<String>, Option<String>)> = contract_versions::table
        .filter(contract_versions::contract_id.eq(contract_id))
        .filter(contract_versions::version.eq(version))
        .select((contract_versions::data, contract_versions::data_sha256))
        .first(conn)
        .optional()?;
    let Some((data, sha)) = stored else {
        return Ok(None);
    };
    if let (Some(data), Some(_)) = (data, sha) {
        return Ok(Some(data));
    }
    let fields: StoredFields = contracts::table
        .find(contract_id)
        .select(StoredFields::as_select())
        .first(conn)?;
    if fields.version != version {
        return Err(DbError::Corrupt(format!(
            "version {version} of contract {contract_id} has no data of its own, yet the contract is at version {}",
            fields.version
        )));
    }
    fields.current_version_json().map(Some)
}

/// Writes the JSON of the current versions of the contracts in `current` (their stored
/// fields, by id) into their `contract_versions` rows where they left it out, before the
/// contracts change (in the same transaction).
fn keep_current_version_data(c: &mut DbConn, current: &HashMap<i64, StoredFields>) -> Result<(), DbError> {
    let ids: Vec<i64> = current.keys().copied().collect();
    let bare: Vec<(i64, i32)> = contract_versions::table
        .filter(contract_versions::contract_id.eq_any(&ids))
        .filter(contract_versions::data.is_null())
        .select((contract_versions::contract_id, contract_versions::version))
        .load(c)?;
    for (id, version) in bare {
        let f = current
            .get(&id)
            .filter(|f| f.version == version)
            .ok_or_else(|| {
                DbError::Corrupt(format!(
                    "version {version} of contract {id} has no data of its own and is not the contract's current one"
                ))
            })?;
        let json = f.current_version_json()?;
        diesel::update(
            contract_versions::table
                .filter(contract_versions::contract_id.eq(id))
                .filter(contract_versions::version.eq(version)),
        )
        .set((
            contract_versions::data.eq(json),
            contract_versions::data_sha256.eq(&f.data_sha256),
        ))
        .execute(c)?;
    }
    Ok(())
}

/// The batch in which `uploader` imported a file with these bytes, if any.
pub fn find_batch_by_sha(
    conn: &mut DbConn,
    uploader: i64,
    sha256: &str,
) -> Result<Option<BatchRow>, DbError> {
    Ok(import_batches::table
        .filter(import_batches::uploader_id.eq(uploader))
        .filter(import_batches::sha256.eq(sha256))
        .filter(import_batches::state.eq("done"))
        .select(BatchRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_batch(conn: &mut DbConn, id: i64) -> Result<Option<BatchRow>, DbError> {
    Ok(import_batches::table
        .find(id)
        .filter(import_batches::state.eq("done"))
        .select(BatchRow::as_select())
        .first(conn)
        .optional()?)
}

/// Batches, newest first; `uploader` limits to one person's (an innkjøper sees their own).
pub fn list_batches(conn: &mut DbConn, uploader: Option<i64>, limit: i64) -> Result<Vec<BatchRow>, DbError> {
    let mut q = import_batches::table
        .filter(import_batches::state.eq("done"))
        .into_boxed();
    if let Some(u) = uploader {
        q = q.filter(import_batches::uploader_id.eq(u));
    }
    Ok(q.order(import_batches::id.desc())
        .limit(limit)
        .select(BatchRow::as_select())
        .load(conn)?)
}

pub fn batch_errors(conn: &mut DbConn, batch_id: i64) -> Result<Vec<RowError>, DbError> {
    Ok(import_errors::table
        .filter(import_errors::batch_id.eq(batch_id))
        .order(import_errors::id.asc())
        .select(ErrorRow::as_select())
        .load(conn)?
        .into_iter()
        .map(RowError::from)
        .collect())
}

/// The report of a stored batch.
pub fn batch_report(
    conn: &mut DbConn,
    b: &BatchRow,
    already_imported: bool,
) -> Result<ImportReport, DbError> {
    Ok(ImportReport {
        batch_id: Some(b.id),
        rows_total: b.rows_total as u64,
        rows_imported: b.rows_imported as u64,
        rows_rejected: b.rows_rejected as u64,
        errors: batch_errors(conn, b.id)?,
        already_imported,
        file_name: b.file_name.clone(),
        sha256: b.sha256.clone(),
        format: b.format.clone(),
        sheet: b.sheet.clone(),
        header_row: b.header_row,
        mapping: serde_json::from_str(&b.mapping).unwrap_or_default(),
        contracts_created: b.contracts_created as u64,
        contracts_updated: b.contracts_updated as u64,
        contracts_unchanged: b.contracts_unchanged as u64,
        suppliers_created: b.suppliers_created as u64,
    })
}

/// The report of batch `id`, if `uploader_scope` (an innkjøper's own id; `None` for
/// Kemneren) may see it. A batch outside the scope is reported as not found.
pub fn visible_batch_report(
    conn: &mut DbConn,
    id: i64,
    uploader_scope: Option<i64>,
) -> Result<ImportReport, DbError> {
    let batch = find_batch(conn, id)?
        .filter(|b| uploader_scope.is_none_or(|u| b.uploader_id == u))
        .ok_or_else(|| DbError::NotFound(crate::db::Missing::ImportBatch(id)))?;
    batch_report(conn, &batch, false)
}

/// The mapping this user last gave by hand, if any.
pub fn remembered_mapping(conn: &mut DbConn, user_id: i64) -> Result<Option<ColumnMapping>, DbError> {
    let text: Option<String> = import_mappings::table
        .find(user_id)
        .select(import_mappings::mapping)
        .first(conn)
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// The row errors of rows refused because their contract number belongs to a contract
/// outside the uploader's scope, merged into `parsed` in file order; the rows count as
/// rejected. `refused` is (row, contract number) in file order. The message names neither
/// the contract nor its owner: only that the number is taken and whom to ask.
fn add_refusals(parsed: &mut ParsedRegister, refused: Vec<(u32, String)>) {
    if refused.is_empty() {
        return;
    }
    let column = parsed
        .mapping
        .get(Field::ContractId)
        .map_or_else(|| Field::ContractId.label_nb().to_owned(), str::to_owned);
    let message = CellProblem::ContractOwnedElsewhere.to_string();
    parsed.rows_rejected += refused.len() as u64;
    let refusals = refused.into_iter().map(|(row, number)| RowError {
        sheet: parsed.sheet.clone(),
        row,
        column: column.clone(),
        value: number,
        message: message.clone(),
    });
    // The parser's errors are in file order and a refused row has none of its own (it was
    // accepted), so a stable sort by row keeps each row's errors together and in order.
    parsed.errors.extend(refusals);
    parsed.errors.sort_by_key(|e| e.row);
}

/// For a dry run: takes the rows that an import within `scope` would refuse out of
/// `parsed.rows` and reports them as [`BatchWriter`] would, so the preview matches the import.
pub fn refuse_rows_outside_scope(
    conn: &mut DbConn,
    scope: ContractScope,
    parsed: &mut ParsedRegister,
) -> Result<(), DbError> {
    let Some(owner) = scope.owner_filter() else {
        return Ok(());
    };
    let mut foreign: std::collections::HashSet<String> = std::collections::HashSet::new();
    let numbers: Vec<&str> = parsed.rows.iter().map(|r| r.contract_id.as_str()).collect();
    for part in numbers.chunks(CHUNK) {
        let found: Vec<String> = contracts::table
            .filter(contracts::contract_no.eq_any(part))
            .filter(contracts::owner_user_id.ne(owner))
            .select(contracts::contract_no)
            .load(conn)?;
        foreign.extend(found);
    }
    if foreign.is_empty() {
        return Ok(());
    }
    let (refused, kept): (Vec<ContractRow>, Vec<ContractRow>) = std::mem::take(&mut parsed.rows)
        .into_iter()
        .partition(|r| foreign.contains(&r.contract_id));
    parsed.rows = kept;
    add_refusals(
        parsed,
        refused.into_iter().map(|r| (r.row, r.contract_id)).collect(),
    );
    Ok(())
}

/// One accepted row with what storing it needs beyond its fields, computed once: the JSON
/// and SHA-256 of its version, and its unknown columns as a JSON object.
struct PreparedRow {
    row: ContractRow,
    data_json: String,
    data_sha256: String,
    extras_json: String,
    /// The contract row gives back `data_json` ([`data_in_contract_row`]).
    data_in_row: bool,
}

impl PreparedRow {
    fn new(row: ContractRow) -> Self {
        let data_json = serde_json::to_string(&contract_data(&row)).unwrap_or_default();
        let data_sha256 = sha256_hex(data_json.as_bytes());
        // A JSON object: keys sorted, a repeated header keeps its last value.
        let extras_json = if row.extras.is_empty() {
            "{}".to_owned()
        } else {
            let extras: serde_json::Map<String, serde_json::Value> = row
                .extras
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                .collect();
            serde_json::Value::Object(extras).to_string()
        };
        PreparedRow {
            data_in_row: data_in_contract_row(&row.extras),
            row,
            data_json,
            data_sha256,
            extras_json,
        }
    }
}

impl PreparedRow {
    /// The contract as the rules read it once stored as `id` at `version`, made of the row
    /// itself (its texts moved, not copied: the row is done with once stored).
    fn into_input(self, id: i64, version: i32) -> ContractInputRow {
        let x = self.row;
        ContractInputRow {
            id,
            contract_no: x.contract_id,
            title: x.title,
            orgnr: x.orgnr.into_string(),
            category: x.category,
            cpv: x.cpv,
            value_ore: x.value_ore,
            start_date: x.start_date,
            end_date: x.end_date,
            unit: x.unit,
            subcontractor_levels: x.subcontractor_levels,
            extras: self.extras_json,
            version,
            data_sha256: self.data_sha256,
        }
    }
}

/// A chunk of accepted rows ready for [`BatchWriter::add_rows`]. Preparing is pure CPU work
/// (JSON, SHA-256), so it can run on whichever thread has time for it: the import's reading
/// thread does it, because storing is the busier side.
pub struct PreparedRows(Vec<PreparedRow>);

impl PreparedRows {
    pub fn new(rows: Vec<ContractRow>) -> Self {
        PreparedRows(rows.into_iter().map(PreparedRow::new).collect())
    }
}

#[derive(Default)]
struct StoreCounts {
    imported: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
    suppliers_created: u64,
}

/// A supplier this batch has met: the name stored for it now, and the latest name the file
/// gives it (which wins at the end, see [`BatchWriter::finish`]).
struct SeenSupplier {
    id: i64,
    stored_name: String,
    latest_name: String,
}

/// Where the ids of new rows come from. Allocating them here, instead of letting the
/// database choose and reading them back, saves a look-up per chunk.
enum IdSource {
    /// SQLite: counting on from the largest id, read when the batch began. The batch holds
    /// the database's write lock ([`write_tx`](crate::db::write_tx)), so no one else inserts meanwhile.
    Next(i64),
    /// PostgreSQL: the table's identity sequence, a chunk at a time, which stays right beside
    /// any writer that does not take our lock.
    Sequence(&'static str),
}

#[derive(QueryableByName)]
struct NewId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

impl IdSource {
    fn take(&mut self, conn: &mut DbConn, n: usize) -> Result<Vec<i64>, DbError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        match self {
            IdSource::Next(next) => {
                let first = *next;
                *next += n as i64;
                Ok((first..*next).collect())
            }
            IdSource::Sequence(table) => {
                use diesel::sql_types::{BigInt, Text};
                let DbConn::Postgresql(pg) = conn else {
                    return Err(DbError::Corrupt("id sequence outside PostgreSQL".into()));
                };
                // The sequence is looked up once (`OFFSET 0` keeps the planner from calling
                // `pg_get_serial_sequence` again for every id: ten times slower).
                let ids = diesel::sql_query(
                    "SELECT nextval(q.seq) AS id \
                     FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq OFFSET 0) q, generate_series(1, $2)",
                )
                .bind::<Text, _>(*table)
                .bind::<BigInt, _>(n as i64)
                .load::<NewId>(pg)?;
                Ok(ids.into_iter().map(|r| r.id).collect())
            }
        }
    }
}

/// The batch's time as bound for every row it writes. SQLite keeps timestamps as text and
/// diesel would render the same instant with chrono's strftime for each row and column
/// (about a tenth of the store's time on a large register), so it is rendered once here.
#[derive(Debug, diesel::expression::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Timestamp)]
struct BatchTime {
    at: NaiveDateTime,
    /// `at` exactly as diesel writes a `NaiveDateTime` for SQLite.
    sqlite_text: String,
}

impl BatchTime {
    fn new(at: NaiveDateTime) -> Self {
        BatchTime {
            at,
            sqlite_text: at.format("%F %T%.f").to_string(),
        }
    }
}

impl ToSql<diesel::sql_types::Timestamp, Sqlite> for BatchTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> diesel::serialize::Result {
        out.set_value(self.sqlite_text.as_str());
        Ok(IsNull::No)
    }
}

impl ToSql<diesel::sql_types::Timestamp, Pg> for BatchTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        ToSql::<diesel::sql_types::Timestamp, Pg>::to_sql(&self.at, out)
    }
}

/// A contract date as bound on insert. For SQLite it is written as diesel writes a
/// `NaiveDate` (`%F`), through chrono's `Display`, which gives the same text without parsing
/// a format string for every cell.
#[derive(Debug, Clone, Copy, diesel::expression::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Date)]
struct SqlDate(NaiveDate);

impl ToSql<diesel::sql_types::Date, Sqlite> for SqlDate {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> diesel::serialize::Result {
        out.set_value(self.0.to_string());
        Ok(IsNull::No)
    }
}

impl ToSql<diesel::sql_types::Date, Pg> for SqlDate {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        ToSql::<diesel::sql_types::Date, Pg>::to_sql(&self.0, out)
    }
}

/// What every row a chunk writes shares: its batch, the batch's time and the owner of the
/// contracts it creates.
struct StoredAs<'a> {
    batch_id: i64,
    at: &'a BatchTime,
    owner: i64,
}

/// A contract a chunk creates, as inserted.
struct NewContract<'a> {
    id: i64,
    supplier_id: i64,
    row: &'a PreparedRow,
    stored: &'a StoredAs<'a>,
}

raw_row!(contracts, NewContract<'_>, |c, b| {
    id: int(c.id),
    contract_no: text(&c.row.row.contract_id),
    title: opt_text(c.row.row.title.as_deref()),
    supplier_id: int(c.supplier_id),
    supplier_name: text(&c.row.row.supplier_name),
    orgnr: text(c.row.row.orgnr.as_str()),
    category: opt_text(c.row.row.category.as_deref()),
    cpv: opt_text(c.row.row.cpv.as_deref()),
    value_ore: opt_int(c.row.row.value_ore),
    start_date: opt_date(c.row.row.start_date),
    end_date: opt_date(c.row.row.end_date),
    unit: opt_text(c.row.row.unit.as_deref()),
    contract_manager: opt_text(c.row.row.contract_manager.as_deref()),
    subcontractor_levels: opt_int(c.row.row.subcontractor_levels.map(i64::from)),
    extras: text(&c.row.extras_json),
    version: int(1),
    data_sha256: text(&c.row.data_sha256),
    first_batch_id: int(c.stored.batch_id),
    last_batch_id: int(c.stored.batch_id),
    created_at: text(&c.stored.at.sqlite_text),
    updated_at: text(&c.stored.at.sqlite_text),
    owner_user_id: int(c.stored.owner),
});

/// The first version of a contract a chunk creates, as inserted.
struct FirstVersion<'a> {
    contract_id: i64,
    version: i32,
    row: &'a PreparedRow,
    stored: &'a StoredAs<'a>,
}

impl FirstVersion<'_> {
    /// The current version's data and hash are the contract row's own, unless the contract
    /// row cannot give them back ([`data_in_contract_row`]).
    fn own_data(&self) -> (Option<&str>, Option<&str>) {
        let r = self.row;
        if r.data_in_row {
            (None, None)
        } else {
            (Some(&r.data_json), Some(&r.data_sha256))
        }
    }
}

raw_row!(contract_versions, FirstVersion<'_>, |v, b| {
    contract_id: int(v.contract_id),
    version: int(i64::from(v.version)),
    batch_id: int(v.stored.batch_id),
    row_number: int(i64::from(v.row.row.row)),
    data: opt_text(v.own_data().0),
    data_sha256: opt_text(v.own_data().1),
    created_at: text(&v.stored.at.sqlite_text),
});

/// How [`begin_batch`] found the file.
pub enum Begun {
    /// These exact bytes were imported before: their report, nothing stored.
    AlreadyImported(ImportReport),
    /// A new batch, its record inserted (`staging`); feed it rows, then [`BatchWriter::finish`].
    New(BatchWriter),
}

/// Stores one import batch while its file is still being read: chunks of accepted rows go
/// in with [`add_rows`](Self::add_rows), in short write transactions of the caller's (a
/// few chunks each, so that other writers get their turn); the counts, row errors and staged changes with
/// [`finish`](Self::finish), in the caller's final write transaction, which also makes the
/// batch visible. Until then the batch is `staging`: its new contracts are left out by every
/// read ([`crate::contract_shown`]) and its changes to stored contracts wait in
/// `import_staged_updates`. On any error the caller
/// removes the batch whole ([`discard_batch`]); a batch whose importer died is removed by
/// [`discard_abandoned`].
pub struct BatchWriter {
    batch_id: i64,
    at: BatchTime,
    contract_ids: IdSource,
    supplier_ids: IdSource,
    /// No contracts (suppliers) existed when the batch began, so none of this file's can
    /// exist already and the look-ups by contract number (org number) are skipped.
    no_contracts_before: bool,
    no_suppliers_before: bool,
    /// Suppliers met so far, by org number.
    suppliers: HashMap<String, SeenSupplier>,
    counts: StoreCounts,
    /// Which contracts this batch may update; new ones belong to the uploader.
    scope: ContractScope,
    owner: i64,
    /// Accepted by the parser, refused here because their contract number is outside
    /// `scope`: (row, number), in file order.
    refused: Vec<(u32, String)>,
}

/// A contract the file names that is stored already.
struct StoredContract {
    id: i64,
    version: i32,
    data_sha256: String,
    owner: i64,
}

/// Starts storing the file `meta` for `uploader`, creating and updating contracts within
/// `scope` (the uploader's). Must run inside [`write_tx`](crate::db::write_tx), which must
/// also cover the [`BatchWriter`]'s work: the batch is one transaction.
///
/// The batch record is inserted first, because every row refers to it; its sheet, mapping
/// and counts are filled in by [`BatchWriter::finish`], in the same transaction, so no one
/// ever sees them unset.
pub fn begin_batch(
    conn: &mut DbConn,
    uploader: &User,
    scope: ContractScope,
    meta: &UploadMeta,
) -> Result<Begun, DbError> {
    let at = now();
    // One batch stores at a time: a batch left by an importer that died goes first, a live
    // one makes this import wait its turn (the caller answers "busy").
    discard_abandoned(conn, at)?;
    if let Some(existing) = find_batch_by_sha(conn, uploader.id, &meta.sha256)? {
        return Ok(Begun::AlreadyImported(batch_report(conn, &existing, true)?));
    }
    let staging: i64 = import_batches::table
        .filter(import_batches::state.eq("staging"))
        .count()
        .get_result(conn)?;
    if staging > 0 {
        return Err(DbError::ImportRunning);
    }
    diesel::insert_into(import_batches::table)
        .values((
            import_batches::file_name.eq(&meta.file_name),
            import_batches::sha256.eq(&meta.sha256),
            import_batches::size_bytes.eq(meta.size_bytes),
            import_batches::format.eq(""),
            import_batches::sheet.eq(""),
            import_batches::header_row.eq(0),
            import_batches::mapping.eq("{}"),
            import_batches::uploader_id.eq(uploader.id),
            import_batches::created_at.eq(at),
            import_batches::rows_total.eq(0i64),
            import_batches::rows_imported.eq(0i64),
            import_batches::rows_rejected.eq(0i64),
            import_batches::contracts_created.eq(0i64),
            import_batches::contracts_updated.eq(0i64),
            import_batches::contracts_unchanged.eq(0i64),
            import_batches::suppliers_created.eq(0i64),
            import_batches::state.eq("staging"),
            import_batches::heartbeat_at.eq(Some(at)),
        ))
        .execute(conn)?;
    let batch_id: i64 = import_batches::table
        .filter(import_batches::uploader_id.eq(uploader.id))
        .filter(import_batches::sha256.eq(&meta.sha256))
        .select(import_batches::id)
        .first(conn)?;
    let max_contract: Option<i64> = contracts::table
        .select(diesel::dsl::max(contracts::id))
        .first(conn)?;
    let max_supplier: Option<i64> = suppliers::table
        .select(diesel::dsl::max(suppliers::id))
        .first(conn)?;
    let (contract_ids, supplier_ids) = match conn {
        DbConn::Sqlite(_) => (
            IdSource::Next(max_contract.unwrap_or(0) + 1),
            IdSource::Next(max_supplier.unwrap_or(0) + 1),
        ),
        DbConn::Postgresql(_) => (IdSource::Sequence("contracts"), IdSource::Sequence("suppliers")),
    };
    Ok(Begun::New(BatchWriter {
        batch_id,
        at: BatchTime::new(at),
        contract_ids,
        supplier_ids,
        no_contracts_before: max_contract.is_none(),
        no_suppliers_before: max_supplier.is_none(),
        suppliers: HashMap::new(),
        counts: StoreCounts::default(),
        scope,
        owner: uploader.id,
        refused: Vec::new(),
    }))
}

impl BatchWriter {
    /// The batch being stored.
    pub fn batch_id(&self) -> i64 {
        self.batch_id
    }

    /// Stores a chunk of accepted rows (in file order), inside the caller's write
    /// transaction (the import stores a few chunks, and the assessments of earlier ones, per
    /// transaction): new suppliers, new contracts (invisible until the batch is done) with
    /// their first version, and the changes to stored contracts (staged for the final step).
    /// A row whose contract is outside the batch's scope is refused and stores nothing, not
    /// even its supplier. Call [`touch_heartbeat`] once per transaction.
    ///
    /// Returns the contracts the chunk created or changed, as the rules will read them once
    /// the batch is done (the import scores them on another thread meanwhile).
    pub fn add_rows(
        &mut self,
        conn: &mut DbConn,
        chunk: PreparedRows,
    ) -> Result<Vec<ContractInputRow>, DbError> {
        // Contracts this file names that are stored already, by contract number.
        let mut existing: HashMap<String, StoredContract> = HashMap::new();
        if !self.no_contracts_before {
            let numbers: Vec<&str> = chunk.0.iter().map(|r| r.row.contract_id.as_str()).collect();
            for part in numbers.chunks(CHUNK) {
                let found: Vec<(i64, String, i32, String, i64)> = contracts::table
                    .filter(contracts::contract_no.eq_any(part))
                    .select((
                        contracts::id,
                        contracts::contract_no,
                        contracts::version,
                        contracts::data_sha256,
                        contracts::owner_user_id,
                    ))
                    .load(conn)?;
                for (id, no, version, data_sha256, owner) in found {
                    let stored = StoredContract {
                        id,
                        version,
                        data_sha256,
                        owner,
                    };
                    existing.insert(no, stored);
                }
            }
        }
        let scope = self.scope;
        let (rows, refused): (Vec<PreparedRow>, Vec<PreparedRow>) = chunk.0.into_iter().partition(|r| {
            existing
                .get(&r.row.contract_id)
                .is_none_or(|c| scope.contains(c.owner))
        });
        self.refused
            .extend(refused.into_iter().map(|r| (r.row.row, r.row.contract_id)));
        self.counts.imported += rows.len() as u64;
        self.add_suppliers(conn, &rows)?;
        let (batch_id, t, owner) = (self.batch_id, &self.at, self.owner);
        let supplier_of = |r: &PreparedRow| self.suppliers.get(r.row.orgnr.as_str()).map_or(0, |s| s.id);

        let new_rows: Vec<&PreparedRow> = rows
            .iter()
            .filter(|r| !existing.contains_key(&r.row.contract_id))
            .collect();
        let ids = self.contract_ids.take(conn, new_rows.len())?;
        let stored = StoredAs {
            batch_id,
            at: t,
            owner,
        };
        let new_contracts: Vec<NewContract<'_>> = new_rows
            .iter()
            .zip(&ids)
            .map(|(r, id)| NewContract {
                id: *id,
                supplier_id: supplier_of(r),
                row: r,
                stored: &stored,
            })
            .collect();
        // The columns of `raw_row!(contracts, …)`, for COPY on PostgreSQL: one flat tuple, since
        // COPY takes no nested ones.
        insert_rows_of(conn, &new_contracts, |pg, rows| {
            let values: Vec<_> = rows
                .iter()
                .map(|n| {
                    let (r, x, s) = (n.row, &n.row.row, n.stored);
                    (
                        contracts::id.eq(n.id),
                        contracts::contract_no.eq(&x.contract_id),
                        contracts::title.eq(x.title.as_deref()),
                        contracts::supplier_id.eq(n.supplier_id),
                        contracts::supplier_name.eq(&x.supplier_name),
                        contracts::orgnr.eq(x.orgnr.as_str()),
                        contracts::category.eq(x.category.as_deref()),
                        contracts::cpv.eq(x.cpv.as_deref()),
                        contracts::value_ore.eq(x.value_ore),
                        contracts::start_date.eq(x.start_date.map(SqlDate)),
                        contracts::end_date.eq(x.end_date.map(SqlDate)),
                        contracts::unit.eq(x.unit.as_deref()),
                        contracts::contract_manager.eq(x.contract_manager.as_deref()),
                        contracts::subcontractor_levels.eq(x.subcontractor_levels),
                        contracts::extras.eq(&r.extras_json),
                        contracts::version.eq(1),
                        contracts::data_sha256.eq(&r.data_sha256),
                        contracts::first_batch_id.eq(s.batch_id),
                        contracts::last_batch_id.eq(s.batch_id),
                        contracts::created_at.eq(s.at),
                        contracts::updated_at.eq(s.at),
                        contracts::owner_user_id.eq(s.owner),
                    )
                })
                .collect();
            diesel::copy_from(contracts::table)
                .from_insertable(&values)
                .execute(pg)
        })?;
        drop(new_contracts);
        self.counts.created += new_rows.len() as u64;
        let versions: Vec<(i64, i32, &PreparedRow)> =
            new_rows.iter().zip(&ids).map(|(r, id)| (*id, 1, *r)).collect();
        let mut staged = Vec::new();

        for r in &rows {
            let Some(StoredContract {
                id,
                version,
                data_sha256: sha,
                ..
            }) = existing.get(&r.row.contract_id)
            else {
                continue;
            };
            if *sha == r.data_sha256 {
                self.counts.unchanged += 1;
                continue;
            }
            let x = &r.row;
            staged.push((
                import_staged_updates::batch_id.eq(batch_id),
                import_staged_updates::contract_id.eq(*id),
                import_staged_updates::base_version.eq(*version),
                import_staged_updates::row_number.eq(i64::from(x.row)),
                import_staged_updates::title.eq(x.title.as_deref()),
                import_staged_updates::supplier_id.eq(supplier_of(r)),
                import_staged_updates::supplier_name.eq(&x.supplier_name),
                import_staged_updates::orgnr.eq(x.orgnr.as_str()),
                import_staged_updates::category.eq(x.category.as_deref()),
                import_staged_updates::cpv.eq(x.cpv.as_deref()),
                import_staged_updates::value_ore.eq(x.value_ore),
                import_staged_updates::start_date.eq(x.start_date.map(SqlDate)),
                import_staged_updates::end_date.eq(x.end_date.map(SqlDate)),
                import_staged_updates::unit.eq(x.unit.as_deref()),
                import_staged_updates::contract_manager.eq(x.contract_manager.as_deref()),
                import_staged_updates::subcontractor_levels.eq(x.subcontractor_levels),
                import_staged_updates::extras.eq(&r.extras_json),
                import_staged_updates::data.eq(&r.data_json),
                import_staged_updates::data_sha256.eq(&r.data_sha256),
            ));
            self.counts.updated += 1;
        }
        insert_rows!(&mut *conn, import_staged_updates::table, staged);

        let versions: Vec<FirstVersion<'_>> = versions
            .into_iter()
            .map(|(contract_id, version, row)| FirstVersion {
                contract_id,
                version,
                row,
                stored: &stored,
            })
            .collect();
        // The columns of `raw_row!(contract_versions, …)`, for COPY on PostgreSQL.
        insert_rows_of(conn, &versions, |pg, rows| {
            let values: Vec<_> = rows
                .iter()
                .map(|v| {
                    let (data, data_sha256) = v.own_data();
                    (
                        contract_versions::contract_id.eq(v.contract_id),
                        contract_versions::version.eq(v.version),
                        contract_versions::batch_id.eq(v.stored.batch_id),
                        contract_versions::row_number.eq(i64::from(v.row.row.row)),
                        contract_versions::data.eq(data),
                        contract_versions::data_sha256.eq(data_sha256),
                        contract_versions::created_at.eq(v.stored.at),
                    )
                })
                .collect();
            diesel::copy_from(contract_versions::table)
                .from_insertable(&values)
                .execute(pg)
        })?;
        // What the rules will read: the new contracts, then the changed ones, in file order.
        let mut new_ids = ids.into_iter();
        let mut inputs = Vec::with_capacity(rows.len());
        let mut changed = Vec::new();
        for r in rows {
            match existing.get(&r.row.contract_id) {
                None => {
                    let id = new_ids
                        .next()
                        .ok_or_else(|| DbError::Corrupt("a new contract without its id".into()))?;
                    inputs.push(r.into_input(id, 1));
                }
                Some(c) if c.data_sha256 != r.data_sha256 => changed.push(r.into_input(c.id, c.version + 1)),
                Some(_) => {}
            }
        }
        inputs.append(&mut changed);
        Ok(inputs)
    }

    /// Inserts the suppliers of `rows` met for the first time, and notes the latest name the
    /// file gives each one.
    fn add_suppliers(&mut self, conn: &mut DbConn, rows: &[PreparedRow]) -> Result<(), DbError> {
        // Org numbers new to this batch, with their last name in this chunk.
        let mut unseen: Vec<(&str, &str)> = Vec::new();
        let mut unseen_at: HashMap<&str, usize> = HashMap::new();
        for r in rows {
            let (orgnr, name) = (r.row.orgnr.as_str(), r.row.supplier_name.as_str());
            if let Some(s) = self.suppliers.get_mut(orgnr) {
                if s.latest_name != name {
                    name.clone_into(&mut s.latest_name);
                }
            } else if let Some(&i) = unseen_at.get(orgnr) {
                unseen[i].1 = name;
            } else {
                unseen_at.insert(orgnr, unseen.len());
                unseen.push((orgnr, name));
            }
        }
        if unseen.is_empty() {
            return Ok(());
        }
        if !self.no_suppliers_before {
            let orgnrs: Vec<&str> = unseen.iter().map(|u| u.0).collect();
            for part in orgnrs.chunks(CHUNK) {
                let found: Vec<(i64, String, String)> = suppliers::table
                    .filter(suppliers::orgnr.eq_any(part))
                    .select((suppliers::id, suppliers::orgnr, suppliers::name))
                    .load(conn)?;
                for (id, orgnr, stored_name) in found {
                    let latest_name = unseen_at
                        .get(orgnr.as_str())
                        .map_or_else(|| stored_name.clone(), |&i| unseen[i].1.to_owned());
                    let seen = SeenSupplier {
                        id,
                        stored_name,
                        latest_name,
                    };
                    self.suppliers.insert(orgnr, seen);
                }
            }
        }
        // New suppliers wait for enrichment in the job table; the look-ups run later, in the
        // background, so the register being slow or down never holds up an import. Queued
        // here, chunk by chunk, rather than at the end, so it overlaps with reading the file.
        let mut orgnrs: Vec<&str> = unseen.iter().map(|u| u.0).collect();
        orgnrs.sort_unstable();
        super::suppliers::enqueue_missing(conn, &orgnrs)?;
        let new: Vec<(&str, &str)> = unseen
            .into_iter()
            .filter(|(o, _)| !self.suppliers.contains_key(*o))
            .collect();
        let ids = self.supplier_ids.take(conn, new.len())?;
        let (batch_id, t) = (self.batch_id, &self.at);
        let values: Vec<_> = new
            .iter()
            .zip(&ids)
            .map(|((orgnr, name), id)| {
                (
                    suppliers::id.eq(*id),
                    suppliers::orgnr.eq(*orgnr),
                    suppliers::name.eq(*name),
                    suppliers::first_batch_id.eq(batch_id),
                    suppliers::created_at.eq(t),
                    suppliers::updated_at.eq(t),
                )
            })
            .collect();
        insert_rows!(&mut *conn, suppliers::table, values);
        for ((orgnr, name), id) in new.iter().zip(ids) {
            let seen = SeenSupplier {
                id,
                stored_name: (*name).to_owned(),
                latest_name: (*name).to_owned(),
            };
            self.suppliers.insert((*orgnr).to_owned(), seen);
        }
        self.counts.suppliers_created += new.len() as u64;
        Ok(())
    }

    /// Completes the batch once the whole file is read: row errors, supplier names (the
    /// latest in the file wins), enrichment jobs for new org numbers, the batch record's
    /// counts and the remembered mapping. Returns the report (the service audits it).
    pub fn finish(
        self,
        c: &mut DbConn,
        uploader: &User,
        meta: &UploadMeta,
        mut parsed: ParsedRegister,
        explicit_mapping: Option<&ColumnMapping>,
    ) -> Result<ImportReport, DbError> {
        let BatchWriter {
            batch_id,
            at: BatchTime { at: t, .. },
            suppliers: seen,
            counts,
            refused,
            ..
        } = self;
        if counts.imported + refused.len() as u64 + parsed.rows_rejected != parsed.rows_total {
            return Err(DbError::Corrupt(format!(
                "the import stored {} and refused {} of {} accepted rows",
                counts.imported,
                refused.len(),
                parsed.rows_total.saturating_sub(parsed.rows_rejected)
            )));
        }
        add_refusals(&mut parsed, refused);
        let values: Vec<_> = parsed
            .errors
            .iter()
            .map(|e| {
                (
                    import_errors::batch_id.eq(batch_id),
                    import_errors::sheet.eq(&e.sheet),
                    import_errors::row_number.eq(i64::from(e.row)),
                    import_errors::column_name.eq(&e.column),
                    import_errors::raw_value.eq(&e.value),
                    import_errors::message.eq(&e.message),
                )
            })
            .collect();
        insert_rows!(&mut *c, import_errors::table, values);

        for s in seen.values().filter(|s| s.stored_name != s.latest_name) {
            diesel::update(suppliers::table.find(s.id))
                .set((suppliers::name.eq(&s.latest_name), suppliers::updated_at.eq(t)))
                .execute(c)?;
        }
        apply_staged_updates(c, batch_id, t)?;
        let mapping_json = serde_json::to_string(&parsed.mapping).unwrap_or_else(|_| "{}".into());
        diesel::update(import_batches::table.find(batch_id))
            .set((
                (
                    import_batches::format.eq(parsed.format.as_str()),
                    import_batches::sheet.eq(&parsed.sheet),
                    import_batches::header_row.eq(parsed.header_row as i32),
                    import_batches::mapping.eq(&mapping_json),
                    import_batches::rows_total.eq(parsed.rows_total as i64),
                    import_batches::rows_imported.eq(counts.imported as i64),
                    import_batches::rows_rejected.eq(parsed.rows_rejected as i64),
                ),
                (
                    import_batches::contracts_created.eq(counts.created as i64),
                    import_batches::contracts_updated.eq(counts.updated as i64),
                    import_batches::contracts_unchanged.eq(counts.unchanged as i64),
                    import_batches::suppliers_created.eq(counts.suppliers_created as i64),
                    import_batches::state.eq("done"),
                    import_batches::heartbeat_at.eq(None::<NaiveDateTime>),
                ),
            ))
            .execute(c)?;
        if let Some(m) = explicit_mapping {
            let m = serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
            diesel::delete(import_mappings::table.find(uploader.id)).execute(c)?;
            diesel::insert_into(import_mappings::table)
                .values((
                    import_mappings::user_id.eq(uploader.id),
                    import_mappings::mapping.eq(m),
                    import_mappings::updated_at.eq(t),
                ))
                .execute(c)?;
        }
        Ok(ImportReport {
            batch_id: Some(batch_id),
            rows_total: parsed.rows_total,
            rows_imported: counts.imported,
            rows_rejected: parsed.rows_rejected,
            // The errors are the parsed ones, in file order, exactly as stored.
            errors: parsed.errors,
            already_imported: false,
            file_name: meta.file_name.clone(),
            sha256: meta.sha256.clone(),
            format: parsed.format.to_string(),
            sheet: parsed.sheet,
            header_row: parsed.header_row as i32,
            mapping: parsed.mapping,
            contracts_created: counts.created,
            contracts_updated: counts.updated,
            contracts_unchanged: counts.unchanged,
            suppliers_created: counts.suppliers_created,
        })
    }
}

/// One staged change, as applied in the final step.
#[derive(Queryable)]
struct StagedUpdate {
    contract_id: i64,
    base_version: i32,
    row_number: i64,
    title: Option<String>,
    supplier_id: i64,
    supplier_name: String,
    orgnr: String,
    category: Option<String>,
    cpv: Option<String>,
    value_ore: Option<i64>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    unit: Option<String>,
    contract_manager: Option<String>,
    subcontractor_levels: Option<i32>,
    extras: String,
    data: String,
    data_sha256: String,
}

impl StagedUpdate {
    /// The staged fields as a version's data (`extras` left for the caller: they are stored
    /// as a JSON object here).
    fn fields<'a>(&'a self, contract_no: &'a str) -> ContractData<'a> {
        ContractData {
            contract_no,
            title: self.title.as_deref(),
            supplier_name: &self.supplier_name,
            orgnr: &self.orgnr,
            category: self.category.as_deref(),
            cpv: self.cpv.as_deref(),
            value_ore: self.value_ore,
            start_date: self.start_date,
            end_date: self.end_date,
            unit: self.unit.as_deref(),
            contract_manager: self.contract_manager.as_deref(),
            subcontractor_levels: self.subcontractor_levels,
            extras: &[],
        }
    }
}

/// Applies batch `batch_id`'s staged changes to stored contracts, each as a new version,
/// and drops them. A contract changed by someone else since the batch staged its change
/// (moved to another owner, say) is not overwritten: the import fails and can be run again.
fn apply_staged_updates(c: &mut DbConn, batch_id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    let mut after: i64 = -1;
    loop {
        let staged: Vec<StagedUpdate> = import_staged_updates::table
            .filter(import_staged_updates::batch_id.eq(batch_id))
            .filter(import_staged_updates::contract_id.gt(after))
            .order(import_staged_updates::contract_id.asc())
            .limit(CHUNK as i64)
            .select((
                import_staged_updates::contract_id,
                import_staged_updates::base_version,
                import_staged_updates::row_number,
                import_staged_updates::title,
                import_staged_updates::supplier_id,
                import_staged_updates::supplier_name,
                import_staged_updates::orgnr,
                import_staged_updates::category,
                import_staged_updates::cpv,
                import_staged_updates::value_ore,
                import_staged_updates::start_date,
                import_staged_updates::end_date,
                import_staged_updates::unit,
                import_staged_updates::contract_manager,
                import_staged_updates::subcontractor_levels,
                import_staged_updates::extras,
                import_staged_updates::data,
                import_staged_updates::data_sha256,
            ))
            .load(c)?;
        let Some(last) = staged.last() else { break };
        after = last.contract_id;
        let ids: Vec<i64> = staged.iter().map(|u| u.contract_id).collect();
        // The contracts as they are before this batch changes them, read once.
        let current: HashMap<i64, StoredFields> = contracts::table
            .filter(contracts::id.eq_any(&ids))
            .select(StoredFields::as_select())
            .load::<StoredFields>(c)?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
        keep_current_version_data(c, &current)?;
        for u in &staged {
            let next = u.base_version + 1;
            let n = diesel::update(
                contracts::table
                    .find(u.contract_id)
                    .filter(contracts::version.eq(u.base_version)),
            )
            .set((
                (
                    contracts::title.eq(u.title.as_deref()),
                    contracts::supplier_id.eq(u.supplier_id),
                    contracts::supplier_name.eq(&u.supplier_name),
                    contracts::orgnr.eq(&u.orgnr),
                    contracts::category.eq(u.category.as_deref()),
                    contracts::cpv.eq(u.cpv.as_deref()),
                    contracts::value_ore.eq(u.value_ore),
                    contracts::start_date.eq(u.start_date),
                    contracts::end_date.eq(u.end_date),
                ),
                (
                    contracts::unit.eq(u.unit.as_deref()),
                    contracts::contract_manager.eq(u.contract_manager.as_deref()),
                    contracts::subcontractor_levels.eq(u.subcontractor_levels),
                    contracts::extras.eq(&u.extras),
                    contracts::version.eq(next),
                    contracts::data_sha256.eq(&u.data_sha256),
                    contracts::last_batch_id.eq(batch_id),
                    contracts::updated_at.eq(at),
                ),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(DbError::Invalid(format!(
                    "contract {} changed while this import was being stored; import the file again",
                    u.contract_id
                )));
            }
        }
        let versions: Vec<_> = staged
            .iter()
            .map(|u| {
                // Left out when the contract row, as just updated, gives it back.
                let in_row = current.get(&u.contract_id).is_some_and(|f| {
                    rebuilt_version_json(u.fields(&f.contract_no), &u.extras).is_ok_and(|json| json == u.data)
                });
                (
                    contract_versions::contract_id.eq(u.contract_id),
                    contract_versions::version.eq(u.base_version + 1),
                    contract_versions::batch_id.eq(batch_id),
                    contract_versions::row_number.eq(u.row_number),
                    contract_versions::data.eq((!in_row).then_some(&u.data)),
                    contract_versions::data_sha256.eq((!in_row).then_some(&u.data_sha256)),
                    contract_versions::created_at.eq(at),
                )
            })
            .collect();
        insert_rows!(&mut *c, contract_versions::table, versions);
    }
    diesel::delete(import_staged_updates::table.filter(import_staged_updates::batch_id.eq(batch_id)))
        .execute(c)?;
    Ok(())
}

/// Removes a batch that did not finish, whole: its invisible contracts with their versions,
/// its staged changes, the suppliers it created that no contract uses, its row errors and
/// its record. Stored contracts were never changed by it (changes wait for the final step).
/// Does nothing to a batch that is done.
pub fn discard_batch(c: &mut DbConn, batch_id: i64) -> Result<bool, DbError> {
    let staging: Option<String> = import_batches::table
        .find(batch_id)
        .select(import_batches::state)
        .first(c)
        .optional()?;
    if staging.as_deref() != Some("staging") {
        return Ok(false);
    }
    // A batch's own contracts are the ones it created; the contracts it would have changed
    // were never touched (their changes are staged).
    super::assessments::discard_staged_risk(c, batch_id)?;
    let invisible = contracts::table
        .filter(contracts::first_batch_id.eq(batch_id))
        .select(contracts::id);
    diesel::delete(contract_versions::table.filter(contract_versions::contract_id.eq_any(invisible)))
        .execute(c)?;
    diesel::delete(import_staged_updates::table.filter(import_staged_updates::batch_id.eq(batch_id)))
        .execute(c)?;
    diesel::delete(contracts::table.filter(contracts::first_batch_id.eq(batch_id))).execute(c)?;
    let used = contracts::table.select(contracts::supplier_id);
    diesel::delete(
        suppliers::table
            .filter(suppliers::first_batch_id.eq(batch_id))
            .filter(suppliers::id.ne_all(used)),
    )
    .execute(c)?;
    diesel::delete(import_errors::table.filter(import_errors::batch_id.eq(batch_id))).execute(c)?;
    diesel::delete(import_batches::table.find(batch_id)).execute(c)?;
    Ok(true)
}

/// Marks staging batch `batch_id` alive (its importer's heartbeat, every few seconds).
pub fn touch_heartbeat(c: &mut DbConn, batch_id: i64) -> Result<(), DbError> {
    diesel::update(
        import_batches::table
            .find(batch_id)
            .filter(import_batches::state.eq("staging")),
    )
    .set(import_batches::heartbeat_at.eq(Some(now())))
    .execute(c)?;
    Ok(())
}

/// How long a batch may go without a heartbeat before it counts as abandoned (its importer
/// died): the importer touches it every 2 seconds, and with every chunk.
pub const ABANDONED_AFTER_SECONDS: i64 = 15;

/// Removes every batch still `staging` whose heartbeat is older than
/// [`ABANDONED_AFTER_SECONDS`] at `now` (see [`discard_batch`]); returns their ids.
pub fn discard_abandoned(c: &mut DbConn, now: NaiveDateTime) -> Result<Vec<i64>, DbError> {
    let stale = now - chrono::Duration::seconds(ABANDONED_AFTER_SECONDS);
    let ids: Vec<i64> = import_batches::table
        .filter(import_batches::state.eq("staging"))
        .filter(
            import_batches::heartbeat_at
                .is_null()
                .or(import_batches::heartbeat_at.lt(stale)),
        )
        .select(import_batches::id)
        .load(c)?;
    for id in &ids {
        discard_batch(c, *id)?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(extras: Vec<(String, String)>, title: Option<String>, value_ore: Option<i64>) -> ContractRow {
        ContractRow {
            row: 2,
            contract_id: "K-1".into(),
            title,
            supplier_name: "Rent og Pent AS".into(),
            orgnr: crate::domain::orgnr::OrgNr::parse_canonical("923609016").unwrap(),
            orgnr_raw: "923609016".into(),
            category: Some("Renhold".into()),
            cpv: None,
            value_ore,
            start_date: NaiveDate::from_ymd_opt(2025, 1, 31),
            end_date: None,
            unit: Some("Årstad \"bydel\"".into()),
            contract_manager: None,
            subcontractor_levels: Some(2),
            extras,
        }
    }

    /// What the contract row stores gives back the version's JSON exactly when the import
    /// leaves the version's `data` out.
    fn rebuilt(p: &PreparedRow) -> Result<String, DbError> {
        rebuilt_version_json(contract_data(&p.row), &p.extras_json)
    }

    #[test]
    fn the_contract_row_gives_back_a_version_whose_extras_are_in_name_order() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        for (extras, in_row) in [
            (vec![], true),
            (
                vec![pair("Merknad", "sier \"hei\" \\"), pair("Ønske", "ja")],
                true,
            ),
            (vec![pair("Ønske", "ja"), pair("Merknad", "nei")], false),
            (vec![pair("Merknad", "a"), pair("Merknad", "b")], false),
        ] {
            let p = PreparedRow::new(row(extras.clone(), Some("Vask".into()), Some(1)));
            assert_eq!(p.data_in_row, in_row, "{extras:?}");
            assert_eq!(rebuilt(&p).unwrap() == p.data_json, in_row, "{extras:?}");
        }
    }

    proptest! {
        #[test]
        fn leaving_data_out_is_safe_for_any_row(
            extras in proptest::collection::vec(("[A-Za-zÆØÅæøå \"\\\\]{0,6}", "\\PC{0,8}"), 0..4),
            title in proptest::option::of("\\PC{0,12}"),
            value_ore in proptest::option::of(any::<i64>()),
        ) {
            let p = PreparedRow::new(row(extras, title, value_ore));
            if p.data_in_row {
                prop_assert_eq!(rebuilt(&p).unwrap(), p.data_json);
            }
        }
    }

    #[test]
    fn a_stored_extra_that_is_not_text_is_reported() {
        let p = PreparedRow::new(row(vec![], None, None));
        let err = rebuilt_version_json(contract_data(&p.row), r#"{"Merknad": 3}"#).unwrap_err();
        assert!(matches!(err, DbError::Corrupt(_)), "{err:?}");
    }
}
