//! The inspection list of a draw for one agency: what an inspector takes along to the drawn
//! contracts shared with their agency (contract, supplier, org.nr, address from the
//! register, the municipality's contact, unit, value, score, the indicators that fired and
//! what to look at), as xlsx or csv ([`crate::export`], formulas neutralised). Kemneren
//! downloads any agency's list; an A-krim partner their own agency's. Every download is
//! audited (`draw.inspection_list`), as reads of cases by partners are.

use std::collections::HashMap;

use crate::db::models::audit::{self, Event};
use crate::db::models::users::User;
use crate::db::models::{Actor, cases, draws, notices, suppliers};
use crate::db::{DbConn, DbError, Missing, write_tx};
use crate::domain::case::CaseAccess;
use crate::domain::roles::Agency;
use crate::export::{Cell, Table};
use crate::risk::RuleSet;
use crate::service::cases::CaseError;

/// The header of the list (Norwegian, as inspectors read it).
pub const HEADER: [&str; 16] = [
    "Nr.",
    "Sak",
    "Kontraktnr.",
    "Kontrakt",
    "Leverandør",
    "Org.nr.",
    "Forretningsadresse",
    "Kontaktperson i kommunen",
    "Enhet",
    "Verdi (kr)",
    "Poeng",
    "Risikonivå",
    "Bransjer",
    "Utløste indikatorer",
    "Hva bør sjekkes",
    "Trukket",
];

/// Whose list `user` may download: `agency` as asked for (Kemneren must name one), or the
/// partner's own agency (another is refused).
fn list_agency(user: &User, agency: Option<&str>) -> Result<Agency, CaseError> {
    let asked = agency
        .map(|a| {
            a.parse::<Agency>()
                .map_err(|_| CaseError::Db(DbError::Invalid(format!("unknown agency '{a}'"))))
        })
        .transpose()?;
    match (CaseAccess::of(user.role, user.agency, user.id), asked) {
        (CaseAccess::All, Some(a)) => Ok(a),
        (CaseAccess::All, None) => Err(CaseError::Db(DbError::Invalid(
            "name the agency whose list you want: ?agency=arbeidstilsynet|skatteetaten|politiet|nav|kemneren"
                .into(),
        ))),
        (CaseAccess::Agency(own), None) => Ok(own),
        (CaseAccess::Agency(own), Some(a)) if a == own => Ok(own),
        _ => Err(CaseError::Forbidden),
    }
}

/// The list of draw `draw_id` for `agency`, audited.
pub fn inspection_list(
    conn: &mut DbConn,
    user: &User,
    rules: &RuleSet,
    draw_id: i64,
    agency: Option<&str>,
) -> Result<(Agency, Table), CaseError> {
    let agency = list_agency(user, agency)?;
    draws::find_draw(conn, draw_id)?.ok_or(CaseError::Db(DbError::NotFound(Missing::Draw(draw_id))))?;
    let rows = cases::inspection_rows(conn, draw_id, agency.as_str())?;
    let ids: Vec<i64> = rows.iter().map(|r| r.contract_id).collect();
    let lines: HashMap<i64, notices::LineRow> = notices::contract_lines(conn, &ids)?
        .into_iter()
        .map(|l| (l.contract_id, l))
        .collect();
    let mut address: HashMap<String, String> = HashMap::new();
    for l in lines.values() {
        if address.contains_key(&l.orgnr) {
            continue;
        }
        let text = suppliers::latest_facts(conn, &l.orgnr)?
            .and_then(|f| f.unit_facts())
            .and_then(|u| u.business_address)
            .map(|a| {
                let mut parts = a.lines.clone();
                let place = [a.postal_code, a.city]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !place.is_empty() {
                    parts.push(place);
                }
                parts.join(", ")
            })
            .unwrap_or_default();
        address.insert(l.orgnr.clone(), text);
    }
    let industry: HashMap<&str, &str> = rules
        .industries()
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let indicator: HashMap<&str, (&str, &str)> = rules
        .indicators()
        .iter()
        .map(|i| (i.id.as_str(), (i.title.as_str(), i.why.as_str())))
        .collect();
    let tier: HashMap<&str, &str> = rules
        .tiers()
        .iter()
        .map(|t| (t.id.as_str(), t.label.as_str()))
        .collect();
    let mut table = Table {
        sheet: format!("Trekning {draw_id} {}", agency.label()),
        header: HEADER.iter().map(|h| (*h).to_owned()).collect(),
        rows: Vec::with_capacity(rows.len()),
    };
    for r in &rows {
        let Some(l) = lines.get(&r.contract_id) else {
            continue;
        };
        let fired = &l.fired;
        let titles: Vec<&str> = fired
            .iter()
            .map(|id| indicator.get(id.as_str()).map_or(id.as_str(), |t| t.0))
            .collect();
        let why: Vec<&str> = fired
            .iter()
            .filter_map(|id| indicator.get(id.as_str()).map(|t| t.1))
            .collect();
        let industries: Vec<&str> = l
            .industries
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|i| industry.get(i).copied().unwrap_or(i))
            .collect();
        table.rows.push(vec![
            Cell::Number(r.position as f64),
            Cell::Number(r.case_id as f64),
            Cell::from(l.contract_no.clone()),
            Cell::from(l.title.clone()),
            Cell::from(l.supplier_name.clone()),
            Cell::from(l.orgnr.clone()),
            Cell::from(address.get(&l.orgnr).cloned().unwrap_or_default()),
            Cell::from(r.contract_manager.clone()),
            Cell::from(l.unit.clone()),
            l.value_ore
                .map_or(Cell::Empty, |v| Cell::Number(v as f64 / 100.0)),
            l.score.map_or(Cell::Empty, |s| Cell::Number(f64::from(s))),
            Cell::from(
                l.tier
                    .as_deref()
                    .map(|t| tier.get(t).copied().unwrap_or(t).to_owned()),
            ),
            Cell::from(industries.join(", ")),
            Cell::from(titles.join("; ")),
            Cell::from(why.join(" ")),
            Cell::from(if r.part == "uniform" { "uvektet" } else { "vektet" }),
        ]);
    }
    write_tx(conn, |c| {
        audit::append(
            c,
            &Actor::user(&user.username),
            Event {
                action: "draw.inspection_list",
                object_type: "draw",
                object_id: &draw_id.to_string(),
                detail: serde_json::json!({"agency": agency.as_str(), "rows": table.rows.len()}),
            },
        )
    })?;
    Ok((agency, table))
}
