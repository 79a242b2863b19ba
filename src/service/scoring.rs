//! Rescoring: reads contracts, register facts and approval registers from storage, runs the
//! active rule set over them ([`crate::risk`], pure) and records the assessments.
//!
//! What makes a score explainable and reproducible later:
//! - every assessment names its rule-set version, whose files are stored (`rule_sets`);
//! - it names its inputs: the contract version, the register rows (`facts_id`,
//!   `parent_facts_id`), the approval-register loads (in the explanation), the date the
//!   dated parameters were read at (`as_of`), and an `input_sha256` over all of them;
//! - the history is append-only: a rescoring records a new assessment only when the rule
//!   set, the inputs or the outcome changed, and `contract_risk` / `supplier_risk` point at
//!   the newest one.
//!
//! Runs take turns (one at a time in a process, and across instances on PostgreSQL), so two
//! runs (after an import and after enrichment) can never record an older view over a newer
//! one: whatever changes an input starts a run of its own after it. Within a run, each chunk
//! of assessments is a short write transaction of its own, so a sign-in never waits for a
//! whole run; every assessment names its inputs and versions by itself, and the run's audit
//! entry (with the high-risk digests) is written when it ends.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use serde::Serialize;

use crate::brreg::UnitFacts;
use crate::brreg::approvals::StatusClass;
use crate::db::models::assessments::{
    self, ContractInputRow, CurrentMark, ExplanationReader, LoadedRegister, NewAssessment, RiskIndex, TextIds,
};
use crate::db::models::audit;
use crate::db::models::{Actor, now};
use crate::db::{DbConn, DbError};
use crate::risk::record::{self, Interner, Plan};
use crate::risk::{
    ApprovalFact, ApprovalStatus, Assessment, AssessmentInput, ContractFacts, Coverage, RuleSet, Score,
    SupplierInput,
};

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ScoreError {
    fn from(e: diesel::result::Error) -> Self {
        ScoreError::Db(e.into())
    }
}

/// Which contracts a run looks at. Supplier-level assessments are made for the suppliers
/// of those contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Contracts(Vec<i64>),
    /// The contracts of these suppliers (after their register facts changed).
    Suppliers(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct RescoreOptions {
    pub scope: Scope,
    /// Record a new assessment even when nothing changed (`spotcheck score --all`).
    pub force: bool,
    /// Why the run happened: `import`, `enrichment`, `rules`, `manual`.
    pub reason: String,
    /// The date dated parameters are read at (today, normally).
    pub as_of: NaiveDate,
    /// Who caused it, for the audit log.
    pub actor: Actor,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RescoreReport {
    pub rule_set_version: String,
    pub as_of: NaiveDate,
    pub reason: String,
    pub contracts_assessed: u64,
    /// New history rows for contracts (the rest were unchanged).
    pub contracts_recorded: u64,
    pub suppliers_assessed: u64,
    pub suppliers_recorded: u64,
    /// Contracts per tier in this run's scope.
    pub tiers: BTreeMap<String, u64>,
    /// Per indicator: applied, fired, passed, not computable, over the contracts in scope.
    pub coverage: Coverage,
    /// Contracts that entered the highest tier in this run.
    pub high_risk_entered: u64,
    /// Digests queued for the liaisons about them.
    pub notifications_queued: u64,
    /// Cases opened for them (source `flag`, once per contract).
    pub cases_opened: u64,
    pub elapsed_ms: u64,
}

/// Contracts assessed and recorded per step of a run: each step is one write transaction,
/// short enough (a few hundred milliseconds on SQLite) that a sign-in hardly notices it.
const RECORD_CHUNK: usize = 2_000;

/// Rescores `opts.scope` with `rules` and records what changed, chunk by chunk (see the
/// module comment), after any run already going.
pub fn rescore(
    conn: &mut DbConn,
    rules: &RuleSet,
    opts: &RescoreOptions,
) -> Result<RescoreReport, ScoreError> {
    // The run's chunks reuse their insert statements (`keeping_statements`).
    with_turn(conn, |c| {
        crate::db::sqlite_raw::keeping_statements(c, |c| run(c, rules, opts))
    })?
}

/// Runs `f` on `conn` in its turn: after any rescoring run (or scoring import) going, in
/// this process and, on PostgreSQL, across instances (a session advisory lock on `conn`).
pub fn with_turn<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> T) -> Result<T, ScoreError> {
    let _one_run = RUNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let pg = matches!(conn, DbConn::Postgresql(_));
    if pg {
        // A run waits for the one before it however long it takes (a background job, not
        // a request): no lock time-out while it runs; the pool's is restored after.
        conn.batch_execute(
            "SELECT set_config('spotcheck.lock_timeout', current_setting('lock_timeout'), false); \
             SET lock_timeout = 0; SELECT pg_advisory_lock(7270003)",
        )?;
    }
    let out = f(conn);
    if pg {
        // Back to the pool's wait (`RESET` would drop it) and the run lock released, also
        // after a failed run.
        let _ = conn.batch_execute(
            "SELECT pg_advisory_unlock(7270003); SELECT set_config('lock_timeout', current_setting('spotcheck.lock_timeout', true), false)",
        );
    }
    Ok(out)
}

/// Rescoring runs, one at a time in this process.
static RUNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(c: &mut DbConn, rules: &RuleSet, opts: &RescoreOptions) -> Result<RescoreReport, ScoreError> {
    let rows = match &opts.scope {
        Scope::All => assessments::all_contract_inputs(c)?,
        Scope::Contracts(ids) => assessments::contract_inputs(c, ids)?,
        Scope::Suppliers(orgnrs) => assessments::contract_inputs_for_suppliers(c, orgnrs)?,
    };
    let marks = assessments::current_contract_marks(c)?;
    let mut scorer = ChunkScorer::begin(c, rules, opts.clone())?;
    if let Scope::Suppliers(list) = &opts.scope {
        scorer.orgnrs.extend(list.iter().cloned());
    }
    let turns = crate::db::writer_turns::BulkWriter::on(c);
    for chunk in rows.chunks(RECORD_CHUNK) {
        let recorded = scorer.assess(chunk, &marks);
        if recorded.is_empty() {
            continue;
        }
        // Each chunk is its own short write transaction: a sign-in or an import never
        // waits for a whole run.
        crate::db::write_tx(c, |c| scorer.record(c, &recorded))?;
        // Another process's writers go first between two chunks when they wait.
        turns.let_waiting_writers_in();
    }
    // The run's end in one write transaction: supplier assessments, the high-risk digests
    // and the audit entry.
    crate::db::write_tx(c, |c| scorer.finish(c))
}

/// Scores contracts chunk by chunk and records what changed: a rescoring run
/// ([`rescore`]), and an import, which scores each chunk of contracts in the transaction
/// that stores it ([`crate::service::imports`]). [`ChunkScorer::finish`] ends the run with the
/// supplier-level assessments, the high-risk digests, the flag cases and the audit entry.
pub struct ChunkScorer<'r> {
    rules: &'r RuleSet,
    world: World,
    plan: Plan,
    texts: TextIds,
    opts: RescoreOptions,
    at: NaiveDateTime,
    started: Instant,
    report: RescoreReport,
    /// Contracts that entered the highest tier.
    entered_top: Vec<i64>,
    rule_set_stored: bool,
    /// The suppliers of the contracts assessed (their supplier-level assessments are made
    /// at the end).
    orgnrs: std::collections::BTreeSet<String>,
}

