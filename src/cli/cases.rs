//! `spotcheck cases …`: cases for Kemneren and operations, a list and one case in full.
//! Reads only; the workflow is worked through the API (`/api/v1/cases`).

use std::io::Write;

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::domain::case::{CaseStatus, FindingResult, Outcome};
use crate::domain::oslo;
use crate::service;
use crate::service::cases::{CaseDetail, CaseError, CaseListItem, CaseQuery, CaseView};

#[derive(Subcommand, Debug)]
pub enum CasesCommand {
    #[command(about = "Vis sakene (nyeste først)")]
    List {
        #[arg(
            long,
            value_name = "STATUS",
            help = "Bare saker med denne statusen: ny, under_vurdering, kontrollert eller lukket"
        )]
        status: Option<String>,
        #[arg(long, value_name = "ETAT", help = "Bare saker delt med denne etaten")]
        agency: Option<String>,
        #[arg(long, default_value_t = 1, value_name = "SIDE", help = "Siden (fra 1)")]
        page: i64,
        #[arg(
            long,
            default_value_t = 100,
            value_name = "ANTALL",
            help = "Saker per side (1–500)"
        )]
        per_page: i64,
        #[arg(
            long,
            value_name = "BRUKERNAVN",
            help = "Brukeren som leser (standard: driftsbrukeren, som ser alle saker)"
        )]
        user: Option<String>,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(about = "Vis én sak: kontrakten, risikoen, trekningen, delingen, notater, funn og historikk")]
    Show {
        #[arg(value_name = "ID", help = "Saksnummeret")]
        id: i64,
        #[arg(
            long,
            value_name = "BRUKERNAVN",
            help = "Brukeren som leser (standard: driftsbrukeren, som ser alle saker)"
        )]
        user: Option<String>,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
}

/// A case error in Norwegian: a case one may not see reads as one that does not exist.
fn norwegian(e: CaseError) -> CliError {
    match e {
        CaseError::Forbidden => CliError::Load("rollen din gir ikke tilgang til saker".into()),
        CaseError::Db(d) => CliError::Load(super::db_message(&d)),
        other => CliError::Load(other.to_string()),
    }
}

fn status_label(s: &str) -> &str {
    s.parse::<CaseStatus>().map_or(s, |v| v.label())
}

fn outcome_label(s: &str) -> &str {
    s.parse::<Outcome>().map_or(s, |v| v.label())
}

fn when(t: chrono::NaiveDateTime) -> String {
    oslo::date_time(t)
}

pub fn run(ctx: &Ctx, cmd: CasesCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        CasesCommand::List {
            status,
            agency,
            page,
            per_page,
            user,
            format,
        } => {
            let who = ctx.acting_user(user.as_deref())?;
            let q = CaseQuery {
                status,
                agency,
                assigned_to_me: false,
                page,
                per_page,
                after: None,
            };
            let list = service::cases::list(&mut *ctx.conn()?, &who, &q).map_err(norwegian)?;
            if format.is_json() {
                writeln!(out, "{}", serde_json::to_string(&list).unwrap_or_default())?;
                return Ok(());
            }
            writeln!(
                out,
                "{} saker (side {} med {} per side)",
                if list.total_exact {
                    list.total.to_string()
                } else {
                    format!("over {}", list.total)
                },
                list.page.unwrap_or(1),
                list.per_page
            )?;
            for item in &list.items {
                match item {
                    CaseListItem::Summary(s) => writeln!(
                        out,
                        "sak {}\t{}\t{}\tavtale {}\t{} ({})\trisiko {}\tsaksbehandler {}",
                        s.id,
                        status_label(&s.status),
                        s.outcome.as_deref().map_or("-", outcome_label),
                        s.contract_no,
                        s.supplier_name,
                        s.orgnr,
                        s.score.map_or("-".into(), |v| v.to_string()),
                        s.assigned_to.as_deref().unwrap_or("-"),
                    )?,
                    CaseListItem::Outcome(o) => writeln!(
                        out,
                        "sak {}\t{}\t{}\tavtale {}",
                        o.id,
                        status_label(&o.status),
                        o.outcome.as_deref().map_or("-", outcome_label),
                        o.contract_no,
                    )?,
                }
            }
        }
        CasesCommand::Show { id, user, format } => {
            let who = ctx.acting_user(user.as_deref())?;
            let view = service::cases::show(&mut *ctx.conn()?, &who, id).map_err(norwegian)?;
            if format.is_json() {
                writeln!(out, "{}", serde_json::to_string(&view).unwrap_or_default())?;
                return Ok(());
            }
            match view {
                CaseView::Detail(d) => print_detail(&d, out)?,
                CaseView::Outcome(o) => writeln!(
                    out,
                    "Sak {}: avtale {}, status {}, utfall {}",
                    o.id,
                    o.contract_no,
                    status_label(&o.status),
                    o.outcome.as_deref().map_or("-", outcome_label)
                )?,
            }
        }
    }
    Ok(())
}

