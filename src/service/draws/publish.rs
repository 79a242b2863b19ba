//! Publishing and extending draws: picks, cases and notifications stored in one
//! transaction with the audit entry.

use super::*;

/// 128 bits from the operating system's generator, as 32 hex digits.
pub(super) fn os_seed() -> Result<String, DrawError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| DrawError::Random(e.to_string()))?;
    Ok(crate::domain::digest::lower_hex(&bytes))
}

pub(super) fn to_i64(v: u64, what: &str) -> Result<i64, DrawError> {
    i64::try_from(v).map_err(|_| DrawError::Invalid(format!("{what} er for stor ({v})")))
}

/// SHA-256 of a round's picks as JSON (recorded in the audit log, so that a rewrite of the
/// stored picks is caught even if the seed is rewritten to match).
pub fn picks_sha256(picks: &[Pick]) -> String {
    sampling::sha256_hex(&serde_json::to_string(picks).unwrap_or_default())
}

/// What a stored round set off.
pub(super) struct RoundEffects {
    pub(super) cases: usize,
    /// Agencies the new cases were shared with, counted per case.
    pub(super) shares: usize,
    pub(super) notifications: usize,
}

/// Stores one round: plan, picks, a case per pick shared with the agencies concerned
/// (`service::cases::share_new_cases`), a message per liaison. Inside `write_tx`.
#[allow(clippy::too_many_arguments)]
pub(super) fn store_round(
    c: &mut DbConn,
    draw_id: i64,
    round: i32,
    plan: &DrawPlan,
    size_requested: u64,
    picks: &[Pick],
    user: &User,
    at: NaiveDateTime,
    manifest_sha256: &str,
    rules: &RuleSet,
) -> Result<RoundEffects, DrawError> {
    let nos: Vec<&str> = picks.iter().map(|p| p.id.as_str()).collect();
    let ids = models::draws::contract_ids_by_no(c, &nos)?;
    let mut rows = Vec::with_capacity(picks.len());
    for p in picks {
        let contract_id = *ids.get(&p.id).ok_or_else(|| DrawError::Corrupt {
            id: draw_id,
            reason: format!("kontrakt {} i manifestet finnes ikke lenger", p.id),
        })?;
        let (part, counter, ticket) = match &p.part {
            Part::Weighted { counter } => ("weighted", Some(to_i64(*counter, "telleren")?), None),
            Part::Uniform { ticket } => ("uniform", None, Some(ticket.as_str())),
        };
        rows.push(NewPick {
            position: to_i64(p.position, "posisjonen")?,
            stratum: &p.stratum,
            contract_id,
            contract_no: &p.id,
            part,
            counter,
            ticket,
        });
    }
    let first_position = picks.first().map_or(0, |p| p.position);
    let plan_json = serde_json::to_string(plan).unwrap_or_default();
    models::draws::insert_round(
        c,
        &NewRound {
            draw_id,
            round,
            plan: &plan_json,
            size_requested: to_i64(size_requested, "størrelsen")?,
            picks_made: picks.len() as i64,
            first_position: to_i64(first_position, "posisjonen")?,
            created_by_user_id: user.id,
            created_by: &user.username,
            created_at: at,
        },
    )?;
    let stored = models::draws::insert_picks(c, draw_id, round, &rows)?;
    let cases = models::draws::open_cases_for_picks(c, draw_id, &stored, at)?;

    // The liaisons who cover the picks' industries are told, one message each with the
    // picks that concern them; queued here, in the draw's transaction.
    let case_of_pick: HashMap<i64, i64> = models::draws::cases_of_draw(c, draw_id)?
        .iter()
        .filter_map(|k| k.pick_id.map(|p| (p, k.id)))
        .collect();
    // The cases just opened, shared with the agencies whose liaisons cover them.
    let new_cases: Vec<(i64, i64)> = stored
        .iter()
        .filter_map(|p| case_of_pick.get(&p.id).map(|k| (*k, p.contract_id)))
        .collect();
    let shares = crate::service::cases::share_new_cases(c, &new_cases, user, at)?;
    let notice_picks = stored
        .iter()
        .map(|p| {
            (
                p.contract_id,
                DrawPlace {
                    position: u64::try_from(p.position).unwrap_or(0),
                    part: p.part.clone(),
                    stratum: p.stratum.clone(),
                },
                case_of_pick.get(&p.id).copied(),
            )
        })
        .collect();
    let notifications = crate::service::notices::queue_draw_round(
        c,
        rules,
        &crate::service::notices::DrawRound {
            draw_id,
            round,
            manifest_sha256,
            published_at: at,
            published_by: &user.username,
            picks: notice_picks,
        },
    )?;
    Ok(RoundEffects {
        cases,
        shares,
        notifications,
    })
}