impl<'r> ChunkScorer<'r> {
    /// Reads what assessments read besides the contracts (register facts, approvals).
    pub fn begin(c: &mut DbConn, rules: &'r RuleSet, opts: RescoreOptions) -> Result<Self, ScoreError> {
        Ok(ChunkScorer {
            rules,
            world: World::load(c)?,
            plan: Plan::of(rules),
            texts: TextIds::load(c)?,
            at: now(),
            started: Instant::now(),
            report: RescoreReport {
                rule_set_version: rules.version().to_owned(),
                as_of: opts.as_of,
                reason: opts.reason.clone(),
                contracts_assessed: 0,
                contracts_recorded: 0,
                suppliers_assessed: 0,
                suppliers_recorded: 0,
                tiers: BTreeMap::new(),
                coverage: Coverage::new(rules),
                high_risk_entered: 0,
                notifications_queued: 0,
                cases_opened: 0,
                elapsed_ms: 0,
            },
            opts,
            entered_top: Vec::new(),
            rule_set_stored: false,
            orgnrs: std::collections::BTreeSet::new(),
        })
    }

    /// Scores `rows` (pure, on every core for a large chunk) and returns the assessments to
    /// record, their records made: those whose rule set, inputs or outcome differ from
    /// `marks`. The texts they number first wait in `self.texts` for the transaction that
    /// stores them.
    fn assess(&mut self, rows: &[ContractInputRow], marks: &HashMap<i64, CurrentMark>) -> Vec<NewAssessment> {
        self.report.contracts_assessed += rows.len() as u64;
        let mut recorded = Vec::new();
        let run = Run {
            rules: self.rules,
            world: &self.world,
            marks,
            opts: &self.opts,
            at: self.at,
        };
        for o in assess_contracts(&run, rows, &self.plan, &mut self.texts) {
            self.report.coverage.merge(&o.coverage);
            for (tier, n) in o.tiers {
                *self.report.tiers.entry(tier).or_default() += n;
            }
            recorded.extend(o.recorded);
        }
        for r in rows {
            if !self.orgnrs.contains(&r.orgnr) {
                self.orgnrs.insert(r.orgnr.clone());
            }
        }
        if let Some(top) = self.rules.tiers().last() {
            self.entered_top.extend(recorded.iter().filter_map(|p| {
                let id = p.contract_id?;
                let before = marks.get(&id).map(|m| m.tier.as_str());
                (p.tier == top.id && before != Some(top.id.as_str())).then_some(id)
            }));
        }
        self.report.contracts_recorded += recorded.len() as u64;
        recorded
    }

    /// Records `recorded` (inside the caller's write transaction) with the texts they
    /// numbered first, pointing `contract_risk` at them.
    fn record(&mut self, c: &mut DbConn, recorded: &[NewAssessment]) -> Result<(), ScoreError> {
        self.store_rule_set(c)?;
        self.texts.flush(c)?;
        assessments::record_contract_assessments(c, recorded, RiskIndex::Now)?;
        Ok(())
    }

