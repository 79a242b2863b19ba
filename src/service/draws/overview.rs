//! What the draw pages read in one call each: the list of draws with their parts, and one
//! draw with its verification, the drawn contracts and the rule-set versions it weighed with.

use super::*;
use crate::db::models::notices::{LineRow, contract_lines};

/// A draw in the list, with how many picks each part made.
#[derive(Debug, Clone, Serialize)]
pub struct DrawListItem {
    #[serde(flatten)]
    pub summary: DrawSummary,
    pub weighted: i64,
    pub uniform: i64,
}

/// Draws, newest first, with their weighted and uniform pick counts.
pub fn list_with_parts(conn: &mut DbConn, limit: i64) -> Result<Vec<DrawListItem>, DrawError> {
    let summaries = list(conn, limit)?;
    let ids: Vec<i64> = summaries.iter().map(|s| s.id).collect();
    let mut parts: HashMap<(i64, String), i64> = HashMap::new();
    for (id, part, n) in models::draws::part_counts(conn, &ids)? {
        parts.insert((id, part), n);
    }
    Ok(summaries
        .into_iter()
        .map(|s| DrawListItem {
            weighted: parts.get(&(s.id, "weighted".to_owned())).copied().unwrap_or(0),
            uniform: parts.get(&(s.id, "uniform".to_owned())).copied().unwrap_or(0),
            summary: s,
        })
        .collect())
}

/// One draw as its page shows it.
#[derive(Debug, Clone)]
pub struct DrawDetail {
    pub draw: DrawView,
    /// The draw re-run from its stored manifest, seed and plans, and checked against the
    /// audit log.
    pub verification: StoredVerification,
    /// The drawn contracts with their current assessment, by contract id.
    pub contracts: HashMap<i64, LineRow>,
    /// Each drawn contract's weight in the manifest (risk score at the draw + 1), by
    /// contract number.
    pub weights: HashMap<String, u64>,
    /// The rule-set versions of the scores the weights came from (as published).
    pub rule_set_versions: Vec<String>,
}

/// A stored draw with everything its page shows. Reads only.
pub fn detail(conn: &mut DbConn, id: i64) -> Result<DrawDetail, DrawError> {
    let draw = show(conn, id)?;
    let verification = verify_stored(conn, id)?;
    let ids: Vec<i64> = draw.picks.iter().map(|p| p.contract_id).collect();
    let contracts = contract_lines(conn, &ids)?
        .into_iter()
        .map(|l| (l.contract_id, l))
        .collect();
    let picked: HashSet<&str> = draw.picks.iter().map(|p| p.pick.id.as_str()).collect();
    let text = models::draws::manifest_text(conn, id)?.unwrap_or_default();
    let weights = Manifest::parse(&text)
        .map(|m| {
            m.entries()
                .filter(|e| picked.contains(e.id.as_str()))
                .map(|e| (e.id, e.weight))
                .collect()
        })
        .unwrap_or_default();
    let rule_set_versions = models::draws::audit_entries(conn, id)?
        .into_iter()
        .filter(|(action, _)| action == "draw.publish")
        .filter_map(|(_, detail)| serde_json::from_str::<serde_json::Value>(&detail).ok())
        .flat_map(|d| {
            d["rule_set_versions"]
                .as_array()
                .map(|vs| {
                    vs.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect();
    Ok(DrawDetail {
        draw,
        verification,
        contracts,
        weights,
        rule_set_versions,
    })
}
