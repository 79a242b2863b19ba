//! Liaisons: contacts at the A-krim agencies who receive mail (name, agency, address, the
//! risk industries they cover and the notices they want), optionally linked to an A-krim
//! user of the same agency. Each change is one write transaction with its audit entry
//! (`liaison.create`, `liaison.update`, `liaison.remove`); removing sets the liaison
//! inactive, so the row and its history stay.

use serde_json::json;

use crate::db::models::audit::{self, Event};
pub use crate::db::models::liaisons::Liaison;
use crate::db::models::{Actor, liaisons, users};
use crate::db::{DbConn, DbError, write_tx};
use crate::domain::liaison::{self as checks, CheckedLiaison, FieldError, LiaisonDraft, Problem};
use crate::risk::RuleSet;

#[derive(Debug, thiserror::Error)]
pub enum LiaisonError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// A value refused, naming its field.
    #[error(transparent)]
    Field(#[from] FieldError),
}

impl From<diesel::result::Error> for LiaisonError {
    fn from(e: diesel::result::Error) -> Self {
        LiaisonError::Db(e.into())
    }
}

/// Active liaisons, by agency and name.
pub fn list(conn: &mut DbConn) -> Result<Vec<Liaison>, DbError> {
    liaisons::list_active(conn)
}

/// Checks `draft` against the industries of `rule_set` (the set in force).
fn check(draft: &LiaisonDraft, rule_set: &RuleSet) -> Result<CheckedLiaison, FieldError> {
    let ids: Vec<&str> = rule_set.industries().iter().map(|i| i.id.as_str()).collect();
    checks::check(draft, &ids)
}

/// The id of the user to link, checked: an A-krim user of the liaison's agency.
fn linked_user(c: &mut DbConn, l: &CheckedLiaison) -> Result<Option<i64>, LiaisonError> {
    let Some(name) = &l.user else {
        return Ok(None);
    };
    let user = users::find_by_username(c, name)?
        .ok_or_else(|| FieldError::new("user", Problem::UnknownUser(name.clone())))?;
    checks::check_link(&user.username, user.role, user.agency, l.agency)?;
    Ok(Some(user.id))
}

fn snapshot(l: &Liaison) -> serde_json::Value {
    json!({
        "name": l.name,
        "agency": l.agency,
        "email": l.email,
        "industries": l.industries,
        "notices": l.notices,
        "user": l.user,
    })
}

/// Adds a liaison, audited as `liaison.create`.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    rule_set: &RuleSet,
    draft: &LiaisonDraft,
) -> Result<Liaison, LiaisonError> {
    let checked = check(draft, rule_set)?;
    write_tx(conn, |c| {
        let user_id = linked_user(c, &checked)?;
        let created = liaisons::insert(c, &checked, user_id)?;
        audit::append(
            c,
            actor,
            Event {
                action: "liaison.create",
                object_type: "liaison",
                object_id: &created.id.to_string(),
                detail: snapshot(&created),
            },
        )?;
        Ok(created)
    })
}

/// Replaces every field of the active liaison `id`, audited as `liaison.update` with the
/// values before and after.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    rule_set: &RuleSet,
    id: i64,
    draft: &LiaisonDraft,
) -> Result<Liaison, LiaisonError> {
    let checked = check(draft, rule_set)?;
    write_tx(conn, |c| {
        let before = liaisons::require_active(c, id)?;
        let user_id = linked_user(c, &checked)?;
        let after = liaisons::update(c, id, &checked, user_id)?;
        audit::append(
            c,
            actor,
            Event {
                action: "liaison.update",
                object_type: "liaison",
                object_id: &id.to_string(),
                detail: json!({"from": snapshot(&before), "to": snapshot(&after)}),
            },
        )?;
        Ok(after)
    })
}

/// Removes the active liaison `id` (sets it inactive), audited as `liaison.remove`.
pub fn remove(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<Liaison, DbError> {
    write_tx(conn, |c| {
        let removed = liaisons::deactivate(c, id)?;
        audit::append(
            c,
            actor,
            Event {
                action: "liaison.remove",
                object_type: "liaison",
                object_id: &id.to_string(),
                detail: snapshot(&removed),
            },
        )?;
        Ok(removed)
    })
}

/// The active liaison `id` (the edit page), or [`crate::db::Missing::Liaison`].
pub fn get(conn: &mut DbConn, id: i64) -> Result<Liaison, DbError> {
    liaisons::require_active(conn, id)
}