    /// Stores the rule set's row (its files and plan) if it is not yet: before the first
    /// [`store_scored`] of an import, whose records name it.
    pub fn store_rule_set(&mut self, c: &mut DbConn) -> Result<(), ScoreError> {
        if !self.rule_set_stored {
            assessments::ensure_rule_set(c, self.rules.version(), self.rules.sources(), &self.plan, self.at)?;
            self.rule_set_stored = true;
        }
        Ok(())
    }

    /// Scores the contracts an import chunk stored and makes their records, without the
    /// database: an import runs this on a thread of its own while the next chunk is stored,
    /// and stores the result with [`store_scored`]. Their data is new, so every one is
    /// recorded.
    pub fn score_staged(&mut self, rows: &[ContractInputRow]) -> ScoredChunk {
        let records = self.assess(rows, &HashMap::new());
        ScoredChunk {
            texts: self.texts.take_new(),
            records,
        }
    }

    /// Ends the run inside the caller's write transaction: supplier-level assessments for
    /// the suppliers met, the high-risk digests and flag cases for the contracts that entered
    /// the highest tier, and the audit entry (the suppliers' current marks are read here).
    fn finish(mut self, c: &mut DbConn) -> Result<RescoreReport, ScoreError> {
        let rules = self.rules;
        let opts = &self.opts;
        let supplier_marks = assessments::current_supplier_marks(c)?;
        let mut supplier_records = Vec::new();
        for orgnr in &self.orgnrs {
            let orgnr = orgnr.as_str();
            let Some(input) = self.world.supplier(orgnr) else {
                continue;
            };
            self.report.suppliers_assessed += 1;
            let approvals = self.world.approvals(orgnr, input.parent_orgnr());
            let a = rules.assess_supplier(&SupplierInput {
                supplier: &input.facts,
                supplier_fetched_at: Some(input.fetched_at),
                parent: input
                    .parent_orgnr()
                    .and_then(|p| self.world.supplier(p))
                    .map(|p| &p.facts),
                approvals: &approvals,
                shared_address_count: self.world.shared_address_count(orgnr),
                as_of: opts.as_of,
            });
            let input_sha = supplier_input_hash(&self.world, orgnr, &approvals);
            let result_sha = assessment_result_hash(&a);
            if !opts.force
                && unchanged(
                    supplier_marks.get(orgnr),
                    rules.version(),
                    &input_sha,
                    &result_sha,
                )
            {
                continue;
            }
            let row = new_assessment(
                None,
                orgnr,
                &self.world,
                Columns::of_assessment(&a),
                input_sha,
                result_sha,
                opts,
                self.at,
            );
            supplier_records.push(Pending {
                row,
                made: Made::Explained(a),
            });
        }
        self.report.suppliers_recorded = supplier_records.len() as u64;
        self.report.high_risk_entered = self.entered_top.len() as u64;
        self.report.notifications_queued =
            crate::service::notices::queue_high_risk(c, rules, &self.entered_top, &opts.reason, self.at)?
                as u64;
        self.report.cases_opened =
            crate::service::cases::open_flag_cases(c, &self.entered_top, &opts.actor, self.at)? as u64;
        if self.report.contracts_recorded > 0 || !supplier_records.is_empty() {
            assessments::ensure_rule_set(c, rules.version(), rules.sources(), &self.plan, self.at)?;
            let supplier_records = encode_records(c, &self.plan, &mut self.texts, supplier_records)?;
            assessments::record_supplier_assessments(c, &supplier_records)?;
            let report = &self.report;
            audit::append(
                c,
                &opts.actor,
                audit::Event {
                    action: "risk.rescore",
                    object_type: "rule_set",
                    object_id: rules.version(),
                    detail: serde_json::json!({
                        "reason": opts.reason,
                        "as_of": opts.as_of,
                        "force": opts.force,
                        "contracts_assessed": report.contracts_assessed,
                        "contracts_recorded": report.contracts_recorded,
                        "suppliers_assessed": report.suppliers_assessed,
                        "suppliers_recorded": report.suppliers_recorded,
                        "high_risk_entered": report.high_risk_entered,
                        "cases_opened": report.cases_opened,
                    }),
                },
            )?;
        }
        self.report.elapsed_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(self.report)
    }

    /// Ends an import's scoring in the batch's final write transaction: the staged risk
    /// index rows become current with the batch, then as [`Self::finish`].
    pub fn finish_import(self, c: &mut DbConn, batch_id: i64) -> Result<RescoreReport, ScoreError> {
        assessments::apply_staged_risk(c, batch_id)?;
        self.finish(c)
    }
}

/// Everything outside the contract rows that assessments read: the newest register facts
/// per org number, the approval registers, and who shares a business address.
pub struct World {
    facts: HashMap<String, SupplierFacts>,
    registers: Vec<LoadedRegister>,
    address_counts: HashMap<String, u32>,
    address_of: HashMap<String, String>,
}

pub struct SupplierFacts {
    pub facts_id: i64,
    pub facts: UnitFacts,
    pub fetched_at: NaiveDateTime,
}

impl SupplierFacts {
    fn parent_orgnr(&self) -> Option<&str> {
        self.facts.parent_orgnr.as_deref()
    }
}

