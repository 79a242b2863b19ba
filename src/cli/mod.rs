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
use crate::risk::RuleSet;

pub mod approvals;
pub mod audit;
pub mod brreg;
pub mod cases;
pub mod contracts;
pub mod draw;
pub mod enrich;
pub mod import;
pub mod liaisons;
pub mod outbox;
pub mod rules;
pub mod score;
pub mod users;

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
    Serve(ServeArgs),
    /// Run pending database migrations and exit.
    Migrate,
    /// Manage users, roles and API tokens.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Import a contract register (xlsx, xlsm, xls, xlsb, ods or csv).
    Import(import::ImportArgs),
    /// Kontrakter: flytt en kontrakt til en annen eier.
    Contracts {
        #[command(subcommand)]
        command: contracts::ContractsCommand,
    },
    /// Look suppliers up in Enhetsregisteret now (due ones; or stale ones; or the given ones).
    Enrich(enrich::EnrichArgs),
    /// Load Enhetsregisteret's bulk files (offline enrichment).
    Brreg {
        #[command(subcommand)]
        command: brreg::BrregCommand,
    },
    /// Load approval registers (Renholdsregisteret, bilpleie, bemanning) from files.
    Approvals {
        #[command(subcommand)]
        command: approvals::ApprovalsCommand,
    },
    /// Rescore contracts and suppliers with the rule set in force.
    Score(score::ScoreArgs),
    /// Check, import and export risk rule sets.
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
    /// Draw a verifiable spot-check sample, or show, extend or export one (docs/draws.md).
    Draw(Box<draw::DrawArgs>),
    /// Recompute a stored draw from its manifest and seed; exit 0 only if every pick matches.
    Verify(draw::VerifyArgs),
    /// Manage the contacts at the A-krim agencies who receive mail.
    Liaisons {
        #[command(subcommand)]
        command: liaisons::LiaisonsCommand,
    },
    /// The mail queue: send what is due, list, retry dead letters.
    Outbox {
        #[command(subcommand)]
        command: outbox::OutboxCommand,
    },
    /// Saker: list dem, eller vis én (for Kemneren og drift).
    Cases {
        #[command(subcommand)]
        command: cases::CasesCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
}

/// `spotcheck serve` flags.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Seed a demo register on an empty database (or reset the demo users' passwords on
    /// one that holds the demo) and print the demo users; never contacts the network.
    #[arg(long)]
    pub demo: bool,
}

/// How a command prints its result: for people, or one JSON object for scripts.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

impl OutputFormat {
    pub fn is_json(self) -> bool {
        self == OutputFormat::Json
    }
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
    Enrich(#[from] crate::service::enrichment::EnrichError),
    #[error("{0}")]
    Load(String),
    #[error("the rule set in {dir} does not load; fix these and try again:\n{errors}")]
    Rules {
        dir: PathBuf,
        errors: crate::risk::RuleSetError,
    },
    #[error(transparent)]
    RuleStore(#[from] crate::service::rules::RulesError),
    #[error(transparent)]
    User(#[from] crate::service::users::AccountError),
    #[error(transparent)]
    Score(#[from] crate::service::scoring::ScoreError),
    #[error(transparent)]
    Liaison(#[from] crate::service::liaisons::LiaisonError),
    #[error(transparent)]
    Owner(#[from] crate::service::contracts::OwnerError),
    #[error("output failed: {0}")]
    Io(#[from] std::io::Error),
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