/// The outcome of publishing or extending.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    #[serde(flatten)]
    pub draw: DrawView,
    /// Round just stored (1 for a new draw).
    pub round: i32,
    pub cases_opened: usize,
    pub notifications_queued: usize,
    /// Things the person publishing should act on (e.g. nobody to notify).
    pub warnings: Vec<String>,
}

/// The warnings for a publish or extension that queued `notifications` messages.
pub(super) fn publish_warnings(notifications: usize) -> Vec<String> {
    if notifications == 0 {
        vec![
            "ingen kontaktperson dekker bransjene til de trukne kontraktene: sakene er opprettet, men ingen fikk e-post; \
             legg til kontaktpersoner med `spotcheck liaisons add` (eller på /liaisons)"
                .to_owned(),
        ]
    } else {
        Vec::new()
    }
}

/// Publishes a new draw: freezes the population, draws with the seed (given, or 128 bits
/// from the OS), and stores the draw, its picks, a case per pick, a message per liaison and
/// the audit entry in one transaction. Any failure stores nothing.
pub fn publish(
    conn: &mut DbConn,
    user: &User,
    spec: &DrawSpec,
    rules: &RuleSet,
) -> Result<Published, DrawError> {
    require(user, Permission::RunDraws, "publisere trekninger")?;
    let r = spec.resolve()?;
    let sizing = r.sizing()?;
    let (seed, seed_source) = match &spec.seed {
        Some(s) => {
            sampling::check_seed(s)?;
            (s.clone(), "ceremony")
        }
        None => (os_seed()?, "os_rng"),
    };
    let filter = normalise_filter(&spec.filter);
    let (id, effects) = write_tx(conn, |c| -> Result<(i64, RoundEffects), DrawError> {
        let at = now();
        let pop = build_population(c, &filter, spec.strata, rules, at)?;
        let sha = pop.manifest.sha256_hex();
        if let Some(expected) = &spec.expected_manifest_sha256
            && !expected.trim().eq_ignore_ascii_case(&sha)
        {
            return Err(DrawError::ManifestChanged {
                expected: expected.trim().to_owned(),
                actual: sha,
            });
        }
        let plan = sampling::allocate(
            &pop.manifest,
            sizing.size(),
            r.share,
            r.allocation,
            spec.min_per_stratum,
        )?;
        let picks = sampling::draw(&pop.manifest, &seed, &plan)?;
        let text = pop.manifest.to_text();
        let filter_json = serde_json::to_string(&filter).unwrap_or_default();
        let sizing_json = serde_json::to_string(&sizing).unwrap_or_default();
        let strata_json = serde_json::to_string(&pop.strata).unwrap_or_default();
        let id = models::draws::insert_draw(
            c,
            &NewDraw {
                algorithm: ALGORITHM,
                seed: &seed,
                seed_source,
                manifest_sha256: &sha,
                manifest_text: &text,
                population_size: pop.manifest.len() as i64,
                total_weight: to_i64(pop.manifest.total_weight(), "risikomassen")?,
                strata_mode: spec.strata.as_str(),
                allocation: allocation_str(r.allocation),
                uniform_share_per_mille: i32::from(r.share.per_mille()),
                min_per_stratum: to_i64(spec.min_per_stratum, "minimum per lag")?,
                sizing: &sizing_json,
                filter: &filter_json,
                strata: &strata_json,
                weight_rule: WEIGHT_RULE,
                created_by_user_id: user.id,
                created_by: &user.username,
                created_at: at,
            },
        )?;
        let effects = store_round(c, id, 1, &plan, sizing.size(), &picks, user, at, &sha, rules)?;
        audit::append(
            c,
            &Actor::user(&user.username),
            Event {
                action: "draw.publish",
                object_type: "draw",
                object_id: &id.to_string(),
                detail: json!({
                    "algorithm": ALGORITHM,
                    "seed": seed,
                    "seed_source": seed_source,
                    "manifest_sha256": sha,
                    "population_size": pop.manifest.len(),
                    "strata_mode": spec.strata.as_str(),
                    "filter": filter,
                    "sizing": sizing,
                    "round": 1,
                    "plan": plan,
                    "picks": picks.len(),
                    "picks_sha256": picks_sha256(&picks),
                    "cases": effects.cases,
                    "case_shares": effects.shares,
                    "notifications": effects.notifications,
                    "rule_set_versions": pop.rule_set_versions,
                }),
            },
        )?;
        Ok((id, effects))
    })?;
    Ok(Published {
        draw: show(conn, id)?,
        round: 1,
        cases_opened: effects.cases,
        notifications_queued: effects.notifications,
        warnings: publish_warnings(effects.notifications),
    })
}