impl World {
    pub fn load(conn: &mut DbConn) -> Result<World, DbError> {
        let mut facts = HashMap::new();
        for row in assessments::latest_facts(conn)? {
            // A unit the register no longer has ("removed") or an unreadable row gives no
            // facts: its indicators are then not computable, never silently passed.
            let Some(unit) = row
                .facts
                .as_deref()
                .and_then(|f| serde_json::from_str::<UnitFacts>(f).ok())
            else {
                continue;
            };
            facts.insert(
                row.orgnr,
                SupplierFacts {
                    facts_id: row.id,
                    facts: unit,
                    fetched_at: row.fetched_at,
                },
            );
        }
        let ours = assessments::supplier_orgnrs(conn)?;
        Ok(World::new(
            facts,
            assessments::latest_approval_registers(conn)?,
            &ours,
        ))
    }

    /// `ours`: the suppliers we hold contracts with; the shared-address count is over them.
    pub fn new(
        facts: HashMap<String, SupplierFacts>,
        registers: Vec<LoadedRegister>,
        ours: &[String],
    ) -> World {
        let mut address_of = HashMap::new();
        let mut address_counts: HashMap<String, u32> = HashMap::new();
        for orgnr in ours {
            let Some(key) = facts
                .get(orgnr)
                .and_then(|f| f.facts.business_address.as_ref())
                .and_then(address_key)
            else {
                continue;
            };
            *address_counts.entry(key.clone()).or_default() += 1;
            address_of.insert(orgnr.clone(), key);
        }
        World {
            facts,
            registers,
            address_counts,
            address_of,
        }
    }

    pub fn supplier(&self, orgnr: &str) -> Option<&SupplierFacts> {
        self.facts.get(orgnr)
    }

    /// How many of our suppliers (this one included) have this supplier's business address;
    /// unknown without facts or address.
    pub fn shared_address_count(&self, orgnr: &str) -> Option<u32> {
        self.address_of
            .get(orgnr)
            .and_then(|k| self.address_counts.get(k))
            .copied()
    }

    /// One fact per loaded approval register: the entry for the unit or, failing that, its
    /// main unit (sub-units are not registered themselves), else "not listed".
    pub fn approvals(&self, orgnr: &str, parent: Option<&str>) -> Vec<ApprovalFact> {
        self.registers
            .iter()
            .map(|reg| {
                let entry = reg
                    .entries
                    .get(orgnr)
                    .or_else(|| parent.and_then(|p| reg.entries.get(p)));
                match entry {
                    Some((status, date)) => ApprovalFact {
                        register: reg.register.clone(),
                        status: status.clone(),
                        status_class: StatusClass::of(status).into(),
                        status_date: *date,
                        loaded_at: Some(reg.loaded_at),
                    },
                    None => ApprovalFact {
                        register: reg.register.clone(),
                        status: String::new(),
                        status_class: ApprovalStatus::NotListed,
                        status_date: None,
                        loaded_at: Some(reg.loaded_at),
                    },
                }
            })
            .collect()
    }

    fn register_loads(&self) -> impl Iterator<Item = (&str, i64)> {
        self.registers.iter().map(|r| (r.register.as_str(), r.load_id))
    }
}

/// Lower-cased street lines and postal code; `None` for an address without street lines
/// (a postal code alone is shared by thousands).
fn address_key(a: &crate::brreg::facts::Address) -> Option<String> {
    let street: Vec<String> = a
        .lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    if street.is_empty() {
        return None;
    }
    Some(format!(
        "{}|{}",
        street.join("|"),
        a.postal_code.as_deref().unwrap_or("")
    ))
}

/// A contract row as the rules read it.
pub fn contract_facts(row: &ContractInputRow) -> ContractFacts {
    let extras: BTreeMap<String, String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&row.extras)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| {
                        let text = match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k, text)
                    })
                    .collect()
            })
            .unwrap_or_default();
    ContractFacts {
        contract_no: row.contract_no.clone(),
        title: row.title.clone(),
        category: row.category.clone(),
        cpv: row.cpv.clone(),
        value_ore: row.value_ore,
        start_date: row.start_date,
        end_date: row.end_date,
        unit: row.unit.clone(),
        subcontractor_levels: row.subcontractor_levels,
        // Hours and unit prices are not columns of the registers we import yet; the price
        // rule reads them as unknown (not computable) until they are.
        hours: None,
        hourly_price_ore: None,
        extras,
    }
}

fn sha_hex(text: &str) -> String {
    crate::domain::digest::sha256_hex(text.as_bytes())
}

/// [`sha_hex`] of the text `args` would format, hashed as it is written (two of these per
/// contract a rescoring looks at).
fn sha_hex_of(args: std::fmt::Arguments<'_>) -> String {
    use sha2::Digest as _;
    struct Hashing(sha2::Sha256);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut h = Hashing(sha2::Sha256::new());
    // Writing to a hasher cannot fail.
    let _ = std::fmt::Write::write_fmt(&mut h, args);
    crate::domain::digest::lower_hex(&h.0.finalize())
}

/// The supplier-side inputs, by identity: register rows, approval loads and statuses,
/// shared-address count.
fn supplier_part(world: &World, orgnr: &str, approvals: &[ApprovalFact]) -> String {
    let s = world.supplier(orgnr);
    let parent = s
        .and_then(|f| f.parent_orgnr())
        .and_then(|p| world.supplier(p))
        .map(|p| p.facts_id);
    let mut out = format!(
        "supplier={orgnr};facts={:?};parent_facts={parent:?};shared={:?}",
        s.map(|f| f.facts_id),
        world.shared_address_count(orgnr)
    );
    for ((register, load), a) in world.register_loads().zip(approvals) {
        out.push_str(&format!(
            ";approval={register}:{load}:{}:{:?}",
            a.status_class.as_str(),
            a.status_date
        ));
    }
    out
}

