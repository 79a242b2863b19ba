//! The overview page's figures for one user, each scoped as the list it summarises:
//! contracts by risk industry and tier, recent imports and draws, cases by status and the
//! document deadlines coming up. Read-only; nothing is audited.

use chrono::NaiveDate;

use crate::db::models::dashboard::{self, CaseScope, Deadline};
use crate::db::models::imports::BatchRow;
use crate::db::models::users::User;
use crate::db::{DbConn, DbError};
use crate::domain::roles::{Permission, Role};
use crate::service::draws::DrawSummary;

/// How many contracts of one industry are in each tier.
#[derive(Debug, Clone, Default)]
pub struct IndustryRow {
    /// An industry id, or `None` for contracts in no risk industry (or not scored yet).
    pub industry: Option<String>,
    /// (tier id, count); a contract not scored yet counts under the tier `""`.
    pub tiers: Vec<(String, i64)>,
}

#[derive(Debug, Default)]
pub struct Dashboard {
    /// `None` when the role does not read contracts.
    pub contracts: Option<Vec<IndustryRow>>,
    pub contracts_total: i64,
    pub imports: Option<Vec<BatchRow>>,
    pub draws: Option<Vec<DrawSummary>>,
    pub case_status: Option<Vec<(String, i64)>>,
    pub deadlines: Option<Vec<Deadline>>,
    pub outbox: Option<Vec<(String, i64)>>,
}

/// Groups `(tier, industries, count)` rows by industry: a contract in two industries counts
/// in both (the chart says so); one in none counts once under `None`.
pub fn by_industry(rows: &[dashboard::RiskCount]) -> Vec<IndustryRow> {
    let mut out: Vec<IndustryRow> = Vec::new();
    let mut add = |industry: Option<String>, tier: &str, n: i64| {
        let row = match out.iter_mut().position(|r| r.industry == industry) {
            Some(i) => &mut out[i],
            None => {
                out.push(IndustryRow {
                    industry,
                    tiers: Vec::new(),
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        match row.tiers.iter_mut().find(|(t, _)| t == tier) {
            Some((_, c)) => *c += n,
            None => row.tiers.push((tier.to_owned(), n)),
        }
    };
    for (tier, industries, n) in rows {
        let tier = tier.as_deref().unwrap_or("");
        let ids: Vec<&str> = industries
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .collect();
        if ids.is_empty() {
            add(None, tier, *n);
        }
        for id in ids {
            add(Some(id.to_owned()), tier, *n);
        }
    }
    out
}

/// The overview for `user` as of `today` (deadlines up to two weeks ahead, and overdue).
pub fn for_user(c: &mut DbConn, user: &User, today: NaiveDate) -> Result<Dashboard, DbError> {
    let role = user.role;
    let mut d = Dashboard::default();
    let owner = (!role.may(Permission::ViewAllContracts)).then_some(user.id);
    if role.may(Permission::ViewOwnImports) {
        let rows = dashboard::risk_counts(c, owner)?;
        d.contracts_total = rows.iter().map(|r| r.2).sum();
        d.contracts = Some(by_industry(&rows));
        d.imports = Some(crate::service::imports::list_batches(c, owner, 5)?);
    }
    if role.may(Permission::ReadPublishedDraws) {
        d.draws = Some(crate::service::draws::list(c, 5).map_err(|e| match e {
            crate::service::draws::DrawError::Db(e) => e,
            other => DbError::Corrupt(other.to_string()),
        })?);
    }
    let agency = user.agency.map(|a| a.as_str());
    let scope = match (role, agency) {
        (Role::Kemner, _) => Some(CaseScope::All),
        (Role::Akrim, Some(a)) => Some(CaseScope::SharedWith(a)),
        (Role::Innkjoper, _) => Some(CaseScope::OwnedBy(user.id)),
        _ => None,
    };
    if let Some(scope) = scope {
        d.case_status = Some(dashboard::case_status_counts(c, scope)?);
        if role.may(Permission::ReviewCases) {
            d.deadlines = Some(dashboard::open_deadlines(
                c,
                scope,
                today + chrono::Days::new(14),
                10,
            )?);
        }
    }
    if role.may(Permission::ManageOutbox) {
        d.outbox = Some(crate::service::outbox::counts(c)?);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_in_two_industries_count_in_both_and_none_once() {
        let rows = vec![
            (Some("høy".into()), Some(",renhold,bygg_anlegg,".into()), 2),
            (Some("lav".into()), Some(",renhold,".into()), 3),
            (Some("lav".into()), Some(",,".into()), 4),
            (None, None, 1),
        ];
        let out = by_industry(&rows);
        let find = |id: Option<&str>| {
            out.iter()
                .find(|r| r.industry.as_deref() == id)
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(
            find(Some("renhold")).tiers,
            vec![("høy".into(), 2), ("lav".into(), 3)]
        );
        assert_eq!(find(Some("bygg_anlegg")).tiers, vec![("høy".into(), 2)]);
        assert_eq!(find(None).tiers, vec![("lav".into(), 4), (String::new(), 1)]);
    }
}
