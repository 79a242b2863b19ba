//! What the draw pages show, in Norwegian words: codes through [`super::super::labels`],
//! dates in Oslo time, amounts in kroner. Built from the service's views; no I/O.

use std::collections::BTreeMap;

use crate::domain::oslo;
use crate::risk::RuleSet;
use crate::sampling::{Part, VerifyProblem};
use crate::service::draws::{DrawDetail, DrawFilter, DrawListItem, Preview, Sizing, StoredVerification};
use crate::web::pages::format::short;
use crate::web::pages::labels;

/// A draw in the list.
pub struct ListRow {
    pub id: i64,
    pub published: String,
    pub by: String,
    pub population: i64,
    pub picks: i64,
    pub weighted: i64,
    pub uniform: i64,
    pub sha256: String,
    pub sha_short: String,
    pub seed_source: String,
}

impl ListRow {
    pub fn of(item: &DrawListItem) -> Self {
        let s = &item.summary;
        ListRow {
            id: s.id,
            published: oslo::date_time(s.created_at),
            by: s.created_by.clone(),
            population: s.population_size,
            picks: s.picks,
            weighted: item.weighted,
            uniform: item.uniform,
            sha_short: short(&s.manifest_sha256).to_owned(),
            sha256: s.manifest_sha256.clone(),
            seed_source: labels::seed_source(&s.seed_source).to_owned(),
        }
    }
}

/// One stratum: its population and its planned (or made) picks per part.
pub struct StratumRow {
    pub name: String,
    pub size: u64,
    pub risk_mass: u64,
    pub weighted: u64,
    pub uniform: u64,
}

/// A rule-set version: shown short, the full value on hover.
pub struct Version {
    pub short: String,
    pub full: String,
}

fn versions(list: &[String]) -> Vec<Version> {
    list.iter()
        .map(|v| Version {
            short: short(v).to_owned(),
            full: v.clone(),
        })
        .collect()
}

/// The fingerprint in groups of eight, so that it can be read aloud (the page joins them
/// without spaces, so a copy is the hash itself).
fn groups(sha: &str) -> Vec<String> {
    sha.as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// Per mille as a Norwegian percentage: `50 %`, `12,5 %`.
pub fn percent(per_mille: i64) -> String {
    if per_mille % 10 == 0 {
        format!("{}\u{a0}%", per_mille / 10)
    } else {
        format!("{},{}\u{a0}%", per_mille / 10, per_mille % 10)
    }
}

fn decimal(x: f64) -> String {
    let rounded = (x * 1000.0).round() / 1000.0;
    rounded.to_string().replace('.', ",")
}

fn sizing_words(s: &Sizing) -> String {
    match *s {
        Sizing::Fixed { size } => format!("{size} kontrakter (fast størrelse)"),
        Sizing::Planned {
            tolerable_rate,
            confidence,
            model,
            size,
        } => {
            let model = serde_json::to_value(model)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!(
                "{size} kontrakter, planlagt for en tolerabel avviksrate på {}\u{a0}% med {}\u{a0}% konfidens ({})",
                decimal(tolerable_rate * 100.0),
                decimal(confidence * 100.0),
                labels::size_model(&model)
            )
        }
    }
}

/// The filter in words, one line per condition.
pub fn filter_words(rules: &RuleSet, f: &DrawFilter) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    out.push((
        "Bransjer",
        if f.industries.is_empty() {
            "alle (også kontrakter utenfor risikobransjene)".to_owned()
        } else {
            f.industries
                .iter()
                .map(|i| labels::industry(rules, i))
                .collect::<Vec<_>>()
                .join(", ")
        },
    ));
    out.push((
        "Periode",
        match (f.active_from, f.active_to) {
            (None, None) => "ingen avgrensning".to_owned(),
            (Some(a), None) => format!("aktive en gang fra {}", oslo::date(a)),
            (None, Some(b)) => format!("aktive en gang til og med {}", oslo::date(b)),
            (Some(a), Some(b)) => format!("aktive en gang mellom {} og {}", oslo::date(a), oslo::date(b)),
        },
    ));
    out.push((
        "Enheter",
        if f.units.is_empty() {
            "alle".to_owned()
        } else {
            f.units.join(", ")
        },
    ));
    out.push((
        "Risikonivå",
        match &f.min_tier {
            None => "alle nivåer".to_owned(),
            Some(t) => format!("{} og høyere", labels::tier(rules, t)),
        },
    ));
    out.push((
        "Nylig kontrollert",
        match f.exclude_checked_months {
            Some(n) if n > 0 => format!("utelatt: trukket eller kontrollert de siste {n} månedene"),
            _ => "ikke utelatt".to_owned(),
        },
    ));
    if !f.include.is_empty() {
        out.push(("Alltid med", f.include.join(", ")));
    }
    if !f.exclude.is_empty() {
        out.push(("Aldri med", f.exclude.join(", ")));
    }
    out
}

