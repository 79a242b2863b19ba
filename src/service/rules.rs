//! The rule set in force: stored in the database, shared by every instance.
//!
//! Every version ever used is stored with its files (`rule_sets`); the newest activation
//! (`rule_set_activations`) names the set in force. On an empty database the default rule
//! set, embedded in the binary from the repository's `rules/` folder, is activated, so the
//! installed binary needs no checkout. `rules/` stays the readable, reviewable source and
//! the exchange format: `spotcheck rules import|export|check DIR`.
//!
//! A running service holds the set in an [`ActiveRules`]; [`refresh`] (polled by `serve`)
//! swaps in a set another instance activated, so all instances on one database score and
//! draw with the same rules within one poll interval.

use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::db::models::audit::{self, Event};
use crate::db::models::{Actor, assessments, now};
use crate::db::{DbConn, DbError, write_tx};
use crate::risk::{RuleError, RuleSet, RuleSetError};

/// The default rule set, compiled into the binary. `embedded_default_matches_rules_folder`
/// (a test) keeps this list equal to the `*.toml` files of `rules/`.
const DEFAULT_FILES: [(&str, &str); 4] = [
    ("industries.toml", include_str!("../../rules/industries.toml")),
    ("indicators.toml", include_str!("../../rules/indicators.toml")),
    ("parameters.toml", include_str!("../../rules/parameters.toml")),
    ("tiers.toml", include_str!("../../rules/tiers.toml")),
];

