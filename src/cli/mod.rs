//! The `spotcheck` command line, one file per subcommand. `main.rs` parses and hands over;
//! everything here returns typed errors so the commands can be tested without a terminal.
//!
//! Every command works on a fresh data folder from any directory: the database is created
//! and migrated on first use, the rule set comes from the database (the embedded default
//! on an empty one), and commands that need a user act as `--user NAME` or, without it, as
//! the operations user (`service::users::OPERATOR`).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Settings;
use crate::db::models::Actor;
use crate::db::models::users::User;
use crate::db::{DbError, Pool, PooledConn};
use crate::domain::io_text::io_reason;
use crate::risk::RuleSet;

pub mod approvals;
pub mod audit;
pub mod brreg;
pub mod cases;
pub mod chrome;
pub mod contracts;
pub mod draw;
pub mod enrich;
pub mod import;
pub mod liaisons;
pub mod outbox;
pub mod rules;
pub mod score;
pub mod users;

// Help texts are clap attributes in Norwegian (what people read); `///` comments are code
// documentation in English. clap would show a doc comment as help, so every user-visible
// item carries its own `about`/`help`.

/// The parsed command line.
#[derive(Parser, Debug)]
#[command(
    name = "spotcheck",
    version,
    about = "Stikkprøvekontroll av kommunens kontrakter i risikobransjer: importer kontraktregistre, \
             berik, risikovurder og trekk etterprøvbare stikkprøver"
)]
pub struct Cli {
    /// Settings file; `config::Settings::load` also reads SPOTCHECK_CONFIG.
    #[arg(
        long,
        global = true,
        value_name = "FIL",
        help = "TOML-fil med innstillinger (også SPOTCHECK_CONFIG)"
    )]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, one file each.
#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(about = "Kjør webtjenesten (oppretter den første administratoren i en tom database)")]
    Serve(ServeArgs),
    #[command(about = "Kjør databasemigreringene som gjenstår, og avslutt")]
    Migrate,
    #[command(about = "Brukere, roller og API-nøkler")]
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    #[command(about = "Importer et kontraktregister (xlsx, xlsm, xls, xlsb, ods eller csv)")]
    Import(import::ImportArgs),
    #[command(about = "Kontrakter: flytt en kontrakt til en annen eier")]
    Contracts {
        #[command(subcommand)]
        command: contracts::ContractsCommand,
    },
    #[command(
        about = "Slå opp leverandører i Enhetsregisteret nå (de som står for tur, gamle oppslag eller de oppgitte)"
    )]
    Enrich(enrich::EnrichArgs),
    #[command(about = "Les inn Enhetsregisterets totaluttrekk (berikelse uten nett)")]
    Brreg {
        #[command(subcommand)]
        command: brreg::BrregCommand,
    },
    #[command(about = "Les inn godkjenningsregistre (Renholdsregisteret, bilpleie, bemanning) fra filer")]
    Approvals {
        #[command(subcommand)]
        command: approvals::ApprovalsCommand,
    },
    #[command(about = "Risikovurder kontrakter og leverandører på nytt med regelsettet i bruk")]
    Score(score::ScoreArgs),
    #[command(about = "Kontroller, importer og eksporter regelsett")]
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
    #[command(
        about = "Trekk et etterprøvbart stikkprøveutvalg, eller vis, utvid eller eksporter en trekning (docs/draws.md)"
    )]
    Draw(Box<draw::DrawArgs>),
    #[command(
        about = "Beregn en lagret trekning på nytt fra manifestet og seeden; avslutter med 0 bare når hvert trekk stemmer"
    )]
    Verify(draw::VerifyArgs),
    #[command(about = "Kontaktpersonene hos A-krim-etatene som får e-post")]
    Liaisons {
        #[command(subcommand)]
        command: liaisons::LiaisonsCommand,
    },
    #[command(
        about = "Utboksen: send e-post som står for tur, list opp, send e-post som har feilet permanent på nytt"
    )]
    Outbox {
        #[command(subcommand)]
        command: outbox::OutboxCommand,
    },
    #[command(about = "Saker: list dem opp, eller vis én (for Kemneren og drift)")]
    Cases {
        #[command(subcommand)]
        command: cases::CasesCommand,
    },
    #[command(about = "Revisjonsloggen: kontroller hashkjeden, vis de nyeste oppføringene")]
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
}

/// `spotcheck serve` flags.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Seeds the demo register (see `service::demo`).
    #[arg(
        long,
        help = "Legg inn et demoregister i en tom database (eller gi demobrukerne nye passord i en \
                database med demoen) og skriv ut demobrukerne; kontakter aldri nettet"
    )]
    pub demo: bool,
}

/// The command tree as people meet it: built, with clap's own texts in Norwegian
/// ([`chrome`]).
pub fn command() -> clap::Command {
    chrome::localized(<Cli as clap::CommandFactory>::command())
}

/// Parses the process's arguments with [`command`]; on `--help`, `--version` or an error,
/// prints (in Norwegian) and exits as clap does.
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