fn print_detail(d: &CaseDetail, out: &mut dyn Write) -> Result<(), CliError> {
    writeln!(out, "Sak {} ({})", d.id, status_label(&d.status))?;
    if let Some(o) = &d.outcome {
        writeln!(out, "Utfall: {}", outcome_label(o))?;
    }
    if let Some(p) = &d.close_proposal {
        writeln!(
            out,
            "Foreslått lukket med utfall «{}» av {} {}; venter på bekreftelse fra en annen",
            outcome_label(&p.outcome),
            p.proposed_by,
            when(p.proposed_at)
        )?;
    }
    writeln!(
        out,
        "Saksbehandler: {}",
        d.assigned_to.as_deref().unwrap_or("ingen")
    )?;
    let c = &d.contract;
    writeln!(
        out,
        "Avtale {}{}: {} (org.nr. {}), verdi {}, enhet {}",
        c.contract_no,
        c.title.as_deref().map(|t| format!(" «{t}»")).unwrap_or_default(),
        c.supplier_name,
        c.orgnr,
        c.value_ore.map(oslo::kroner).unwrap_or_else(|| "ukjent".into()),
        c.unit.as_deref().unwrap_or("-"),
    )?;
    match &d.risk {
        Some(r) => writeln!(
            out,
            "Risiko: {} av {} ({}), regelsett {}",
            r.score, r.max_possible_score, r.tier, r.rule_set_version
        )?,
        None => writeln!(out, "Risiko: ikke vurdert")?,
    }
    if let Some(o) = &d.draw {
        writeln!(
            out,
            "Trekning {}, runde {}, posisjon {}, del {}, lag {}",
            o.draw_id,
            o.round,
            o.position,
            o.part.as_deref().unwrap_or("-"),
            o.stratum.as_deref().unwrap_or("-")
        )?;
    }
    let shares: Vec<&str> = d.shares.iter().map(|s| s.agency.as_str()).collect();
    writeln!(
        out,
        "Delt med: {}",
        if shares.is_empty() {
            "ingen".into()
        } else {
            shares.join(", ")
        }
    )?;
    if !d.findings.is_empty() {
        writeln!(out, "Funn:")?;
        for f in &d.findings {
            let result = f
                .result
                .parse::<FindingResult>()
                .map_or(f.result.as_str(), |v| v.label());
            writeln!(out, "  {}: {} ({}, {})", f.indicator, result, f.by, when(f.at))?;
        }
    }
    if !d.notes.is_empty() {
        writeln!(out, "Notater:")?;
        for n in &d.notes {
            writeln!(out, "  {} {}: {}", when(n.at), n.author, n.text)?;
        }
    }
    writeln!(out, "Historikk:")?;
    for e in &d.events {
        let ev = &e.event;
        let what = match ev.kind.as_str() {
            "status" => format!("status {}", ev.status.as_deref().map_or("-", status_label)),
            "assign" => format!("tildelt {}", e.assignee.as_deref().unwrap_or("-")),
            "note" => "notat".into(),
            "finding" => format!(
                "funn {}: {}",
                ev.indicator.as_deref().unwrap_or("-"),
                ev.result.as_deref().unwrap_or("-")
            ),
            "close_proposed" => format!(
                "foreslo lukking ({})",
                ev.outcome.as_deref().map_or("-", outcome_label)
            ),
            "close_confirmed" => format!(
                "bekreftet lukking ({})",
                ev.outcome.as_deref().map_or("-", outcome_label)
            ),
            "close_withdrawn" => "forslaget om lukking falt bort".into(),
            "reopen" => format!("gjenåpnet: {}", ev.text.as_deref().unwrap_or("")),
            "share" => format!("delt med {}", ev.agency.as_deref().unwrap_or("-")),
            "unshare" => format!("ikke lenger delt med {}", ev.agency.as_deref().unwrap_or("-")),
            other => other.to_owned(),
        };
        writeln!(out, "  {} {}: {}", when(ev.at), ev.actor, what)?;
    }
    Ok(())
}