fn contract_input_hash(row: &ContractInputRow, supplier_part: &str) -> String {
    sha_hex_of(format_args!(
        "contract={};version={};data={};{supplier_part}",
        row.id, row.version, row.data_sha256
    ))
}

fn supplier_input_hash(world: &World, orgnr: &str, approvals: &[ApprovalFact]) -> String {
    sha_hex(&supplier_part(world, orgnr, approvals))
}

/// The outcome of a contract assessment, from the compact score (fired, passed and
/// not-computable indicators of this rule-set version).
fn score_result_hash(s: &Score<'_>) -> String {
    sha_hex_of(format_args!(
        "score={};max={};tier={};fired={:x};passed={:x};nc={:x}",
        s.score, s.max_possible_score, s.tier, s.fired, s.passed, s.not_computable
    ))
}

/// The outcome of a supplier assessment.
fn assessment_result_hash(a: &Assessment) -> String {
    let ids = |fs: &[crate::risk::Finding]| {
        fs.iter()
            .map(|f| f.rule.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let passed: Vec<String> = a.passed.iter().map(|p| p.to_string()).collect();
    sha_hex(&format!(
        "score={};max={};tier={};fired={};nc={};passed={};industries={}",
        a.score,
        a.max_possible_score,
        a.tier,
        ids(&a.fired),
        ids(&a.not_computable),
        passed.join(","),
        a.industries
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    ))
}

fn unchanged(mark: Option<&CurrentMark>, version: &str, input_sha: &str, result_sha: &str) -> bool {
    mark.is_some_and(|m| {
        m.rule_set_version == version
            && m.input_sha256 == input_sha
            && m.result_sha256.as_deref() == Some(result_sha)
    })
}

pub use crate::risk::record::{StoredExplanation, StoredFinding};

/// `,renhold,bygg,` (so one industry is found with `LIKE '%,renhold,%'`).
pub fn industries_column<S: AsRef<str>>(industries: &[S]) -> String {
    let mut out = String::new();
    if !industries.is_empty() {
        out.push(',');
        for i in industries {
            out.push_str(i.as_ref());
            out.push(',');
        }
    }
    out
}

/// What an assessment's row keeps in columns beside its record.
struct Columns<'a> {
    rule_set_version: &'a str,
    score: u32,
    max_possible_score: u32,
    tier: &'a str,
    /// [`industries_column`].
    industries: String,
}

impl<'a> Columns<'a> {
    fn of_assessment(a: &'a Assessment) -> Columns<'a> {
        Columns {
            rule_set_version: &a.rule_set_version,
            score: a.score,
            max_possible_score: a.max_possible_score,
            tier: &a.tier,
            industries: industries_column(&a.industries),
        }
    }

    fn of_score(rules: &'a RuleSet, score: &Score<'a>, industries: String) -> Columns<'a> {
        Columns {
            rule_set_version: rules.version(),
            score: score.score,
            max_possible_score: score.max_possible_score,
            tier: score.tier,
            industries,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn new_assessment(
    contract: Option<&ContractInputRow>,
    orgnr: &str,
    world: &World,
    a: Columns<'_>,
    input_sha256: String,
    result_sha256: String,
    opts: &RescoreOptions,
    at: NaiveDateTime,
) -> NewAssessment {
    let supplier = world.supplier(orgnr);
    NewAssessment {
        contract_id: contract.map(|c| c.id),
        contract_version: contract.map(|c| c.version),
        orgnr: orgnr.to_owned(),
        rule_set_version: a.rule_set_version.to_string(),
        input_sha256,
        result_sha256,
        facts_id: supplier.map(|s| s.facts_id),
        parent_facts_id: supplier
            .and_then(|s| s.parent_orgnr())
            .and_then(|p| world.supplier(p))
            .map(|p| p.facts_id),
        facts_fetched_at: supplier.map(|s| s.fetched_at),
        as_of: opts.as_of,
        score: i32::try_from(a.score).unwrap_or(i32::MAX),
        max_possible_score: i32::try_from(a.max_possible_score).unwrap_or(i32::MAX),
        tier: a.tier.to_owned(),
        industries: a.industries,
        // Made by `encode_one`, which numbers repeated texts.
        explanation: String::new(),
        record: None,
        reason: opts.reason.clone(),
        assessed_at: at,
    }
}

/// One thread's share of a run.
struct Outcome {
    coverage: Coverage,
    tiers: BTreeMap<String, u64>,
    recorded: Vec<NewAssessment>,
}

/// An assessment to record: its row, and what its record is made from ([`encode_one`]).
struct Pending {
    row: NewAssessment,
    made: Made,
}

/// What an assessment's record is made from: the explained assessment (a supplier's), or the
/// record itself, made while the contract is scored ([`RuleSet::record_scored`]).
enum Made {
    Explained(Assessment),
    Record(Vec<u8>),
}

/// Scores a contract and makes its record, numbering its texts in `texts`; with its
/// industries column.
fn make<'r>(
    rules: &'r RuleSet,
    input: &AssessmentInput<'_>,
    texts: &mut impl Interner,
) -> (Score<'r>, Made, String) {
    match rules.record_scored(input, texts) {
        Ok(r) => return (r.score, Made::Record(r.record), industries_column(&r.industries)),
        // Never expected (the record follows the rule set itself): made from the explained
        // assessment instead, which `encode_one` keeps as JSON if it does not fit either.
        Err(why) => tracing::warn!(%why, "assessment record not made while scoring"),
    }
    let (a, score) = rules.assess_scored(input);
    let industries = industries_column(&a.industries);
    (score, Made::Explained(a), industries)
}

/// The assessments of an import chunk with their records made ([`ChunkScorer::score_staged`]),
/// and the texts first numbered for them, ready for [`store_scored`].
pub struct ScoredChunk {
    texts: Vec<(i64, String)>,
    records: Vec<NewAssessment>,
}

/// Stores an import chunk's assessments (inside a write transaction of the batch, after
/// [`ChunkScorer::store_rule_set`]), staged with batch `batch_id` like its contracts.
pub fn store_scored(c: &mut DbConn, batch_id: i64, scored: &ScoredChunk) -> Result<(), ScoreError> {
    assessments::insert_texts(c, &scored.texts)?;
    assessments::record_contract_assessments(c, &scored.records, RiskIndex::Staged { batch_id })?;
    Ok(())
}

/// Makes the records of `pending` ([`crate::risk::record`]), numbering their repeated texts
/// in `assessment_texts`; inside the write transaction that stores them. An assessment whose
/// record cannot be made (it does not fit the plan: a bug, never expected) keeps its
/// explanation as JSON instead, so nothing it decided is lost.
fn encode_records(
    c: &mut DbConn,
    plan: &Plan,
    texts: &mut TextIds,
    pending: Vec<Pending>,
) -> Result<Vec<NewAssessment>, DbError> {
    let out = encode_pending(plan, texts, pending);
    texts.flush(c)?;
    Ok(out)
}

/// [`encode_records`] without storing the new texts (they wait in `texts`).
fn encode_pending(plan: &Plan, texts: &mut TextIds, pending: Vec<Pending>) -> Vec<NewAssessment> {
    pending.into_iter().map(|p| encode_one(plan, texts, p)).collect()
}

/// [`encode_pending`] for one assessment, which is dropped here.
fn encode_one(plan: &Plan, texts: &mut TextIds, Pending { mut row, made }: Pending) -> NewAssessment {
    match made {
        Made::Record(bytes) => row.record = Some(bytes),
        Made::Explained(assessment) => match record::encode(plan, &assessment, texts) {
            Ok(bytes) => row.record = Some(bytes),
            Err(why) => {
                tracing::warn!(%why, "assessment stored with its explanation as JSON");
                row.explanation = record::explanation_json(&assessment);
            }
        },
    }
    row
}

/// What every contract of a run is scored against.
struct Run<'a> {
    rules: &'a RuleSet,
    world: &'a World,
    marks: &'a HashMap<i64, CurrentMark>,
    opts: &'a RescoreOptions,
    at: NaiveDateTime,
}

/// One thread's scoring: the coverage and tier counts of the rows it scored, and the
/// approvals of the suppliers it met.
struct Worker<'a> {
    run: &'a Run<'a>,
    coverage: Coverage,
    tiers: BTreeMap<String, u64>,
    approvals: HashMap<&'a str, (Vec<ApprovalFact>, String)>,
}

impl<'a> Worker<'a> {
    fn new(run: &'a Run<'a>) -> Self {
        Worker {
            run,
            coverage: Coverage::new(run.rules),
            tiers: BTreeMap::new(),
            approvals: HashMap::new(),
        }
    }

    /// Scores `row` (compact, for coverage and change detection) and, when its rule set,
    /// inputs or outcome changed, makes its record ([`make`]), numbering its texts in
    /// `texts`.
    fn score(&mut self, row: &'a ContractInputRow, texts: &mut impl Interner) -> Option<Pending> {
        let Run {
            rules,
            world,
            marks,
            opts,
            at,
        } = *self.run;
        let facts = contract_facts(row);
        let supplier = world.supplier(&row.orgnr);
        let parent_orgnr = supplier.and_then(SupplierFacts::parent_orgnr);
        let (approvals, supplier_key) = self.approvals.entry(row.orgnr.as_str()).or_insert_with(|| {
            let approvals = world.approvals(&row.orgnr, parent_orgnr);
            let key = supplier_part(world, &row.orgnr, &approvals);
            (approvals, key)
        });
        let input = AssessmentInput {
            contract: &facts,
            supplier: supplier.map(|s| &s.facts),
            supplier_fetched_at: supplier.map(|s| s.fetched_at),
            parent: parent_orgnr.and_then(|p| world.supplier(p)).map(|p| &p.facts),
            approvals,
            shared_address_count: world.shared_address_count(&row.orgnr),
            as_of: opts.as_of,
        };
        let mark = marks.get(&row.id).filter(|_| !opts.force);
        // A contract with a record to compare with is scored first, and recorded only if
        // its outcome or inputs changed; one without is recorded at once.
        let (score, made) = match mark {
            Some(_) => (rules.score(&input), None),
            None => {
                let (score, made, industries) = make(rules, &input, texts);
                (score, Some((made, industries)))
            }
        };
        self.coverage.add_score(rules, &score);
        match self.tiers.get_mut(score.tier) {
            Some(n) => *n += 1,
            None => {
                self.tiers.insert(score.tier.to_owned(), 1);
            }
        }
        let input_sha = contract_input_hash(row, supplier_key);
        let result_sha = score_result_hash(&score);
        if unchanged(mark, rules.version(), &input_sha, &result_sha) {
            return None;
        }
        let (made, industries) = made.unwrap_or_else(|| {
            let (_, made, industries) = make(rules, &input, texts);
            (made, industries)
        });
        Some(Pending {
            row: new_assessment(
                Some(row),
                &row.orgnr,
                world,
                Columns::of_score(rules, &score, industries),
                input_sha,
                result_sha,
                opts,
                at,
            ),
            made,
        })
    }

    fn outcome(self, recorded: Vec<NewAssessment>) -> Outcome {
        Outcome {
            coverage: self.coverage,
            tiers: self.tiers,
            recorded,
        }
    }
}

/// The dictionary of texts shared by the threads that score a large chunk. Each thread
/// keeps the numbers it has met (reasons, codes and dates repeat across thousands of
/// assessments) and takes the lock only for a text new to it. Which thread meets a text
/// first decides its number; a record reads back the same under any numbering, since it is
/// read with the dictionary.
struct SharedTexts<'s, 't> {
    shared: &'s std::sync::Mutex<&'t mut TextIds>,
    met: HashMap<String, u64, foldhash::fast::RandomState>,
    made: crate::risk::record::MadeTexts,
}

impl Interner for SharedTexts<'_, '_> {
    fn intern(&mut self, text: &str) -> u64 {
        if let Some(&id) = self.met.get(text) {
            return id;
        }
        // A panic on a scoring thread is raised again after the join: the run stops there.
        let id = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .id(text);
        self.met.insert(text.to_owned(), id);
        id
    }

    fn intern_made(&mut self, key: &[u8], make: &mut dyn FnMut() -> String) -> u64 {
        let mut made = std::mem::take(&mut self.made);
        let id = made.get_or_make(key, make, |text| self.intern(text));
        self.made = made;
        id
    }
}

/// The cores this process may use, asked once: the standard library reads the cgroup's
/// quota files on every call, and an import asks for every chunk it scores.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).max(1))
}