/// Why a rule set could not be loaded, stored or written.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The files do not make a valid rule set; every problem with file and line.
    #[error("{0}")]
    Invalid(#[from] RuleSetError),
    /// The stored files of the active version no longer load (a newer binary with a
    /// stricter format, or a damaged row).
    #[error("the stored rule set {version} does not load: {errors}")]
    StoredInvalid { version: String, errors: RuleSetError },
    #[error("rule folder {path}: {source}")]
    Folder { path: String, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Score(#[from] crate::service::scoring::ScoreError),
}

impl From<diesel::result::Error> for RulesError {
    fn from(e: diesel::result::Error) -> Self {
        RulesError::Db(e.into())
    }
}

/// The files of the default rule set, `(name, text)`.
pub fn default_files() -> Vec<(String, String)> {
    DEFAULT_FILES
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

/// The default rule set. It is checked by the test suite, so a failure here is a build
/// that should never have shipped; the error still says what is wrong.
pub fn default_rule_set() -> Result<RuleSet, RuleSetError> {
    RuleSet::from_files(&default_files())
}

/// The rule set a running process uses; cheap to read per request.
#[derive(Debug)]
pub struct ActiveRules {
    current: RwLock<Arc<RuleSet>>,
}

impl ActiveRules {
    pub fn new(rules: RuleSet) -> Self {
        ActiveRules {
            current: RwLock::new(Arc::new(rules)),
        }
    }

    /// The set in force now (an `Arc` clone).
    pub fn get(&self) -> Arc<RuleSet> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            // A panic while holding the lock cannot leave a half-written Arc behind.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Swaps in `rules`.
    pub fn set(&self, rules: RuleSet) {
        let mut g = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = Arc::new(rules);
    }
}

/// A plain `*.toml` file name: no folders, no hidden files (the loader skips those).
fn check_file_names(files: &[(String, String)]) -> Result<(), RuleSetError> {
    let errors: Vec<RuleError> = files
        .iter()
        .filter(|(name, _)| {
            !name.ends_with(".toml")
                || name.starts_with('.')
                || name.contains(['/', '\\'])
                || name.contains("..")
                || name.len() > 100
        })
        .map(|(name, _)| RuleError {
            file: name.clone(),
            line: 0,
            rule: None,
            message: "filnavnet må være et enkelt navn som slutter på .toml (ingen mapper, ikke skjult)"
                .into(),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(RuleSetError { errors })
    }
}

/// Validates a set of files as sent by a person (names checked too); stores nothing.
pub fn validate(files: &[(String, String)]) -> Result<RuleSet, RuleSetError> {
    check_file_names(files)?;
    RuleSet::from_files(files)
}

/// The version named by the newest activation, if any.
pub fn active_version(conn: &mut DbConn) -> Result<Option<String>, DbError> {
    Ok(assessments::activations(conn, 1)?
        .into_iter()
        .next()
        .map(|a| a.version))
}

fn load_version(conn: &mut DbConn, version: &str) -> Result<Option<RuleSet>, RulesError> {
    let Some(files) = assessments::rule_set_files(conn, version)? else {
        return Ok(None);
    };
    RuleSet::from_files(&files)
        .map(Some)
        .map_err(|errors| RulesError::StoredInvalid {
            version: version.to_owned(),
            errors,
        })
}

/// The set in force: the newest activated version; on a database where none was ever
/// activated, the embedded default, activated now by `actor`.
pub fn load_active(conn: &mut DbConn, actor: &Actor) -> Result<RuleSet, RulesError> {
    if let Some(version) = active_version(conn)?
        && let Some(rules) = load_version(conn, &version)?
    {
        return Ok(rules);
    }
    let rules = default_rule_set()?;
    activate(conn, actor, &rules)?;
    Ok(rules)
}

/// Records `rules` as the active set (once per version change) with its audit entry, in
/// one transaction. Returns whether it was a new activation.
pub fn activate(conn: &mut DbConn, actor: &Actor, rules: &RuleSet) -> Result<bool, DbError> {
    write_tx(conn, |c| {
        let new = assessments::record_activation(
            c,
            rules.version(),
            rules.sources(),
            &crate::risk::record::Plan::of(rules),
            actor.as_str(),
            now(),
        )?;
        if new {
            audit::append(
                c,
                actor,
                Event {
                    action: "rules.activate",
                    object_type: "rule_set",
                    object_id: rules.version(),
                    detail: serde_json::json!({"files": rules.files()}),
                },
            )?;
        }
        Ok(new)
    })
}

/// What an activation did.
#[derive(Debug, Clone, Serialize)]
pub struct Activated {
    pub version: String,
    /// False when the same version was already active (nothing changed).
    pub activated: bool,
}

/// Validates `files`, stores them as a version and activates it. A set that does not
/// load is refused with every problem, and the active set stays.
pub fn activate_files(
    conn: &mut DbConn,
    actor: &Actor,
    files: &[(String, String)],
) -> Result<(RuleSet, Activated), RulesError> {
    let rules = validate(files)?;
    let activated = activate(conn, actor, &rules)?;
    let version = rules.version().to_owned();
    Ok((rules, Activated { version, activated }))
}

/// What replacing the rule set did: the activation and the rescoring with the new set.
#[derive(Debug, Clone, Serialize)]
pub struct Replaced {
    pub version: String,
    /// False when the same version was already active (nothing changed).
    pub activated: bool,
    pub rescore: crate::service::scoring::RescoreReport,
}

/// Validates, stores and activates `files`, makes them this process's set, and rescores
/// every contract with it. Other instances pick the set up through [`refresh`].
pub fn replace(
    conn: &mut DbConn,
    actor: &Actor,
    active: &ActiveRules,
    files: &[(String, String)],
) -> Result<Replaced, RulesError> {
    let (rules, activated) = activate_files(conn, actor, files)?;
    let rescore = crate::service::scoring::rescore_today(
        conn,
        &rules,
        crate::service::scoring::Scope::All,
        false,
        "rules",
        actor,
    )?;
    active.set(rules);
    Ok(Replaced {
        version: activated.version,
        activated: activated.activated,
        rescore,
    })
}

/// Swaps the newest activated set into `active` when another instance (or the CLI)
/// activated one since; returns the new version when it did.
pub fn refresh(conn: &mut DbConn, active: &ActiveRules) -> Result<Option<String>, RulesError> {
    let Some(version) = active_version(conn)? else {
        return Ok(None);
    };
    if active.get().version() == version {
        return Ok(None);
    }
    match load_version(conn, &version)? {
        Some(rules) => {
            active.set(rules);
            Ok(Some(version))
        }
        None => Ok(None),
    }
}

/// The active set's activations, newest first.
pub fn activations(conn: &mut DbConn, limit: i64) -> Result<Vec<assessments::Activation>, DbError> {
    assessments::activations(conn, limit)
}

/// Reads every `*.toml` file directly in `dir` (the exchange format).
pub fn read_folder(dir: &Path) -> Result<Vec<(String, String)>, RulesError> {
    crate::risk::read_rule_files(dir).map_err(RulesError::Invalid)
}

/// Writes the set's files into `dir` (created if missing), each through a temporary file
/// and a rename. Files the set does not have are left alone; returns the names written.
pub fn export(rules: &RuleSet, dir: &Path) -> Result<Vec<String>, RulesError> {
    let io = |source| RulesError::Folder {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut written = Vec::new();
    for (name, text) in rules.sources() {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, dir.join(name)).map_err(io)?;
        written.push(name.clone());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_matches_rules_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let on_disk = crate::risk::read_rule_files(&dir).unwrap_or_default();
        let mut embedded = default_files();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "src/service/rules.rs DEFAULT_FILES must list every rules/*.toml file"
        );
        assert!(default_rule_set().is_ok());
    }

    #[test]
    fn file_names_are_plain_toml_names() {
        for bad in ["../x.toml", "a/b.toml", ".hidden.toml", "x.txt"] {
            let err = validate(&[(bad.to_owned(), String::new())]).err();
            assert!(err.is_some_and(|e| e.errors[0].file == bad), "{bad}");
        }
    }
}
