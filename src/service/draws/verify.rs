//! Re-running a stored draw and cross-checking it against the audit log.

use super::*;

/// The result of re-running a stored draw.
#[derive(Debug, Clone, Serialize)]
pub struct StoredVerification {
    pub draw_id: i64,
    pub ok: bool,
    /// One sentence: what holds, or the first thing that does not.
    pub message: String,
    /// The recomputation (manifest fingerprint, every pick).
    pub report: VerifyReport,
    /// The cross-check against the audit log (seed, fingerprint and picks as published);
    /// `None` when it holds.
    pub audit_problem: Option<String>,
}

/// Recomputes a stored draw from its stored manifest, seed and plans and compares every pick;
/// then checks the seed, fingerprint and each round's picks against what the audit log
/// recorded when they were published.
pub fn verify_stored(conn: &mut DbConn, id: i64) -> Result<StoredVerification, DrawError> {
    let record = load_record(conn, id)?;
    let text = models::draws::manifest_text(conn, id)?.unwrap_or_default();
    let report = record.verify(&text);
    let audit_problem = if report.is_ok() {
        audit_check(conn, id, &record)?
    } else {
        None
    };
    let ok = report.is_ok() && audit_problem.is_none();
    let message = match (&audit_problem, ok) {
        (_, true) => format!("trekning {id} holder: {}", report.reason()),
        (Some(p), false) => format!("trekning {id} holder IKKE: {p}"),
        (None, false) => format!("trekning {id} holder IKKE: {}", report.reason()),
    };
    Ok(StoredVerification {
        draw_id: id,
        ok,
        message,
        report,
        audit_problem,
    })
}

pub(super) fn audit_check(
    conn: &mut DbConn,
    id: i64,
    record: &DrawRecord,
) -> Result<Option<String>, DrawError> {
    let entries = models::draws::audit_entries(conn, id)?;
    let mut rounds_seen = 0usize;
    let mut position = 0usize;
    for (action, detail) in &entries {
        let Ok(d) = serde_json::from_str::<serde_json::Value>(detail) else {
            return Ok(Some(format!(
                "revisjonsloggens oppføring {action} kan ikke leses"
            )));
        };
        if action == "draw.publish" {
            for (field, stored) in [
                ("seed", record.seed.as_str()),
                ("manifest_sha256", record.manifest_sha256.as_str()),
                ("algorithm", record.algorithm.as_str()),
            ] {
                if d[field].as_str() != Some(stored) {
                    return Ok(Some(format!(
                        "{field} er {stored:?} i trekningen, men {} i revisjonsloggen",
                        d[field]
                    )));
                }
            }
        }
        if action == "draw.publish" || action == "draw.extend" {
            let n = d["picks"].as_u64().unwrap_or(0) as usize;
            let round_picks = record.picks.get(position..position + n).unwrap_or_default();
            if round_picks.len() != n
                || d["picks_sha256"].as_str() != Some(picks_sha256(round_picks).as_str())
            {
                return Ok(Some(format!(
                    "trekkene i runde {} stemmer ikke med revisjonsloggen",
                    rounds_seen + 1
                )));
            }
            position += n;
            rounds_seen += 1;
        }
    }
    if rounds_seen != record.plans.len() || position != record.picks.len() {
        return Ok(Some(format!(
            "revisjonsloggen har {rounds_seen} runder med {position} trekk, trekningen {} runder med {} trekk",
            record.plans.len(),
            record.picks.len()
        )));
    }
    Ok(None)
}
