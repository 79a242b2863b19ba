//! What users read instead of internal codes: industry and tier ids, approval statuses,
//! evidence field names, assessment occasions and event kinds become Norwegian words.
//! Every page that shows a stored code goes through here (issue: "no internal codes on any
//! page"); an unknown code is shown as it is rather than hidden, so nothing is lost.

use crate::risk::RuleSet;

/// `bygg_anlegg` → «Bygg og anlegg» (the rule set's own name for the industry).
pub fn industry(rules: &RuleSet, id: &str) -> String {
    rules
        .industries()
        .iter()
        .find(|i| i.id == id)
        .map_or_else(|| id.to_owned(), |i| i.name.clone())
}

/// A comma-separated list of industry ids (as stored on a contract) as names.
pub fn industries(rules: &RuleSet, ids: &str) -> String {
    let names: Vec<String> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| industry(rules, id))
        .collect();
    if names.is_empty() {
        "ingen risikobransje".into()
    } else {
        names.join(", ")
    }
}

/// `høy` → «Høy».
pub fn tier(rules: &RuleSet, id: &str) -> String {
    rules
        .tiers()
        .iter()
        .find(|t| t.id == id)
        .map_or_else(|| id.to_owned(), |t| t.label.clone())
}

/// The CSS class of a tier's badge: the tier's position (0 = lowest), so colours follow the
/// order of tiers whatever a rule set names them.
pub fn tier_class(rules: &RuleSet, id: &str) -> String {
    let pos = rules.tiers().iter().position(|t| t.id == id).unwrap_or(0);
    let top = rules.tiers().len().saturating_sub(1);
    let level = (pos * 3 + top / 2).checked_div(top).unwrap_or(0);
    format!("tier tier-{level}")
}

/// An approval register's status code (`not_approved`) as people say it.
pub fn approval_status(code: &str) -> &str {
    match code {
        "approved" => "godkjent",
        "pending" => "søknad under behandling",
        "not_approved" => "ikke godkjent",
        "not_listed" => "står ikke i registeret",
        "other" => "ukjent status (må vurderes manuelt)",
        other => other,
    }
}

/// The approval register an industry requires (`renhold`) by its public name.
pub fn approval_register(code: &str) -> &str {
    match code {
        "renhold" => "Renholdsregisteret",
        "bilpleie" => "Register over godkjente bilpleievirksomheter",
        "bemanning" => "Bemanningsforetaksregisteret",
        other => other,
    }
}

/// Why an assessment was made (`import`, `enrichment`, …).
pub fn occasion(code: &str) -> &str {
    match code {
        "import" => "etter import",
        "enrichment" => "nye opplysninger fra Enhetsregisteret",
        "rules" => "nye regler tatt i bruk",
        "manual" => "ny vurdering bestilt",
        "case" => "sak opprettet",
        other => other,
    }
}

/// An evidence field with its value: `supplier.bankrupt` + `true` → «Leverandørens
/// konkursstatus: ja». Codes inside values (industries, approval statuses) are named too.
pub fn evidence(rules: &RuleSet, key: &str, value: &serde_json::Value) -> String {
    let what = crate::risk::describe_field(key).map_or_else(|| key.to_owned(), capitalise);
    format!("{what}: {}", evidence_value(rules, key, value))
}

