//! Freezing a population: the filtered, scored contracts as a manifest, their strata, and
//! the preview that shows its fingerprint before the seed is chosen.

use super::*;

/// One stratum of a population: size and risk mass (sum of weights).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StratumInfo {
    pub name: String,
    pub size: u64,
    pub risk_mass: u64,
}

/// A frozen population.
pub struct Population {
    pub manifest: Manifest,
    pub strata: Vec<StratumInfo>,
    pub excluded_explicitly: usize,
    pub excluded_recently_checked: usize,
    pub included_explicitly: usize,
    /// Rule-set versions of the scores the weights come from.
    pub rule_set_versions: Vec<String>,
}

pub(super) fn clean_list(list: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = list
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    set.into_iter().collect()
}

/// The filter with blanks trimmed, duplicates removed and lists sorted (as it is recorded).
pub fn normalise_filter(f: &DrawFilter) -> DrawFilter {
    DrawFilter {
        industries: clean_list(&f.industries),
        active_from: f.active_from,
        active_to: f.active_to,
        units: clean_list(&f.units),
        min_tier: f
            .min_tier
            .as_ref()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
        exclude_checked_months: f.exclude_checked_months,
        include: clean_list(&f.include),
        exclude: clean_list(&f.exclude),
    }
}

/// `industries` is `,id1,id2,` in rule-set order. The stratum is the first of them that the
/// filter selects (when it selects industries), else the first, else `annet`.
pub(super) fn industry_stratum(industries: &str, selected: &[String]) -> String {
    let mut list = industries.split(',').filter(|s| !s.is_empty());
    let chosen = if selected.is_empty() {
        list.next()
    } else {
        let first = list.clone().next();
        list.find(|i| selected.iter().any(|s| s == i)).or(first)
    };
    chosen.unwrap_or(NO_INDUSTRY_STRATUM).to_owned()
}

pub(super) fn in_any_industry(industries: &str, selected: &[String]) -> bool {
    selected
        .iter()
        .any(|s| industries.split(',').any(|i| !i.is_empty() && i == s))
}

pub(super) fn weight_of(row: &PopulationRow) -> Result<u64, DrawError> {
    let score = row.score.unwrap_or(0);
    u64::try_from(score).map(|s| s + 1).map_err(|_| {
        DrawError::Invalid(format!(
            "kontrakt {} har negativ risikopoengsum {score}",
            row.contract_no
        ))
    })
}

