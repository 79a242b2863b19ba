//! Contracts as their readers see them: lists with their current risk, and one contract's
//! assessment explained with its history. Visibility is the caller's `scope` (an
//! innkjøper's own imports; `None` for Kemneren).

use std::sync::Arc;

use serde::Serialize;

use crate::db::models::assessments::{self, AssessmentRow};
use crate::db::models::contracts::{self, Contract, ContractFilter, ContractPage};
use crate::db::{DbConn, DbError, Missing};
use crate::risk::RuleSet;
use crate::service::scoring::{self, ExplainedAssessment};

/// Contracts matching `filter`, a page at a time.
pub fn list(conn: &mut DbConn, filter: &ContractFilter) -> Result<ContractPage, DbError> {
    contracts::list(conn, filter)
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
            Some(scoring::explain(row, rules.as_deref())?)
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