/// Extends a published draw by `size` more picks with the same manifest and seed; earlier
/// picks stay. The extra picks are allocated over the strata in proportion to what is still
/// unpicked (by size or risk mass, as the draw was), split with the draw's uniform share
/// unless another is given. The stored draw is verified first: a draw that does not hold is
/// never extended.
pub fn extend(
    conn: &mut DbConn,
    user: &User,
    id: i64,
    size: u64,
    share: Option<UniformShare>,
    rules: &RuleSet,
) -> Result<Published, DrawError> {
    require(user, Permission::RunDraws, "utvide trekninger")?;
    if size == 0 {
        return Err(DrawError::Invalid(
            "utvidelsen må være på minst 1 kontrakt".into(),
        ));
    }
    let (round, effects) = write_tx(conn, |c| -> Result<(i32, RoundEffects), DrawError> {
        let at = now();
        let draw = models::draws::find_draw(c, id)?.ok_or(DrawError::NotFound(id))?;
        let text = models::draws::manifest_text(c, id)?.ok_or_else(|| corrupt(id, "manifestet mangler"))?;
        let record = load_record(c, id)?;
        let report = record.verify(&text);
        if !report.is_ok() {
            return Err(corrupt(
                id,
                format!(
                    "den holder ikke ved kontroll og utvides ikke: {}",
                    report.reason()
                ),
            ));
        }
        let manifest = Manifest::parse(&text).map_err(|e| corrupt(id, e.to_string()))?;
        let picked: HashSet<&str> = record.picks.iter().map(|p| p.id.as_str()).collect();
        let remaining: Vec<ManifestEntry> = manifest
            .entries()
            .filter(|e| !picked.contains(e.id.as_str()))
            .collect();
        if remaining.is_empty() {
            return Err(DrawError::Exhausted(id));
        }
        let remaining = Manifest::new(remaining)?;
        let share = match share {
            Some(s) => s,
            None => UniformShare::from_per_mille(u16::try_from(draw.uniform_share_per_mille).unwrap_or(500))?,
        };
        let allocation = parse_allocation(&draw.allocation)?;
        let plan = sampling::allocate(&remaining, size, share, allocation, 0)?;
        let new = sampling::extend(&manifest, &draw.seed, &record.picks, &plan)?;
        let round = i32::try_from(record.plans.len() + 1).map_err(|_| corrupt(id, "for mange runder"))?;
        let effects = store_round(
            c,
            id,
            round,
            &plan,
            size,
            &new,
            user,
            at,
            &draw.manifest_sha256,
            rules,
        )?;
        audit::append(
            c,
            &Actor::user(&user.username),
            Event {
                action: "draw.extend",
                object_type: "draw",
                object_id: &id.to_string(),
                detail: json!({
                    "round": round,
                    "plan": plan,
                    "size": size,
                    "uniform_share_per_mille": share.per_mille(),
                    "picks": new.len(),
                    "picks_sha256": picks_sha256(&new),
                    "cases": effects.cases,
                    "case_shares": effects.shares,
                    "notifications": effects.notifications,
                }),
            },
        )?;
        Ok((round, effects))
    })?;
    Ok(Published {
        draw: show(conn, id)?,
        round,
        cases_opened: effects.cases,
        notifications_queued: effects.notifications,
        warnings: publish_warnings(effects.notifications),
    })
}
