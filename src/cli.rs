//! The `spotcheck` command line. `main.rs` parses and hands over; everything here returns
//! typed errors so the commands can be tested without a terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::auth::{check_password_policy, hash_password};
use crate::config::Settings;
use crate::db::models::audit::{self, ChainStatus};
use crate::db::models::{Actor, tokens, users};
use crate::domain::roles::{Agency, Role};

pub mod draw;
pub mod risk;

#[derive(Parser, Debug)]
#[command(
    name = "spotcheck",
    version,
    about = "Supplier-chain risk audit for municipal procurement"
)]
pub struct Cli {
    /// TOML configuration file (also SPOTCHECK_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web service (creates the first admin on an empty database).
    Serve,
    /// Run pending database migrations and exit.
    Migrate,
    /// Manage users, roles and API tokens.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Import a contract register (xlsx, xlsm, xls, xlsb, ods or csv).
    Import(ImportArgs),
    /// Look suppliers up in Enhetsregisteret now (due ones; or stale ones; or the given ones).
    Enrich(EnrichArgs),
    /// Load Enhetsregisteret's bulk files (offline enrichment).
    Brreg {
        #[command(subcommand)]
        command: BrregCommand,
    },
    /// Load approval registers (Renholdsregisteret, bilpleie, bemanning) from files.
    Approvals {
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
    /// Rescore contracts and suppliers with the rule set under the rules folder.
    Score(risk::ScoreArgs),
    /// Check risk rule files.
    Rules {
        #[command(subcommand)]
        command: risk::RulesCommand,
    },
    /// Draw a verifiable spot-check sample, or show, extend or export one (docs/draws.md).
    Draw(Box<draw::DrawArgs>),
    /// Recompute a stored draw from its manifest and seed; exit 0 only if every pick matches.
    Verify(draw::VerifyArgs),
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user; the password comes from SPOTCHECK_PASSWORD or a prompt.
    Add {
        name: String,
        #[arg(long)]
        role: String,
        /// Required for role akrim: arbeidstilsynet, skatteetaten, politiet, nav or kemneren.
        #[arg(long)]
        agency: Option<String>,
        /// A machine user without a password (signs in with API tokens only).
        #[arg(long)]
        no_password: bool,
    },
    /// List users.
    List,
    /// Change a user's role (ends their sessions).
    SetRole {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        agency: Option<String>,
    },
    /// Disable a user (ends their sessions; tokens stop working).
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a new password (from SPOTCHECK_PASSWORD or a prompt).
    Passwd { name: String },
    /// Create an API token and print it on stdout (shown once, stored hashed).
    Token {
        name: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// Read this sheet instead of finding the table.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Column mapping when headers are not recognised, e.g. 'contract_id=Nummer;supplier_name=Firma;orgnr=Org nummer'.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Read and report, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `text` (default) or `json` (one JSON object on stdout).
    #[arg(long, default_value = "text")]
    pub format: String,
    /// The user recorded as uploader (also SPOTCHECK_USER).
    #[arg(long, env = "SPOTCHECK_USER", default_value = "admin")]
    pub user: String,
}

#[derive(clap::Args, Debug)]
pub struct EnrichArgs {
    /// Also fetch again what is older than the maximum age (SPOTCHECK_ENRICH_MAX_AGE_HOURS).
    #[arg(long)]
    pub stale: bool,
    /// Fetch these org numbers now (queued if new).
    #[arg(long, num_args = 1..)]
    pub orgnr: Vec<String>,
    /// First read the register's change feeds and queue our suppliers that changed.
    #[arg(long)]
    pub feed: bool,
}

#[derive(Subcommand, Debug)]
pub enum BrregCommand {
    /// Load a bulk download (`enheter_alle.json.gz`, `underenheter_alle.json.gz` or the CSV
    /// dump, gzipped or not): by default only the org numbers we hold.
    Load {
        file: PathBuf,
        /// Store every unit in the file, not only our suppliers.
        #[arg(long)]
        all: bool,
        /// `json` or `csv`; by default from the file name.
        #[arg(long)]
        format: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApprovalsCommand {
    /// Load a register file: Renholdsregisteret XML, or CSV `orgnr;status;date` for any register.
    Load {
        /// renhold, bilpleie or bemanning
        #[arg(long)]
        register: String,
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the hash chain; exit 0 only when it is intact.
    Verify,
    /// Show the latest entries.
    Tail {
        #[arg(long, default_value_t = 20)]
        n: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Role(#[from] crate::domain::roles::RoleError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error("no password given: set SPOTCHECK_PASSWORD or run in a terminal to be asked")]
    NoPassword,
    #[error("could not read the password: {0}")]
    Prompt(std::io::Error),
    #[error("the passwords do not match")]
    PasswordMismatch,
    #[error("the audit log is broken at entry {entry}: {problem}")]
    AuditBroken { entry: i64, problem: String },
    #[error("{0}")]
    Import(String),
    #[error(transparent)]
    Enrich(#[from] crate::enrich::EnrichError),
    #[error("{0}")]
    Load(String),
    #[error("the rule set in {dir} does not load; fix these and try again:\n{errors}")]
    Rules {
        dir: PathBuf,
        errors: crate::risk::RuleSetError,
    },
    #[error(transparent)]
    Score(#[from] crate::scoring::ScoreError),
    #[error("unknown --format «{0}»: use text or json")]
    Format(String),
    #[error("output failed: {0}")]
    Io(#[from] std::io::Error),
}

fn parse_agency(a: Option<String>) -> Result<Option<Agency>, CliError> {
    Ok(a.map(|s| s.parse()).transpose()?)
}

/// Reads a password from `SPOTCHECK_PASSWORD`, or asks twice on the terminal.
fn read_password() -> Result<String, CliError> {
    if let Ok(p) = std::env::var("SPOTCHECK_PASSWORD") {
        check_password_policy(&p)?;
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::NoPassword);
    }
    let p = rpassword::prompt_password("Passord: ").map_err(CliError::Prompt)?;
    check_password_policy(&p)?;
    let again = rpassword::prompt_password("Gjenta passord: ").map_err(CliError::Prompt)?;
    if p != again {
        return Err(CliError::PasswordMismatch);
    }
    Ok(p)
}

/// Runs a user-management command, writing its result to `out`.
pub fn run_users(settings: &Settings, cmd: UsersCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let pool = crate::app::open_database(settings)?;
    let mut conn = pool.get().map_err(crate::db::DbError::from)?;
    let actor = Actor::cli();
    match cmd {
        UsersCommand::Add {
            name,
            role,
            agency,
            no_password,
        } => {
            let role: Role = role.parse()?;
            let agency = parse_agency(agency)?;
            crate::domain::roles::validate_role_agency(role, agency)?;
            let hash = if no_password {
                None
            } else {
                Some(hash_password(&read_password()?)?)
            };
            let user = users::create(&mut conn, &actor, &name, role, agency, hash)?;
            writeln!(out, "created user {} with role {}", user.username, user.role)?;
        }
        UsersCommand::List => {
            for u in users::list(&mut conn)? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.role,
                    u.agency.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
                    if u.disabled { "disabled" } else { "active" }
                )?;
            }
        }
        UsersCommand::SetRole { name, role, agency } => {
            let user = users::set_role(&mut conn, &actor, &name, role.parse()?, parse_agency(agency)?)?;
            writeln!(out, "{} now has role {}", user.username, user.role)?;
        }
        UsersCommand::Disable { name } => {
            let user = users::set_disabled(&mut conn, &actor, &name, true)?;
            writeln!(out, "{} is disabled", user.username)?;
        }
        UsersCommand::Enable { name } => {
            let user = users::set_disabled(&mut conn, &actor, &name, false)?;
            writeln!(out, "{} is enabled", user.username)?;
        }
        UsersCommand::Passwd { name } => {
            let hash = hash_password(&read_password()?)?;
            users::set_password(&mut conn, &actor, &name, hash)?;
            writeln!(out, "password changed for {}", name.trim())?;
        }
        UsersCommand::Token { name, label } => {
            // stdout carries the token and nothing else, so scripts can capture it.
            let token = tokens::create(&mut conn, &actor, &name, &label)?;
            writeln!(out, "{token}")?;
        }
    }
    Ok(())
}

pub fn run_audit(settings: &Settings, cmd: AuditCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let pool = crate::app::open_database(settings)?;
    let mut conn = pool.get().map_err(crate::db::DbError::from)?;
    match cmd {
        AuditCommand::Verify => match audit::verify(&mut conn)? {
            ChainStatus::Intact { entries } => {
                writeln!(out, "audit log intact: {entries} entries verified")?;
                Ok(())
            }
            ChainStatus::Broken {
                verified,
                first_break,
            } => Err(CliError::AuditBroken {
                entry: verified + 1,
                problem: first_break.to_string(),
            }),
        },
        AuditCommand::Tail { n } => {
            let mut rows = audit::recent(&mut conn, n)?;
            rows.reverse();
            for r in rows {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{} {}\t{}",
                    r.id,
                    crate::domain::audit_chain::format_at(&r.at),
                    r.actor,
                    r.action,
                    r.object_type,
                    r.object_id,
                    r.detail
                )?;
            }
            Ok(())
        }
    }
}

/// `spotcheck import`: prints the report; a file that cannot be read is an error (non-zero
/// exit, message on stderr) and stores nothing.
pub fn run_import(settings: &Settings, args: ImportArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let json = match args.format.as_str() {
        "json" => true,
        "text" => false,
        other => return Err(CliError::Format(other.to_owned())),
    };
    let mut opts = crate::import::ImportOptions {
        max_bytes: settings.max_upload_bytes,
        sheet: args.sheet,
        ..Default::default()
    };
    if let Some(m) = &args.mapping {
        opts.mapping =
            Some(crate::import::ColumnMapping::parse_spec(m).map_err(|e| CliError::Import(e.to_string()))?);
    }
    let pool = crate::app::open_database(settings)?;
    let uploader = {
        let mut conn = pool.get().map_err(crate::db::DbError::from)?;
        users::find_by_username(&mut conn, &args.user)?.ok_or_else(|| {
            CliError::Import(format!("ingen bruker heter «{}» (velg med --user)", args.user))
        })?
    };
    let meta = std::fs::metadata(&args.file)
        .map_err(|e| CliError::Import(format!("kan ikke lese {}: {e}", args.file.display())))?;
    if meta.len() > opts.max_bytes {
        return Err(CliError::Import(
            crate::import::ImportError::TooLarge {
                size: meta.len(),
                limit: opts.max_bytes,
            }
            .to_string(),
        ));
    }
    let bytes = std::fs::read(&args.file)
        .map_err(|e| CliError::Import(format!("kan ikke lese {}: {e}", args.file.display())))?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message(format!("leser {file_name}"));
        b
    });
    let mut progress = |rows: u64| {
        if let Some(b) = &bar {
            b.set_position(rows);
            b.set_message(format!("{rows} rader lest"));
            b.tick();
        }
    };
    let result = crate::app::import_register(
        &pool,
        &uploader,
        &file_name,
        &bytes,
        &opts,
        args.dry_run,
        &mut progress,
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result.map_err(|e| CliError::Import(e.to_string()))?;
    if let (Some(batch_id), false) = (report.batch_id, report.already_imported) {
        match crate::db::models::risk::contract_ids_of_batch(
            &mut *pool.get().map_err(crate::db::DbError::from)?,
            batch_id,
        ) {
            Ok(ids) if !ids.is_empty() => {
                risk::rescore_after(settings, &pool, crate::scoring::Scope::Contracts(ids), "import")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "not rescored after the import; run `spotcheck score`"),
        }
    }
    if json {
        let v = serde_json::json!({
            "batch_id": report.batch_id,
            "rows_total": report.rows_total,
            "rows_imported": report.rows_imported,
            "rows_rejected": report.rows_rejected,
            "errors": report.errors,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    match (report.batch_id, report.already_imported) {
        (Some(id), true) => writeln!(
            out,
            "{file_name}: already imported as batch {id}; nothing stored again"
        )?,
        (Some(id), false) => writeln!(out, "{file_name}: stored as batch {id}")?,
        (None, _) => writeln!(out, "{file_name}: dry run, nothing stored")?,
    }
    writeln!(
        out,
        "format {}, sheet «{}», header on row {}\nrows: {} total, {} imported, {} rejected\ncontracts: {} new, {} updated, {} unchanged; {} new suppliers",
        report.format,
        report.sheet,
        report.header_row,
        report.rows_total,
        report.rows_imported,
        report.rows_rejected,
        report.contracts_created,
        report.contracts_updated,
        report.contracts_unchanged,
        report.suppliers_created
    )?;
    for e in &report.errors {
        writeln!(
            out,
            "  {} rad {}, kolonne «{}», verdi «{}»: {}",
            e.sheet, e.row, e.column, e.value, e.message
        )?;
    }
    Ok(())
}

fn orgnr_arg(raw: &str) -> Result<String, CliError> {
    crate::domain::orgnr::OrgNr::parse_lenient(raw)
        .map(|o| o.to_string())
        .map_err(|e| CliError::Load(format!("«{raw}»: {e}")))
}

/// `spotcheck enrich`: runs due look-ups until none are left, then reports the queue.
pub fn run_enrich(settings: &Settings, args: EnrichArgs, out: &mut dyn Write) -> Result<(), CliError> {
    use crate::db::models::enrichment;
    let pool = crate::app::open_database(settings)?;
    {
        let mut conn = pool.get().map_err(crate::db::DbError::from)?;
        if !args.orgnr.is_empty() {
            let list = args
                .orgnr
                .iter()
                .map(|o| orgnr_arg(o))
                .collect::<Result<Vec<_>, _>>()?;
            enrichment::enqueue(&mut conn, &list)?;
        }
        if args.stale {
            let n =
                enrichment::requeue_stale(&mut conn, chrono::Duration::hours(settings.enrich_max_age_hours))?;
            writeln!(out, "{n} stale suppliers queued")?;
        }
    }
    let mut enricher = crate::enrich::Enricher::from_settings(pool.clone(), settings)?;
    match crate::app::load_rules(settings) {
        Ok(rules) => {
            enricher = enricher.with_rules(std::sync::Arc::new(crate::risk::ActiveRuleSet::new(rules)))
        }
        Err(e) => tracing::warn!(errors = %e, "the rule set does not load: facts are stored but not scored"),
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Io)?;
    if args.feed {
        let f = runtime.block_on(enricher.follow_feeds(100))?;
        writeln!(
            out,
            "change feeds: {} updates, {} of our suppliers queued",
            f.updates, f.queued
        )?;
    }
    let s = runtime.block_on(enricher.run_until_idle())?;
    writeln!(
        out,
        "looked up {}: {} ok, {} to retry later, {} failed",
        s.claimed, s.succeeded, s.retrying, s.failed
    )?;
    let mut conn = pool.get().map_err(crate::db::DbError::from)?;
    for (state, n) in enrichment::job_counts(&mut conn)? {
        writeln!(out, "  {state}: {n}")?;
    }
    Ok(())
}

/// `spotcheck brreg load`: streams a bulk file into the register history, in one transaction.
pub fn run_brreg(settings: &Settings, cmd: BrregCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let BrregCommand::Load { file, all, format } = cmd;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let csv = match format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(CliError::Load(format!(
                "unknown --format «{other}»: use json or csv"
            )));
        }
        None => name.contains(".csv"),
    };
    let pool = crate::app::open_database(settings)?;
    let mut conn = pool.get().map_err(crate::db::DbError::from)?;
    let reader =
        std::fs::File::open(&file).map_err(|e| CliError::Load(format!("{}: {e}", file.display())))?;
    let stats = crate::app::load_bulk(
        &mut conn,
        std::io::BufReader::new(reader),
        csv,
        all,
        &Actor::cli(),
        &name,
    )?;
    risk::rescore_after(settings, &pool, crate::scoring::Scope::All, "enrichment");
    writeln!(
        out,
        "{name}: {} units read, {} stored, {} skipped (not our suppliers), {} rejected; {} of our suppliers not in the file",
        stats.read,
        stats.delivered,
        stats.skipped,
        stats.rejected,
        stats.not_found.len()
    )?;
    Ok(())
}

/// `spotcheck approvals load`: one dated load of an approval register file.
pub fn run_approvals(
    settings: &Settings,
    cmd: ApprovalsCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    use crate::brreg::approvals::{self, Register};
    let ApprovalsCommand::Load { register, file } = cmd;
    let register = match register.as_str() {
        "renhold" => Register::Renhold,
        "bilpleie" => Register::Bilpleie,
        "bemanning" => Register::Bemanning,
        other => {
            return Err(CliError::Load(format!(
                "unknown register «{other}»: use renhold, bilpleie or bemanning"
            )));
        }
    };
    let bytes = std::fs::read(&file).map_err(|e| CliError::Load(format!("{}: {e}", file.display())))?;
    let looks_xml = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
        == Some(&b'<');
    let parsed = if looks_xml {
        if register != Register::Renhold {
            return Err(CliError::Load(
                "only Renholdsregisteret is read as XML; give a CSV for this register".into(),
            ));
        }
        approvals::read_renhold_xml(std::io::Cursor::new(&bytes))
    } else {
        approvals::read_csv(register, std::io::Cursor::new(&bytes))
    }
    .map_err(|e| CliError::Load(e.to_string()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let pool = crate::app::open_database(settings)?;
    let mut conn = pool.get().map_err(crate::db::DbError::from)?;
    let id =
        crate::db::models::enrichment::store_approval_file(&mut conn, &Actor::cli(), &name, &sha, &parsed)?;
    writeln!(
        out,
        "{name}: load {id}, {} entries, {} rows rejected",
        parsed.entries.len(),
        parsed.rejected.len()
    )?;
    for r in &parsed.rejected {
        writeln!(out, "  line {}: {}", r.line, r.message)?;
    }
    drop(conn);
    risk::rescore_after(settings, &pool, crate::scoring::Scope::All, "approvals");
    Ok(())
}
