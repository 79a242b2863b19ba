//! Reading stored draws back: the record, the view the API and CLI show, lists, the manifest.

use super::*;

/// A pick as shown: the published fields plus its round, contract and case.
#[derive(Debug, Clone, Serialize)]
pub struct PickView {
    #[serde(flatten)]
    pub pick: Pick,
    pub round: i32,
    pub contract_id: i64,
    pub case_id: Option<i64>,
}

/// A stored draw as the API and `--format json` show it. `algorithm`, `seed`,
/// `manifest_sha256`, `plans` and `picks` are the record `docs/draws_verify.py --check` reads.
#[derive(Debug, Clone, Serialize)]
pub struct DrawView {
    pub id: i64,
    pub algorithm: String,
    pub seed: String,
    pub seed_source: String,
    pub manifest_sha256: String,
    pub population_size: i64,
    pub total_weight: i64,
    pub strata_mode: String,
    pub strata: serde_json::Value,
    pub allocation: String,
    pub uniform_share_per_mille: i32,
    pub min_per_stratum: i64,
    pub sizing: serde_json::Value,
    pub filter: serde_json::Value,
    pub weight_rule: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub plans: Vec<DrawPlan>,
    pub rounds: Vec<models::draws::RoundRow>,
    pub picks: Vec<PickView>,
}

/// Summary of a draw for lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrawSummary {
    pub id: i64,
    pub algorithm: String,
    pub seed_source: String,
    pub manifest_sha256: String,
    pub population_size: i64,
    pub strata_mode: String,
    pub picks: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub(super) fn pick_of(row: &PickRow) -> Result<Pick, DrawError> {
    let part = match (row.part.as_str(), row.counter, &row.ticket) {
        ("weighted", Some(c), None) => Part::Weighted {
            counter: u64::try_from(c).map_err(|_| corrupt(row.draw_id, "negativ teller"))?,
        },
        ("uniform", None, Some(t)) => Part::Uniform { ticket: t.clone() },
        _ => {
            return Err(corrupt(
                row.draw_id,
                format!("trekk {} har ugyldig del «{}»", row.position, row.part),
            ));
        }
    };
    Ok(Pick {
        position: u64::try_from(row.position).map_err(|_| corrupt(row.draw_id, "negativ posisjon"))?,
        stratum: row.stratum.clone(),
        id: row.contract_no.clone(),
        part,
    })
}

/// The stored record needed to re-run the draw.
pub fn load_record(conn: &mut DbConn, id: i64) -> Result<DrawRecord, DrawError> {
    let draw = models::draws::find_draw(conn, id)?.ok_or(DrawError::NotFound(id))?;
    let plans = models::draws::rounds(conn, id)?
        .iter()
        .map(|r| parse_json::<DrawPlan>(id, "planen", &r.plan))
        .collect::<Result<Vec<_>, _>>()?;
    let picks = models::draws::picks(conn, id)?
        .iter()
        .map(pick_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DrawRecord {
        algorithm: draw.algorithm,
        seed: draw.seed,
        manifest_sha256: draw.manifest_sha256,
        plans,
        picks,
    })
}

/// A stored draw with its rounds and picks.
pub fn show(conn: &mut DbConn, id: i64) -> Result<DrawView, DrawError> {
    let d = models::draws::find_draw(conn, id)?.ok_or(DrawError::NotFound(id))?;
    let rounds = models::draws::rounds(conn, id)?;
    let plans = rounds
        .iter()
        .map(|r| parse_json::<DrawPlan>(id, "planen", &r.plan))
        .collect::<Result<Vec<_>, _>>()?;
    let case_of: BTreeMap<i64, i64> = models::draws::cases_of_draw(conn, id)?
        .into_iter()
        .filter_map(|c| c.pick_id.map(|p| (p, c.id)))
        .collect();
    let picks = models::draws::picks(conn, id)?
        .iter()
        .map(|row| {
            Ok(PickView {
                pick: pick_of(row)?,
                round: row.round,
                contract_id: row.contract_id,
                case_id: case_of.get(&row.id).copied(),
            })
        })
        .collect::<Result<Vec<_>, DrawError>>()?;
    Ok(DrawView {
        strata: parse_json(id, "lagene", &d.strata)?,
        sizing: parse_json(id, "størrelsen", &d.sizing)?,
        filter: parse_json(id, "filteret", &d.filter)?,
        id: d.id,
        algorithm: d.algorithm,
        seed: d.seed,
        seed_source: d.seed_source,
        manifest_sha256: d.manifest_sha256,
        population_size: d.population_size,
        total_weight: d.total_weight,
        strata_mode: d.strata_mode,
        allocation: d.allocation,
        uniform_share_per_mille: d.uniform_share_per_mille,
        min_per_stratum: d.min_per_stratum,
        weight_rule: d.weight_rule,
        created_by: d.created_by,
        created_at: d.created_at,
        plans,
        rounds,
        picks,
    })
}

/// Draws, newest first.
pub fn list(conn: &mut DbConn, limit: i64) -> Result<Vec<DrawSummary>, DrawError> {
    models::draws::list_draws(conn, limit)?
        .into_iter()
        .map(|d| {
            Ok(DrawSummary {
                picks: models::draws::pick_count(conn, d.id)?,
                id: d.id,
                algorithm: d.algorithm,
                seed_source: d.seed_source,
                manifest_sha256: d.manifest_sha256,
                population_size: d.population_size,
                strata_mode: d.strata_mode,
                created_by: d.created_by,
                created_at: d.created_at,
            })
        })
        .collect()
}

/// The manifest exactly as it was hashed.
pub fn manifest_text(conn: &mut DbConn, id: i64) -> Result<String, DrawError> {
    models::draws::find_draw(conn, id)?.ok_or(DrawError::NotFound(id))?;
    models::draws::manifest_text(conn, id)?.ok_or_else(|| corrupt(id, "manifestet mangler"))
}