/// [`parse`] over given arguments (the first is the program name).
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command();
    let parsed = cmd
        .try_get_matches_from_mut(args)
        .and_then(|mut matches| <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches));
    match parsed {
        Ok(cli) => cli,
        Err(e) => e.format(&mut cmd).apply::<chrome::Norwegian>().exit(),
    }
}

/// How a command prints its result: for people, or one JSON object for scripts. The values
/// (`text`, `json`) are what a script passes, so they stay as they are.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// The help of every `--format`; clap appends the values and the default.
pub const FORMAT_HELP: &str = "Utdata for folk (text) eller ett JSON-objekt på stdout for skript (json)";

impl OutputFormat {
    pub fn is_json(self) -> bool {
        self == OutputFormat::Json
    }
}

/// A command's failure, worded in Norwegian for the person at the terminal. Errors from the
/// service layer are shown with the Norwegian wording they already have (`Missing`,
/// `Conflict`, field and workflow errors, the web pages' text for a busy database); those
/// that only exist in English (database faults, a rule folder that cannot be read, the
/// enrichment worker's internal faults) are shown as they are.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{}", config_message(.0))]
    Config(#[from] crate::config::ConfigError),
    #[error("{}", db_message(.0))]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Role(#[from] crate::domain::roles::RoleError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error("ingen passord: sett SPOTCHECK_PASSWORD, eller kjør kommandoen i en terminal for å bli spurt")]
    NoPassword,
    #[error("kunne ikke lese passordet: {}", io_reason(.0))]
    Prompt(std::io::Error),
    #[error("passordene er ikke like")]
    PasswordMismatch,
    #[error("revisjonsloggen er brutt ved hendelse {entry}: {}", chain_break_message(.problem))]
    AuditBroken {
        entry: i64,
        problem: crate::domain::audit_chain::ChainBreak,
    },
    #[error("{0}")]
    Import(String),
    #[error("{}", enrich_message(.0))]
    Enrich(#[from] crate::service::enrichment::EnrichError),
    #[error("{0}")]
    Load(String),
    #[error("regelsettet i {} kan ikke lastes; rett dette og prøv igjen:\n{errors}", .dir.display())]
    Rules {
        dir: PathBuf,
        errors: crate::risk::RuleSetError,
    },
    #[error("{}", rules_message(.0))]
    RuleStore(#[from] crate::service::rules::RulesError),
    #[error("{}", account_message(.0))]
    User(#[from] crate::service::users::AccountError),
    #[error("{}", score_message(.0))]
    Score(#[from] crate::service::scoring::ScoreError),
    #[error("{}", liaison_message(.0))]
    Liaison(#[from] crate::service::liaisons::LiaisonError),
    #[error("{}", owner_message(.0))]
    Owner(#[from] crate::service::contracts::OwnerError),
    #[error("kunne ikke skrive resultatet: {}", io_reason(.0))]
    Io(#[from] std::io::Error),
}

/// A settings problem. The message inside `Invalid` comes from `config` in English.
fn config_message(e: &crate::config::ConfigError) -> String {
    use crate::config::ConfigError;
    match e {
        ConfigError::Read { path, source } => {
            format!(
                "kunne ikke lese innstillingsfilen {}: {}",
                path.display(),
                io_reason(source)
            )
        }
        ConfigError::Parse { path, message } => {
            format!("innstillingsfilen {} er ugyldig: {message}", path.display())
        }
        ConfigError::Invalid { name, message } => format!("innstillingen {name} er ugyldig: {message}"),
    }
}

/// A storage error in the Norwegian the pages use where there is one; a fault of the
/// database itself (a failed query, connection or migration) is shown as the storage
/// layer words it, in English.
pub fn db_message(e: &DbError) -> String {
    match e {
        DbError::NotFound(m) => m.norwegian(),
        DbError::Conflict(c) => c.norwegian(),
        // Norwegian already (`domain::paging`, `db::models::users`).
        DbError::Paging(_) | DbError::User(_) => e.to_string(),
        busy if busy.is_busy() => crate::web::error::AppError::Busy(String::new()).page_detail(),
        // The details below are the database's or the driver's own words.
        DbError::Query(q) => format!("databasen svarte med en feil: {q}"),
        DbError::Connect(c) => format!("kunne ikke koble til databasen: {c}"),
        DbError::Migration(m) => format!("kunne ikke oppgradere databasen (migrering): {m}"),
        DbError::DataDir { path, source } => format!(
            "kunne ikke lage datamappen {}: {}",
            path.display(),
            io_reason(source)
        ),
        DbError::Invalid(v) => format!("ugyldig verdi: {v}"),
        DbError::Corrupt(c) => format!("intern feil i lagrede data: {c}"),
        DbError::ImportRunning => {
            "en annen import lagres akkurat nå; prøv igjen når den er ferdig".to_owned()
        }
    }
}

fn chain_break_message(b: &crate::domain::audit_chain::ChainBreak) -> String {
    use crate::domain::audit_chain::ChainBreak;
    match b {
        ChainBreak::Gap { seq, expected } => format!(
            "hendelse {seq} står der hendelse {expected} skulle stått; hendelser er fjernet eller satt inn i ettertid"
        ),
        ChainBreak::Link { seq } => {
            format!("hendelse {seq} peker ikke på hashen til hendelsen før; kjeden er skrevet om")
        }
        ChainBreak::Content { seq } => {
            format!("innholdet i hendelse {seq} stemmer ikke med hashen; hendelsen er endret")
        }
    }
}

fn enrich_message(e: &crate::service::enrichment::EnrichError) -> String {
    use crate::service::enrichment::EnrichError;
    match e {
        EnrichError::Db(d) => db_message(d),
        // The register client's own errors are Norwegian.
        EnrichError::Client(c) => c.to_string(),
        EnrichError::Task(t) => format!("en bakgrunnsoppgave feilet: {t}"),
    }
}

fn rules_message(e: &crate::service::rules::RulesError) -> String {
    use crate::service::rules::RulesError;
    match e {
        RulesError::Db(d) => db_message(d),
        RulesError::Score(s) => score_message(s),
        RulesError::Folder { path, source } => format!("regelmappen {path}: {}", io_reason(source)),
        RulesError::StoredInvalid { version, errors } => {
            format!("den lagrede regelsamlingen {version} lar seg ikke laste: {errors}")
        }
        other => other.to_string(),
    }
}

fn account_message(e: &crate::service::users::AccountError) -> String {
    use crate::service::users::AccountError;
    match e {
        AccountError::Db(d) => db_message(d),
        other => other.to_string(),
    }
}

fn score_message(e: &crate::service::scoring::ScoreError) -> String {
    use crate::service::scoring::ScoreError;
    match e {
        ScoreError::Db(d) => db_message(d),
    }
}

fn liaison_message(e: &crate::service::liaisons::LiaisonError) -> String {
    use crate::service::liaisons::LiaisonError;
    match e {
        LiaisonError::Db(d) => db_message(d),
        LiaisonError::Field(f) => f.to_string(),
    }
}

fn owner_message(e: &crate::service::contracts::OwnerError) -> String {
    use crate::service::contracts::OwnerError;
    match e {
        OwnerError::Db(d) => db_message(d),
        OwnerError::Field(f) => f.to_string(),
    }
}

/// What every command needs: the settings and the database (created and migrated if new).
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub pool: Pool,
}

/// A command ends with its database whole: the import's background checkpoint done, then
/// the pool closed (the fields drop after this), so SQLite's last close copies what is left
/// of the write-ahead log into the database file and removes the log.
impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        crate::service::imports::wait_for_background_checkpoints();
    }
}

impl<'a> Ctx<'a> {
    pub fn open(settings: &'a Settings) -> Result<Self, CliError> {
        // A command at a terminal or in cron waits for another writer (a large import
        // through the web) rather than failing after the service's short wait.
        let patient = Settings {
            db_busy_timeout_ms: settings.db_busy_timeout_ms.max(10 * 60 * 1000),
            ..settings.clone()
        };
        Ok(Ctx {
            settings,
            pool: crate::app::open_database(&patient)?,
        })
    }

    pub fn conn(&self) -> Result<PooledConn, CliError> {
        Ok(self.pool.get().map_err(DbError::from)?)
    }

    /// The rule set in force (a configured rules folder is imported first).
    pub fn rules(&self) -> Result<RuleSet, CliError> {
        crate::app::load_rules(&self.pool, self.settings, &Actor::cli()).map_err(|e| match e {
            crate::service::rules::RulesError::Invalid(errors) => CliError::Rules {
                dir: self.settings.rules_dir.clone().unwrap_or_default(),
                errors,
            },
            other => other.into(),
        })
    }

    /// The user named by `--user`, or the operations user.
    pub fn acting_user(&self, name: Option<&str>) -> Result<User, CliError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        Ok(crate::service::users::acting_user(
            &mut *self.conn()?,
            &Actor::cli(),
            name,
        )?)
    }

    /// The enrichment worker, rescoring with the rule set in force.
    pub fn enricher(&self) -> Result<crate::service::enrichment::Enricher, CliError> {
        let rules = std::sync::Arc::new(crate::service::rules::ActiveRules::new(self.rules()?));
        Ok(
            crate::service::enrichment::Enricher::from_settings(self.pool.clone(), self.settings)?
                .with_rules(rules),
        )
    }

    /// After a command changed what scores read: rescores `scope` with the rule set in
    /// force. The command's own work is stored already, so a failure is a warning.
    pub fn rescore_after(&self, scope: crate::service::scoring::Scope, reason: &str) {
        let rules = match self.rules() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "not rescored: the rule set does not load");
                return;
            }
        };
        match self.conn() {
            Ok(mut c) => crate::service::scoring::rescore_after(&mut c, &rules, scope, reason, &Actor::cli()),
            Err(e) => tracing::warn!(error = %e, "not rescored; run `spotcheck score`"),
        }
    }
}