/// Why an indicator could not be computed, as stored (`supplier.employees: leverandøren er
/// ikke slått opp …; contract.hours: …`), with each field named in words.
pub fn missing(reason: &str) -> String {
    reason
        .split("; ")
        .map(|part| match part.split_once(": ") {
            Some((key, why)) => match crate::risk::describe_field(key) {
                Some(desc) => format!("{}: {why}", capitalise(desc)),
                None => part.to_owned(),
            },
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn evidence_value(rules: &RuleSet, key: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "ukjent".into(),
        Value::Bool(true) => "ja".into(),
        Value::Bool(false) => "nei".into(),
        Value::String(s) if key.ends_with("industries") => industry(rules, s),
        Value::String(s) if key == "approval.status" => approval_status(s).to_owned(),
        Value::String(s) if key == "approval.required_registers" => approval_register(s).to_owned(),
        Value::String(s) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => d.format("%d.%m.%Y").to_string(),
            Err(_) => s.clone(),
        },
        Value::Array(xs) => xs
            .iter()
            .map(|x| evidence_value(rules, key, x))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Number(n) if key.ends_with("_nok") => n.as_f64().map_or_else(
            || n.to_string(),
            |k| crate::domain::oslo::kroner((k * 100.0).round() as i64),
        ),
        other => other.to_string(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An agency id (`arbeidstilsynet`) by its name.
pub fn agency(id: &str) -> String {
    id.parse::<crate::domain::roles::Agency>()
        .map_or_else(|_| id.to_owned(), |a| a.label().to_owned())
}

/// Stored document kinds (`,lonnsslipper,hms_kort,`) as people name them.
pub fn documents(stored: &str) -> String {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|d| {
            crate::domain::case::DocumentKind::parse(d).map_or_else(|| d.to_owned(), |k| k.label().to_owned())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where register facts came from.
pub fn facts_source(code: &str) -> &str {
    match code {
        "api" => "Enhetsregisteret (oppslag)",
        "bulk-json" | "bulk-csv" => "Enhetsregisteret (totaluttrekk)",
        other => other,
    }
}

/// What the register said about the unit when it was looked up.
pub fn facts_outcome(code: &str) -> &str {
    match code {
        "active" => "registrert",
        "deleted" => "slettet",
        "removed" => "fjernet fra registeret",
        "unknown" => "ikke funnet",
        other => other,
    }
}

/// The state of a supplier's look-up job.
pub fn enrichment_state(code: &str) -> &str {
    match code {
        "pending" => "venter på oppslag",
        "done" => "hentet",
        "failed" => "oppslaget feilet",
        other => other,
    }
}

/// The reasons for a forced dissolution, as the register words them.
pub fn dissolution_reason(code: &str) -> &str {
    match code {
        "manglende_sletting" => "manglende sletting",
        "manglende_daglig_leder" => "mangler daglig leder",
        "manglende_revisor" => "mangler revisor",
        "manglende_regnskap" => "manglende årsregnskap",
        "mangelfullt_styre" => "mangelfullt styre",
        other => other,
    }
}

// ---- Draws (the draw pages, `pages::draws`) ----

/// A draw's stratum: an industry id by its name; `all` (no strata) and `annet` (no risk
/// industry) in words.
pub fn stratum(rules: &RuleSet, name: &str) -> String {
    match name {
        "all" => "alle (ingen lagdeling)".into(),
        "annet" => "annet (ingen risikobransje)".into(),
        id if rules.tiers().iter().any(|t| t.id == id) => tier(rules, id),
        id => industry(rules, id),
    }
}

/// The part of a draw that made a pick (`weighted`, `uniform`).
pub fn draw_part(code: &str) -> &str {
    match code {
        "weighted" => "vektet etter risiko",
        "uniform" => "likt tilfeldig",
        other => other,
    }
}

/// Where a draw's seed came from (`ceremony`, `os_rng`).
pub fn seed_source(code: &str) -> &str {
    match code {
        "ceremony" => "fra seremonien",
        "os_rng" => "tilfeldig fra operativsystemet (ingen seremoni)",
        other => other,
    }
}

/// How a draw spreads its size over the strata (`by_size`, `by_risk_mass`).
pub fn allocation(code: &str) -> &str {
    match code {
        "by_size" | "size" => "etter antall kontrakter",
        "by_risk_mass" | "risk" => "etter risikomasse (sum av vekter)",
        other => other,
    }
}

/// A draw's strata mode (`none`, `industry`).
pub fn strata_mode(code: &str) -> &str {
    match code {
        "none" => "ingen lagdeling",
        "industry" => "ett lag per risikobransje",
        other => other,
    }
}

/// The model a planned draw size comes from (`poisson`, `binomial`).
pub fn size_model(code: &str) -> &str {
    match code {
        "poisson" => "Poisson-modell",
        "binomial" => "binomisk modell",
        other => other,
    }
}

// ----------------------------------------------------------------------------- cases
// The case pages (issue 14): statuses, outcomes, findings, draw parts and history events.

/// A case status (`under_vurdering`) as people say it («under vurdering»).
pub fn case_status(code: &str) -> String {
    code.parse::<crate::domain::case::CaseStatus>()
        .map_or_else(|_| code.to_owned(), |s| s.label().to_owned())
}

/// A case outcome (`henvist_nav`) as people say it («henvist til NAV»).
pub fn case_outcome(code: &str) -> String {
    code.parse::<crate::domain::case::Outcome>()
        .map_or_else(|_| code.to_owned(), |o| o.label().to_owned())
}

/// A finding's result (`ikke_bekreftet`) as people say it.
pub fn finding_result(code: &str) -> String {
    code.parse::<crate::domain::case::FindingResult>()
        .map_or_else(|_| code.to_owned(), |r| r.label().to_owned())
}

/// Why a case exists (`draw`, `flag`).
pub fn case_source(code: &str) -> &str {
    match code {
        "draw" => "trukket ut i en stikkprøve",
        "flag" => "nådde høyeste risikonivå",
        other => other,
    }
}

/// An indicator id by its title in `rules` (the id when the rule set has no such indicator).
pub fn indicator(rules: &RuleSet, id: &str) -> String {
    rules
        .indicators()
        .iter()
        .find(|i| i.id == id)
        .map_or_else(|| id.to_owned(), |i| i.title.to_string())
}

/// A document kind (`hms_kort`) by its name («Oversikt over HMS-kort»).
pub fn document(code: &str) -> String {
    crate::domain::case::DocumentKind::parse(code).map_or_else(|| code.to_owned(), |d| d.label().to_owned())
}

/// One event of a case's history as a sentence: `kind` with what the event recorded.
pub fn case_event(
    rules: &RuleSet,
    event: &crate::db::models::cases::EventRow,
    assignee: Option<&str>,
) -> String {
    let or_blank = |v: &Option<String>| v.clone().unwrap_or_default();
    match event.kind.as_str() {
        "status" => format!("Status endret til «{}»", case_status(&or_blank(&event.status))),
        "assign" => format!("Saken er tildelt {}", assignee.unwrap_or("en bruker")),
        "note" => "Notat skrevet".into(),
        "finding" => format!(
            "Funn registrert for «{}»: {}",
            indicator(rules, &or_blank(&event.indicator)),
            finding_result(&or_blank(&event.result))
        ),
        "close_proposed" => format!(
            "Foreslått lukket med utfall «{}»",
            case_outcome(&or_blank(&event.outcome))
        ),
        "close_confirmed" => format!(
            "Lukking bekreftet med utfall «{}»",
            case_outcome(&or_blank(&event.outcome))
        ),
        "close_withdrawn" => "Forslaget om lukking er trukket tilbake".into(),
        "reopen" => format!("Gjenåpnet: {}", or_blank(&event.text)),
        "share" => format!("Delt med {}", agency(&or_blank(&event.agency))),
        "unshare" => format!("Ikke lenger delt med {}", agency(&or_blank(&event.agency))),
        "document_requested" => or_blank(&event.text),
        "document_received" => "Dokumentene er mottatt".into(),
        "evidence_added" => format!("Vedlegg lastet opp: {}", or_blank(&event.text)),
        other => other.to_owned(),
    }
}

// ---- Administration, liaison and outbox pages (issue 14) ----

/// An audit action code as an event name. Every code the services write is here (a test in
/// `tests/admin_pages.rs` scans `src/` for them); an unknown code is shown as it is.
pub fn audit_action(code: &str) -> &str {
    match code {
        "user.create" => "Bruker opprettet",
        "demo.seed" => "Demodata lagt inn",
        "demo.backdate_document_request" => "Frist flyttet tilbake i demodata",
        "user.set_role" => "Rolle endret",
        "user.disable" => "Bruker deaktivert",
        "user.enable" => "Bruker aktivert",
        "user.set_password" => "Passord satt",
        "token.create" => "API-nøkkel opprettet",
        "token.revoke" => "API-nøkkel trukket tilbake",
        "login" | "login.success" => "Innlogging",
        "login.throttled" => "Innlogging midlertidig sperret",
        "logout" => "Utlogging",
        "liaison.create" => "Kontaktperson lagt til",
        "liaison.update" => "Kontaktperson endret",
        "liaison.remove" => "Kontaktperson fjernet",
        "outbox.retry" => "E-post lagt i kø på nytt",
        "case.status" => "Saksstatus endret",
        "case.assign" => "Sak tildelt",
        "case.note" => "Notat skrevet",
        "case.finding" => "Funn registrert",
        "case.close_proposed" => "Lukking av sak foreslått",
        "case.close_confirmed" => "Sak lukket",
        "case.reopen" => "Sak gjenåpnet",
        "case.share" => "Sak delt med etat",
        "case.unshare" => "Deling av sak stoppet",
        "case.read" => "Sak lest",
        "case.list" => "Saksliste lest",
        "case.evidence" => "Vedlegg lastet opp",
        "case.evidence_read" => "Vedlegg lest",
        "case.document_request" => "Dokumenter etterspurt",
        "case.document_received" => "Dokumenter mottatt",
        "draw.publish" => "Trekning publisert",
        "draw.extend" => "Trekning utvidet",
        "draw.inspection_list" => "Kontrolliste hentet",
        "contract.move_owner" => "Kontrakt flyttet til ny eier",
        "import.create" => "Register importert",
        "risk.rescore" => "Risiko vurdert på nytt",
        "rules.activate" => "Regelsett tatt i bruk",
        "supplier.refresh" => "Leverandør slått opp på nytt",
        "brreg.removed" => "Enhet slettet i Enhetsregisteret",
        "brreg.bulk_load" => "Enhetsregisteret lest inn fra fil",
        "approvals.load" => "Godkjenningsregister lest inn",
        other => other,
    }
}

/// The kind of object an audit entry is about.
pub fn audit_object_type(code: &str) -> &str {
    match code {
        "user" => "Bruker",
        "case" => "Sak",
        "draw" => "Trekning",
        "liaison" => "Kontaktperson",
        "outbox" => "E-post",
        "contract" => "Kontrakt",
        "import_batch" => "Import",
        "rule_set" => "Regelsett",
        "supplier" => "Leverandør",
        "register_file" => "Registerfil",
        "approval_load" => "Innlesing av godkjenningsregister",
        other => other,
    }
}

/// Who did something, as stored in the audit log (`user:kari`, `cli:root`, `system`,
/// `anonymous@10.0.0.1`), in words.
pub fn actor(stored: &str) -> String {
    if let Some(name) = stored.strip_prefix("user:") {
        name.to_owned()
    } else if let Some(os) = stored.strip_prefix("cli:") {
        format!("kommandolinjen ({os})")
    } else if let Some(address) = stored.strip_prefix("anonymous@") {
        format!("ukjent fra {address}")
    } else if stored == "system" {
        "tjenesten selv".into()
    } else {
        stored.to_owned()
    }
}

/// An outbox status (`pending`, `sending`, `sent`, `dead`).
pub fn outbox_status(code: &str) -> &str {
    match code {
        "pending" => "venter",
        "sending" => "sendes",
        "sent" => "sendt",
        "dead" => "feilet permanent",
        other => other,
    }
}

/// What a liaison can be told about.
pub fn notice(kind: crate::domain::liaison::NoticeKind) -> &'static str {
    use crate::domain::liaison::NoticeKind;
    match kind {
        NoticeKind::DrawPublished => "Nye trekninger",
        NoticeKind::HighRisk => "Kontrakter som når høyeste risikonivå",
        NoticeKind::WeeklySummary => "Ukeoppsummering",
    }
}

/// Why a mail was not sent, in words, from the reason the sender stored (the mail
/// server's answer or the sender's own reason, in English). The stored text stays
/// available beside it; this says what kind of failure it was.
pub fn mail_error(raw: &str) -> &'static str {
    let r = raw.to_lowercase();
    if r.contains("no recipient address") {
        "Meldingen mangler mottakeradresse."
    } else if r.starts_with("recipient «") || r.starts_with("recipient \"") {
        "Mottakeradressen er ugyldig."
    } else if r.contains("stored notice cannot be read") || r.contains("cannot be written") {
        "Meldingen kunne ikke lages (feil i tjenesten)."
    } else if r.contains("permanent error") {
        "E-postserveren avviste meldingen for godt."
    } else if r.contains("transient error") {
        "E-postserveren avviste meldingen midlertidig."
    } else if r.contains("timeout") || r.contains("timed out") {
        "E-postserveren svarte ikke i tide."
    } else if r.contains("tls") {
        "Den sikre forbindelsen (TLS) til e-postserveren feilet."
    } else if r.contains("connection") || r.contains("network") || r.contains("refused") {
        "Fikk ikke kontakt med e-postserveren."
    } else {
        "Sendingen feilet."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_as_norwegian() {
        let rules = crate::service::rules::default_rule_set().expect("built-in rules");
        assert_eq!(
            evidence(&rules, "supplier.bankrupt", &serde_json::json!(true)),
            "Leverandørens konkursstatus: ja"
        );
        assert_eq!(
            evidence(&rules, "industries", &serde_json::json!(["bygg_anlegg"])),
            "Risikobransjer (kontrakt og leverandør): Bygg og anlegg"
        );
        assert_eq!(
            evidence(&rules, "approval.status", &serde_json::json!("not_approved")),
            "Godkjenningsstatus: ikke godkjent"
        );
        assert_eq!(
            industries(&rules, ",renhold,bygg_anlegg,"),
            "Renhold, Bygg og anlegg"
        );
        assert_eq!(tier_class(&rules, "lav"), "tier tier-0");
        assert_eq!(tier_class(&rules, "kritisk"), "tier tier-3");
    }
}