/// Builds the population of `filter` now (inside the caller's transaction, so the manifest
/// and what is stored with it see the same data).
pub fn build_population(
    conn: &mut DbConn,
    filter: &DrawFilter,
    strata: StrataMode,
    rules: &RuleSet,
    at: NaiveDateTime,
) -> Result<Population, DrawError> {
    let f = normalise_filter(filter);
    if let (Some(from), Some(to)) = (f.active_from, f.active_to)
        && from > to
    {
        return Err(DrawError::Invalid(format!(
            "perioden er tom: fra {from} er etter til {to}"
        )));
    }
    if !f.industries.is_empty() {
        let rs = rules;
        let known: Vec<&str> = rs.industries().iter().map(|i| i.id.as_str()).collect();
        if let Some(bad) = f.industries.iter().find(|i| !known.contains(&i.as_str())) {
            return Err(DrawError::Invalid(format!(
                "ukjent bransje «{bad}»; kjente bransjer er {}",
                known.join(", ")
            )));
        }
    }
    let eligible_tiers: Option<Vec<String>> = match &f.min_tier {
        None => None,
        Some(min) => {
            let rs = rules;
            let ids: Vec<String> = rs.tiers().iter().map(|t| t.id.clone()).collect();
            let pos = ids.iter().position(|t| t == min).ok_or_else(|| {
                DrawError::Invalid(format!(
                    "ukjent risikonivå «{min}»; nivåene er {}",
                    ids.join(", ")
                ))
            })?;
            Some(ids.into_iter().skip(pos).collect())
        }
    };
    if let Some(both) = f.include.iter().find(|id| f.exclude.contains(id)) {
        return Err(DrawError::Invalid(format!(
            "kontrakt {both} er både tatt med (--include) og utelatt (--exclude)"
        )));
    }

    let excluded: HashSet<&str> = f.exclude.iter().map(String::as_str).collect();
    let included: HashSet<&str> = f.include.iter().map(String::as_str).collect();
    if !f.exclude.is_empty() {
        let found: HashSet<String> = models::draws::population_rows_by_no(conn, &f.exclude)?
            .into_iter()
            .map(|r| r.contract_no)
            .collect();
        check_known("--exclude", &f.exclude, &found)?;
    }
    let include_rows = models::draws::population_rows_by_no(conn, &f.include)?;
    {
        let found: HashSet<String> = include_rows.iter().map(|r| r.contract_no.clone()).collect();
        check_known("--include", &f.include, &found)?;
    }
    let recent = match f.exclude_checked_months {
        Some(n) if n > 0 => {
            let since = at.checked_sub_months(Months::new(n)).ok_or_else(|| {
                DrawError::Invalid(format!("--exclude-checked-months {n} er for langt tilbake"))
            })?;
            models::draws::recently_drawn_contracts(conn, since)?
        }
        _ => HashSet::new(),
    };

    let base = models::draws::population_rows(conn, f.active_from, f.active_to, &f.units)?;
    let mut excluded_explicitly = 0usize;
    let mut excluded_recently = 0usize;
    let mut candidates: Vec<PopulationRow> = Vec::with_capacity(base.len());
    for row in base {
        if included.contains(row.contract_no.as_str()) {
            continue; // added below, whatever the filter says
        }
        if excluded.contains(row.contract_no.as_str()) {
            excluded_explicitly += 1;
            continue;
        }
        if recent.contains(&row.contract_id) {
            excluded_recently += 1;
            continue;
        }
        candidates.push(row);
    }
    let unscored: Vec<&str> = candidates
        .iter()
        .chain(include_rows.iter())
        .filter(|r| r.score.is_none())
        .map(|r| r.contract_no.as_str())
        .collect();
    if !unscored.is_empty() {
        let mut examples: Vec<&str> = unscored.iter().take(5).copied().collect();
        examples.sort_unstable();
        return Err(DrawError::Unscored {
            count: unscored.len(),
            examples: examples.join(", "),
        });
    }
    let mut rows: Vec<PopulationRow> = candidates
        .into_iter()
        .filter(|r| {
            let industries = r.industries.as_deref().unwrap_or("");
            (f.industries.is_empty() || in_any_industry(industries, &f.industries))
                && eligible_tiers
                    .as_ref()
                    .is_none_or(|t| r.tier.as_ref().is_some_and(|tier| t.contains(tier)))
        })
        .collect();
    let included_explicitly = include_rows.len();
    rows.extend(include_rows);
    if rows.is_empty() {
        return Err(DrawError::EmptyPopulation);
    }

    let mut versions: BTreeSet<String> = BTreeSet::new();
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(v) = &r.rule_set_version
            && !versions.contains(v)
        {
            versions.insert(v.clone());
        }
        let stratum = match strata {
            StrataMode::None => sampling::DEFAULT_STRATUM.to_owned(),
            StrataMode::Industry => industry_stratum(r.industries.as_deref().unwrap_or(""), &f.industries),
        };
        entries.push(ManifestEntry {
            stratum,
            id: r.contract_no.clone(),
            weight: weight_of(r)?,
        });
    }
    drop(rows);
    let manifest = Manifest::new(entries)?;
    let strata_info = manifest
        .strata()
        .iter()
        .map(|s| StratumInfo {
            name: s.name().to_owned(),
            size: s.len() as u64,
            risk_mass: s.total_weight(),
        })
        .collect();
    Ok(Population {
        manifest,
        strata: strata_info,
        excluded_explicitly,
        excluded_recently_checked: excluded_recently,
        included_explicitly,
        rule_set_versions: versions.into_iter().collect(),
    })
}