/// Scores every row and makes the records of the assessments to keep (see
/// [`Worker::score`]), numbering their new texts in `texts`: a large chunk on every core
/// (the rule engine is pure and shares nothing mutable; the dictionary is shared, see
/// [`SharedTexts`]), a small one (an import's chunk, scored beside the threads that read
/// and store the file) on this thread. Each record is made as its contract is scored
/// ([`RuleSet::record_scored`]), without the explained assessment: that is a few kilobytes
/// of small allocations per contract, which a run only turned into the record's bytes
/// (holding a chunk's worth of them had the allocator take fresh pages, which the kernel
/// zeroes, for every chunk: a fifth of an import's time).
fn assess_contracts(
    run: &Run<'_>,
    rows: &[ContractInputRow],
    plan: &Plan,
    texts: &mut TextIds,
) -> Vec<Outcome> {
    let threads = cores();
    if threads == 1 || rows.len() < 2_000 {
        let mut worker = Worker::new(run);
        let mut recorded = Vec::new();
        for row in rows {
            if let Some(p) = worker.score(row, texts) {
                recorded.push(encode_one(plan, texts, p));
            }
        }
        return vec![worker.outcome(recorded)];
    }
    let per = rows.len().div_ceil(threads).max(1);
    let shared = std::sync::Mutex::new(&mut *texts);
    let shared = &shared;
    let scored: Vec<(Worker<'_>, Vec<Pending>)> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    let mut worker = Worker::new(run);
                    let mut texts = SharedTexts {
                        shared,
                        met: HashMap::default(),
                        made: Default::default(),
                    };
                    let pending: Vec<Pending> = chunk
                        .iter()
                        .filter_map(|row| worker.score(row, &mut texts))
                        .collect();
                    (worker, pending)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(o) => o,
                // A panic in the pure engine is a bug; re-raise it rather than record half a run.
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    });
    scored
        .into_iter()
        .map(|(worker, pending)| worker.outcome(encode_pending(plan, texts, pending)))
        .collect()
}

