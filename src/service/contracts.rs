//! Contracts as their readers see them: lists with their current risk, and one contract's
//! assessment explained with its history. Visibility is the caller's `scope` (the contracts
//! an innkjøper owns; `None` for Kemneren, see `domain::ownership`). And moving a contract
//! to another owner, audited.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use crate::db::capped_count::CountMemo;
use crate::db::models::assessments::{self, AssessmentRow};
use crate::db::models::audit::{self, Event};
pub use crate::db::models::contracts::ContractKey;
use crate::db::models::contracts::{self, Contract, ContractFilter, ContractPage};
use crate::db::models::{Actor, users};
use crate::db::{DbConn, DbError, Missing, write_tx};
use crate::domain::liaison::{FieldError, Problem};
use crate::domain::ownership;
use crate::risk::RuleSet;
use crate::service::scoring::{self, ExplainedAssessment};

/// Contracts matching `filter`, a page at a time.
pub fn list(conn: &mut DbConn, filter: &ContractFilter) -> Result<ContractPage, DbError> {
    contracts::list(conn, filter)
}

/// [`list`] for a server, which keeps the counts that reached the cap for a few seconds
/// (`CountMemo`) so that a busy list is not counted on every request.
pub fn list_remembering(
    conn: &mut DbConn,
    filter: &ContractFilter,
    counts: &CountMemo,
) -> Result<ContractPage, DbError> {
    contracts::list_with(conn, filter, Some(counts))
}

/// A subject's newest assessment, explained, and its whole history.
#[derive(Debug, Serialize)]
pub struct AssessmentView {
    /// The newest assessment, explained; `null` when the subject has not been scored.
    pub current: Option<ExplainedAssessment>,
    /// Every assessment, newest first (without explanations; fetch one by its version).
    pub history: Vec<AssessmentRow>,
}

fn explained(
    conn: &mut DbConn,
    active: &Arc<RuleSet>,
    history: Vec<AssessmentRow>,
) -> Result<AssessmentView, DbError> {
    let current = match history.first() {
        Some(row) => {
            let rules = scoring::rule_set_of_version(conn, active, &row.rule_set_version)?;
            let mut reader = assessments::ExplanationReader::new();
            Some(scoring::explain(conn, &mut reader, row, rules.as_deref())?)
        }
        None => None,
    };
    Ok(AssessmentView { current, history })
}

fn not_visible(id: i64) -> DbError {
    DbError::NotFound(Missing::Contract(id))
}

/// A contract the caller may see, with its assessment explained (with the rules it was
/// made with) and its history.
pub fn show(
    conn: &mut DbConn,
    active: &Arc<RuleSet>,
    id: i64,
    scope: Option<i64>,
) -> Result<(Contract, AssessmentView), DbError> {
    let contract = contracts::get_visible(conn, id, scope)?.ok_or_else(|| not_visible(id))?;
    let history = assessments::contract_history(conn, id)?;
    Ok((contract, explained(conn, active, history)?))
}

/// A contract's assessment, if the caller may see the contract.
pub fn assessment(
    conn: &mut DbConn,
    active: &Arc<RuleSet>,
    id: i64,
    scope: Option<i64>,
) -> Result<AssessmentView, DbError> {
    show(conn, active, id, scope).map(|(_, view)| view)
}

/// A supplier's own assessment (supplier-level indicators) and its history.
pub fn supplier_assessment(
    conn: &mut DbConn,
    active: &Arc<RuleSet>,
    orgnr: &str,
) -> Result<AssessmentView, DbError> {
    let history = assessments::supplier_history(conn, orgnr)?;
    explained(conn, active, history)
}

/// Why a contract was not moved to another owner.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    /// Shown in Norwegian on the command line; the web renders the kind (`web::error`).
    #[error("{}", norwegian(.0))]
    Db(#[from] DbError),
    /// The new owner, refused: no such user, or one who cannot own contracts. The field is
    /// `owner`, the member of the API's body.
    #[error(transparent)]
    Field(#[from] FieldError),
}

fn norwegian(e: &DbError) -> String {
    match e {
        DbError::NotFound(m) => m.norwegian(),
        other => other.to_string(),
    }
}

impl From<diesel::result::Error> for OwnerError {
    fn from(e: diesel::result::Error) -> Self {
        OwnerError::Db(e.into())
    }
}

/// A contract given to another owner, or found with that owner already.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnerChange {
    pub contract_id: i64,
    pub contract_no: String,
    /// The user name of the owner before.
    pub from: String,
    /// The user name of the owner now.
    pub to: String,
    /// False when the contract belonged to `to` already: nothing stored, nothing audited.
    pub changed: bool,
}

/// Gives a contract to the user `new_owner` (an enabled innkjøper or kemner), audited as
/// `contract.move_owner` with the owners before and after. From then on the contract is in
/// the new owner's scope only: they read it and their imports update it, the old owner's
/// no longer do. The contract's data and versions stay as they are.
///
/// Callers act municipality-wide (Kemneren, the administrator, the CLI): the contract is
/// looked up in every scope.
pub fn move_owner(
    conn: &mut DbConn,
    actor: &Actor,
    contract: &ContractKey,
    new_owner: &str,
) -> Result<OwnerChange, OwnerError> {
    write_tx(conn, |c| {
        let found = contracts::find(c, contract)?.ok_or_else(|| {
            DbError::NotFound(match contract {
                ContractKey::Id(id) => Missing::Contract(*id),
                ContractKey::Number(no) => Missing::ContractNumber(no.clone()),
            })
        })?;
        let name = new_owner.trim();
        let to = users::find_by_username(c, name)?
            .ok_or_else(|| FieldError::new("owner", Problem::UnknownUser(name.to_owned())))?;
        ownership::check_new_owner(&to.username, to.role, to.disabled)
            .map_err(|p| FieldError::new("owner", p))?;
        let from = users::find_by_id(c, found.owner_user_id)?
            .ok_or_else(|| DbError::Corrupt(format!("contract {} has no owner", found.id)))?;
        let change = OwnerChange {
            contract_id: found.id,
            contract_no: found.contract_no,
            from: from.username,
            to: to.username,
            changed: found.owner_user_id != to.id,
        };
        if !change.changed {
            return Ok(change);
        }
        contracts::set_owner(c, found.id, to.id)?;
        audit::append(
            c,
            actor,
            Event {
                action: "contract.move_owner",
                object_type: "contract",
                object_id: &found.id.to_string(),
                detail: json!({
                    "contract_no": change.contract_no,
                    "from": change.from,
                    "to": change.to,
                }),
            },
        )?;
        Ok(change)
    })
}