pub(super) fn check_known(
    what: &'static str,
    asked: &[String],
    found: &HashSet<String>,
) -> Result<(), DrawError> {
    let missing: Vec<&str> = asked
        .iter()
        .filter(|id| !found.contains(*id))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DrawError::UnknownContracts {
            what,
            ids: missing.join(", "),
        })
    }
}

/// One stratum in a preview or a draw: its population and the planned picks of round 1.
#[derive(Debug, Clone, Serialize)]
pub struct StratumPlan {
    pub name: String,
    pub size: u64,
    pub risk_mass: u64,
    pub weighted: u64,
    pub uniform: u64,
}

/// What a preview shows (nothing is stored, no picks are computed).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub preview: bool,
    pub algorithm: &'static str,
    pub manifest_sha256: String,
    pub population_size: u64,
    pub total_weight: u64,
    pub strata_mode: StrataMode,
    pub strata: Vec<StratumPlan>,
    /// Planned size (before capping at the population), when a size was given.
    pub size: Option<u64>,
    pub sizing: Option<Sizing>,
    pub uniform_share_per_mille: u16,
    pub allocation: &'static str,
    pub min_per_stratum: u64,
    pub filter: DrawFilter,
    pub excluded_explicitly: usize,
    pub excluded_recently_checked: usize,
    pub included_explicitly: usize,
    pub rule_set_versions: Vec<String>,
    pub weight_rule: &'static str,
}

pub(super) fn strata_plans(pop: &Population, plan: Option<&DrawPlan>) -> Vec<StratumPlan> {
    pop.strata
        .iter()
        .map(|s| {
            let sizes = plan
                .and_then(|p| p.per_stratum.get(&s.name))
                .copied()
                .unwrap_or_default();
            StratumPlan {
                name: s.name.clone(),
                size: s.size,
                risk_mass: s.risk_mass,
                weighted: sizes.weighted,
                uniform: sizes.uniform,
            }
        })
        .collect()
}

/// Shows the population, its strata and its fingerprint, and the plan when a size is given.
/// Reads only; stores nothing.
pub fn preview(
    conn: &mut DbConn,
    user: &User,
    spec: &DrawSpec,
    rules: &RuleSet,
) -> Result<Preview, DrawError> {
    require(user, Permission::RunDraws, "forhåndsvise trekninger")?;
    let r = spec.resolve()?;
    let sizing = if r.size.is_some() { Some(r.sizing()?) } else { None };
    let pop = build_population(conn, &spec.filter, spec.strata, rules, now())?;
    let plan = match &sizing {
        Some(s) => Some(sampling::allocate(
            &pop.manifest,
            s.size(),
            r.share,
            r.allocation,
            spec.min_per_stratum,
        )?),
        None => None,
    };
    Ok(Preview {
        preview: true,
        algorithm: ALGORITHM,
        manifest_sha256: pop.manifest.sha256_hex(),
        population_size: pop.manifest.len() as u64,
        total_weight: pop.manifest.total_weight(),
        strata_mode: spec.strata,
        strata: strata_plans(&pop, plan.as_ref()),
        size: sizing.map(|s| s.size()),
        sizing,
        uniform_share_per_mille: r.share.per_mille(),
        allocation: allocation_str(r.allocation),
        min_per_stratum: spec.min_per_stratum,
        filter: normalise_filter(&spec.filter),
        excluded_explicitly: pop.excluded_explicitly,
        excluded_recently_checked: pop.excluded_recently_checked,
        included_explicitly: pop.included_explicitly,
        rule_set_versions: pop.rule_set_versions,
        weight_rule: WEIGHT_RULE,
    })
}