/// A preview (wizard step 2 and the ceremony view).
pub struct PreviewView {
    pub population: u64,
    pub total_weight: u64,
    pub sha256: String,
    pub sha_groups: Vec<String>,
    pub strata: Vec<StratumRow>,
    pub sizing: String,
    pub share: String,
    pub allocation: String,
    pub strata_mode: String,
    pub min_per_stratum: u64,
    pub filter: Vec<(&'static str, String)>,
    pub excluded_explicitly: usize,
    pub excluded_recently: usize,
    pub included: usize,
    pub versions: Vec<Version>,
}

impl PreviewView {
    pub fn of(rules: &RuleSet, p: &Preview) -> Self {
        PreviewView {
            population: p.population_size,
            total_weight: p.total_weight,
            sha256: p.manifest_sha256.clone(),
            sha_groups: groups(&p.manifest_sha256),
            strata: p
                .strata
                .iter()
                .map(|s| StratumRow {
                    name: labels::stratum(rules, &s.name),
                    size: s.size,
                    risk_mass: s.risk_mass,
                    weighted: s.weighted,
                    uniform: s.uniform,
                })
                .collect(),
            sizing: p.sizing.as_ref().map(sizing_words).unwrap_or_default(),
            share: percent(i64::from(p.uniform_share_per_mille)),
            allocation: labels::allocation(p.allocation).to_owned(),
            strata_mode: labels::strata_mode(p.strata_mode.as_str()).to_owned(),
            min_per_stratum: p.min_per_stratum,
            filter: filter_words(rules, &p.filter),
            excluded_explicitly: p.excluded_explicitly,
            excluded_recently: p.excluded_recently_checked,
            included: p.included_explicitly,
            versions: versions(&p.rule_set_versions),
        }
    }
}

/// A pick as the draw page shows it.
pub struct PickLine {
    pub position: u64,
    pub round: i32,
    pub contract_id: i64,
    pub contract_no: String,
    pub title: String,
    pub supplier: String,
    pub unit: String,
    pub value: String,
    /// The risk score the weight came from (weight − 1), when the manifest has it.
    pub score: String,
    pub tier: String,
    pub tier_class: String,
    pub part: String,
    /// Counter (weighted) or ticket (uniform): the arithmetic behind the pick.
    pub work: String,
    pub stratum: String,
    pub case_id: Option<i64>,
}

/// A round of the draw (1: the draw itself; then each extension).
pub struct RoundLine {
    pub round: i32,
    pub at: String,
    pub by: String,
    pub requested: i64,
    pub made: i64,
}

/// The draw page and the ceremony's result view.
pub struct DrawPageView {
    pub id: i64,
    pub published: String,
    pub by: String,
    pub seed: String,
    pub seed_source: String,
    pub sha256: String,
    pub sha_short: String,
    pub sha_groups: Vec<String>,
    pub algorithm: String,
    pub population: i64,
    pub total_weight: i64,
    pub strata_mode: String,
    pub allocation: String,
    pub share: String,
    pub min_per_stratum: i64,
    pub sizing: String,
    pub filter: Vec<(&'static str, String)>,
    pub versions: Vec<Version>,
    pub strata: Vec<StratumRow>,
    pub picks: Vec<PickLine>,
    pub rounds: Vec<RoundLine>,
    pub weighted: usize,
    pub uniform: usize,
    pub verified: bool,
    pub verification: String,
}

/// The verification as a sentence: «Trekningen er kontrollert: …» or what does not hold.
pub fn verification_words(v: &StoredVerification) -> String {
    if v.ok {
        return format!(
            "Trekningen er kontrollert: alle {} trekkene ble regnet ut på nytt fra manifestet (med \
             fingeravtrykket over), seeden og planene, og de stemmer med det revisjonsloggen fikk da \
             trekningen ble publisert.",
            v.report.recorded_picks
        );
    }
    let why = match (&v.audit_problem, &v.report.problem) {
        (Some(audit), _) => format!("revisjonsloggen stemmer ikke med trekningen: {audit}"),
        (None, Some(VerifyProblem::Algorithm { recorded, .. })) => {
            format!("trekningen er laget med en algoritme denne versjonen ikke kan regne ut ({recorded})")
        }
        (None, Some(VerifyProblem::ManifestHash { expected, actual })) => {
            format!("det lagrede manifestet har SHA-256 {actual}, men {expected} ble publisert")
        }
        (None, Some(VerifyProblem::Manifest { .. })) => "det lagrede manifestet kan ikke leses".to_owned(),
        (None, Some(VerifyProblem::Parameters { .. })) => "seeden eller en plan kan ikke brukes".to_owned(),
        (None, Some(VerifyProblem::PickMismatch { recorded, .. })) => format!(
            "trekk nr. {} ({}) er ikke det utregningen gir",
            recorded.position, recorded.id
        ),
        (None, Some(VerifyProblem::MissingPicks { first_missing })) => {
            format!(
                "utregningen gir flere trekk enn lagret, fra nr. {}",
                first_missing.position
            )
        }
        (None, Some(VerifyProblem::ExtraPicks { first_extra })) => {
            format!(
                "det er lagret flere trekk enn utregningen gir, fra nr. {}",
                first_extra.position
            )
        }
        (None, None) => "ukjent avvik".to_owned(),
    };
    format!("Trekningen holder IKKE ved kontroll: {why}.")
}

impl DrawPageView {
    pub fn of(rules: &RuleSet, detail: &DrawDetail) -> Self {
        let d = &detail.draw;
        let filter: DrawFilter = serde_json::from_value(d.filter.clone()).unwrap_or_default();
        let sizing = serde_json::from_value::<Sizing>(d.sizing.clone())
            .map(|s| sizing_words(&s))
            .unwrap_or_default();
        // Planned picks per stratum over all rounds.
        let mut planned: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for plan in &d.plans {
            for (name, sizes) in &plan.per_stratum {
                let e = planned.entry(name.as_str()).or_default();
                e.0 += sizes.weighted;
                e.1 += sizes.uniform;
            }
        }
        let strata = d
            .strata
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|s| {
                        let name = s["name"].as_str().unwrap_or_default();
                        let (weighted, uniform) = planned.get(name).copied().unwrap_or_default();
                        StratumRow {
                            name: labels::stratum(rules, name),
                            size: s["size"].as_u64().unwrap_or(0),
                            risk_mass: s["risk_mass"].as_u64().unwrap_or(0),
                            weighted,
                            uniform,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let picks: Vec<PickLine> = d
            .picks
            .iter()
            .map(|p| {
                let line = detail.contracts.get(&p.contract_id);
                let tier_id = line.and_then(|l| l.tier.clone()).unwrap_or_default();
                let (part, work) = match &p.pick.part {
                    Part::Weighted { counter } => ("weighted", format!("teller {counter}")),
                    Part::Uniform { ticket } => ("uniform", format!("lodd {}", short(ticket))),
                };
                PickLine {
                    position: p.pick.position,
                    round: p.round,
                    contract_id: p.contract_id,
                    contract_no: p.pick.id.clone(),
                    title: line.and_then(|l| l.title.clone()).unwrap_or_default(),
                    supplier: line.map(|l| l.supplier_name.clone()).unwrap_or_default(),
                    unit: line.and_then(|l| l.unit.clone()).unwrap_or_default(),
                    value: line
                        .and_then(|l| l.value_ore)
                        .map(oslo::kroner)
                        .unwrap_or_default(),
                    score: detail
                        .weights
                        .get(&p.pick.id)
                        .map(|w| w.saturating_sub(1).to_string())
                        .unwrap_or_default(),
                    tier: if tier_id.is_empty() {
                        "ikke vurdert".to_owned()
                    } else {
                        labels::tier(rules, &tier_id)
                    },
                    tier_class: if tier_id.is_empty() {
                        "status".to_owned()
                    } else {
                        labels::tier_class(rules, &tier_id)
                    },
                    part: labels::draw_part(part).to_owned(),
                    work,
                    stratum: labels::stratum(rules, &p.pick.stratum),
                    case_id: p.case_id,
                }
            })
            .collect();
        let weighted = d
            .picks
            .iter()
            .filter(|p| matches!(p.pick.part, Part::Weighted { .. }))
            .count();
        DrawPageView {
            id: d.id,
            published: oslo::date_time(d.created_at),
            by: d.created_by.clone(),
            seed: d.seed.clone(),
            seed_source: labels::seed_source(&d.seed_source).to_owned(),
            sha256: d.manifest_sha256.clone(),
            sha_short: short(&d.manifest_sha256).to_owned(),
            sha_groups: groups(&d.manifest_sha256),
            algorithm: d.algorithm.clone(),
            population: d.population_size,
            total_weight: d.total_weight,
            strata_mode: labels::strata_mode(&d.strata_mode).to_owned(),
            allocation: labels::allocation(&d.allocation).to_owned(),
            share: percent(i64::from(d.uniform_share_per_mille)),
            min_per_stratum: d.min_per_stratum,
            sizing,
            filter: filter_words(rules, &filter),
            versions: versions(&detail.rule_set_versions),
            strata,
            rounds: d
                .rounds
                .iter()
                .map(|r| RoundLine {
                    round: r.round,
                    at: oslo::date_time(r.created_at),
                    by: r.created_by.clone(),
                    requested: r.size_requested,
                    made: r.picks_made,
                })
                .collect(),
            uniform: picks.len() - weighted,
            weighted,
            picks,
            verified: detail.verification.ok,
            verification: verification_words(&detail.verification),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_groups_read_as_people_write_them() {
        assert_eq!(percent(500), "50\u{a0}%");
        assert_eq!(percent(125), "12,5\u{a0}%");
        let sha = "de3dad9788e4e976c856131efe2a52a8a07341f1dedb916f5d5d8daeeeabdb88";
        let g = groups(sha);
        assert_eq!(g.len(), 8);
        assert_eq!(g.concat(), sha);
    }
}