/// A stored assessment with its explanation spelled out: titles, reasons to care and
/// sources from the rule set it was made with.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedAssessment {
    pub assessment_id: i64,
    pub subject: String,
    pub contract_id: Option<i64>,
    pub contract_version: Option<i32>,
    pub orgnr: String,
    pub score: i32,
    pub max_possible_score: i32,
    pub tier: String,
    pub industries: Vec<String>,
    pub rule_set_version: String,
    /// Whether the texts below come from the stored rule set of that version (always, unless
    /// it no longer loads with this version of spotcheck: then only ids and evidence).
    pub rule_texts_available: bool,
    pub as_of: NaiveDate,
    pub facts_fetched_at: Option<NaiveDateTime>,
    pub approvals_loaded_at: serde_json::Value,
    pub input_sha256: String,
    pub reason: String,
    pub assessed_at: NaiveDateTime,
    pub fired: Vec<ExplainedFinding>,
    pub not_computable: Vec<ExplainedFinding>,
    pub passed: Vec<PassedRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExplainedFinding {
    pub rule: String,
    pub title: Option<String>,
    pub weight: u32,
    pub why: Option<String>,
    pub source: Option<String>,
    pub evidence: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PassedRule {
    pub rule: String,
    pub title: Option<String>,
}

/// Spells out a stored assessment with the texts of `rules` (the rule set of the
/// assessment's version, or `None` when it is not available).
pub fn explain(
    conn: &mut DbConn,
    reader: &mut ExplanationReader,
    row: &assessments::AssessmentRow,
    rules: Option<&RuleSet>,
) -> Result<ExplainedAssessment, DbError> {
    // Rebuilt from the record with the plan of the assessment's own rule set (or read from
    // the JSON stored before records existed): the same explanation either way.
    let stored: StoredExplanation = reader.explanation(
        conn,
        row.id,
        &row.rule_set_version,
        &row.industries,
        &row.explanation,
        row.record.as_deref(),
    )?;
    let indicator = |id: &str| rules.and_then(|r| r.indicators().iter().find(|i| i.id == id));
    let finding = |f: StoredFinding| {
        let ind = indicator(&f.rule);
        ExplainedFinding {
            title: ind.map(|i| i.title.to_string()),
            why: ind.map(|i| i.why.to_string()),
            source: ind.map(|i| i.source.to_string()),
            rule: f.rule,
            weight: f.weight,
            evidence: f.evidence,
            reason: f.reason,
        }
    };
    Ok(ExplainedAssessment {
        assessment_id: row.id,
        subject: row.subject.clone(),
        contract_id: row.contract_id,
        contract_version: row.contract_version,
        orgnr: row.orgnr.clone(),
        score: row.score,
        max_possible_score: row.max_possible_score,
        tier: row.tier.clone(),
        industries: stored.industries,
        rule_set_version: row.rule_set_version.clone(),
        rule_texts_available: rules.is_some(),
        as_of: row.as_of,
        facts_fetched_at: row.facts_fetched_at,
        approvals_loaded_at: stored.approvals_loaded_at,
        input_sha256: row.input_sha256.clone(),
        reason: row.reason.clone(),
        assessed_at: row.assessed_at,
        fired: stored.fired.into_iter().map(finding).collect(),
        not_computable: stored.not_computable.into_iter().map(finding).collect(),
        passed: stored
            .passed
            .into_iter()
            .map(|id| PassedRule {
                title: indicator(&id).map(|i| i.title.to_string()),
                rule: id,
            })
            .collect(),
    })
}

/// The rule set of `version`: the active one when it matches, else rebuilt from the files
/// stored with it (`None` when they are missing or no longer load).
pub fn rule_set_of_version(
    conn: &mut DbConn,
    active: &std::sync::Arc<RuleSet>,
    version: &str,
) -> Result<Option<std::sync::Arc<RuleSet>>, DbError> {
    if active.version() == version {
        return Ok(Some(std::sync::Arc::clone(active)));
    }
    Ok(assessments::rule_set_files(conn, version)?
        .and_then(|files| RuleSet::from_files(&files).ok())
        .map(std::sync::Arc::new))
}

/// The options of the scoring that runs with an import by `actor`: as of today (UTC). The
/// scope is left empty: an import hands its contracts to [`ChunkScorer`] chunk by chunk.
pub fn import_options(actor: &Actor) -> RescoreOptions {
    RescoreOptions {
        scope: Scope::Contracts(Vec::new()),
        force: false,
        reason: "import".to_owned(),
        as_of: chrono::Utc::now().date_naive(),
        actor: actor.clone(),
    }
}

/// Rescores `scope` with `rules` as of today (UTC), recording what changed.
pub fn rescore_today(
    conn: &mut DbConn,
    rules: &RuleSet,
    scope: Scope,
    force: bool,
    reason: &str,
    actor: &Actor,
) -> Result<RescoreReport, ScoreError> {
    rescore(
        conn,
        rules,
        &RescoreOptions {
            scope,
            force,
            reason: reason.to_owned(),
            as_of: chrono::Utc::now().date_naive(),
            actor: actor.clone(),
        },
    )
}

/// Rescores after a change that is already stored (an import, new register facts, an
/// approval load). A failure is logged, not returned: the change itself stands and the
/// next rescoring (at start-up, or `spotcheck score`) catches up.
pub fn rescore_after(conn: &mut DbConn, rules: &RuleSet, scope: Scope, reason: &str, actor: &Actor) {
    if matches!(&scope, Scope::Contracts(ids) if ids.is_empty())
        || matches!(&scope, Scope::Suppliers(s) if s.is_empty())
    {
        return;
    }
    match rescore_today(conn, rules, scope, false, reason, actor) {
        Ok(r) => tracing::info!(
            reason,
            assessed = r.contracts_assessed,
            recorded = r.contracts_recorded,
            ms = r.elapsed_ms,
            "rescored"
        ),
        Err(e) => tracing::warn!(error = %e, reason, "rescoring failed; run `spotcheck score`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_while_formatting_hashes_the_formatted_text() {
        // Stored input and result hashes are compared with new ones: the bytes hashed must
        // stay those of the formatted text.
        let (score, tier, fired) = (42u32, "høy", 0x1f_u128);
        assert_eq!(
            sha_hex_of(format_args!("score={score};tier={tier};fired={fired:x}")),
            sha_hex(&format!("score={score};tier={tier};fired={fired:x}"))
        );
        assert_eq!(sha_hex_of(format_args!("")), sha_hex(""));
    }
}
