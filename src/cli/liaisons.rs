//! `spotcheck liaisons …`: the contacts at the A-krim agencies who receive mail.

use std::io::Write;

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::domain::liaison::LiaisonDraft;
use crate::service;

#[derive(Subcommand, Debug)]
pub enum LiaisonsCommand {
    #[command(about = "Legg til en kontaktperson")]
    Add {
        #[arg(value_name = "NAVN", help = "Personens navn")]
        name: String,
        #[arg(
            long,
            value_name = "ETAT",
            help = "arbeidstilsynet, skatteetaten, politiet, nav eller kemneren"
        )]
        agency: String,
        #[arg(
            long,
            value_name = "E-POST",
            help = "Hvor e-posten til kontaktpersonen skal sendes"
        )]
        email: String,
        #[arg(
            long = "industry",
            value_name = "BRANSJE",
            help = "En risikobransje kontaktpersonen dekker (id i regelsettet i bruk, f.eks. renhold); \
                    kan gjentas; ingen: alle bransjer"
        )]
        industries: Vec<String>,
        #[arg(
            long = "notice",
            value_name = "VARSEL",
            help = "Et varsel kontaktpersonen vil ha: draw_published, high_risk eller weekly_summary; \
                    kan gjentas; minst ett"
        )]
        notices: Vec<String>,
        #[arg(
            long,
            value_name = "BRUKERNAVN",
            help = "A-krim-brukeren (i samme etat) som er denne kontaktpersonen, om noen"
        )]
        user: Option<String>,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(about = "List opp de aktive kontaktpersonene")]
    List {
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(about = "Fjern en kontaktperson (den beholdes som inaktiv, for revisjonsloggen)")]
    Remove {
        #[arg(value_name = "ID", help = "Kontaktpersonens id (fra «liaisons list»)")]
        id: i64,
    },
}

fn or_dash(list: &[String]) -> String {
    if list.is_empty() {
        "-".into()
    } else {
        list.join(",")
    }
}

pub fn run(ctx: &Ctx, cmd: LiaisonsCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let actor = Actor::cli();
    match cmd {
        LiaisonsCommand::Add {
            name,
            agency,
            email,
            industries,
            notices,
            user,
            format,
        } => {
            let rules = ctx.rules()?;
            let draft = LiaisonDraft {
                name,
                agency,
                email,
                industries,
                notices,
                user,
            };
            let created = service::liaisons::create(&mut *ctx.conn()?, &actor, &rules, &draft)?;
            if format.is_json() {
                writeln!(out, "{}", serde_json::to_string(&created).unwrap_or_default())?;
            } else {
                writeln!(
                    out,
                    "kontaktperson {} ({}, {}) er lagt til med id {}",
                    created.name, created.agency, created.email, created.id
                )?;
            }
        }
        LiaisonsCommand::List { format } => {
            let list = service::liaisons::list(&mut *ctx.conn()?)?;
            if format.is_json() {
                writeln!(out, "{}", serde_json::to_string(&list).unwrap_or_default())?;
            } else {
                for l in list {
                    let notices: Vec<String> = l.notices.iter().map(|n| n.to_string()).collect();
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        l.id,
                        l.agency,
                        l.name,
                        l.email,
                        if l.industries.is_empty() {
                            "alle".into()
                        } else {
                            l.industries.join(",")
                        },
                        or_dash(&notices),
                        l.user.as_deref().unwrap_or("-"),
                    )?;
                }
            }
        }
        LiaisonsCommand::Remove { id } => {
            let removed = service::liaisons::remove(&mut *ctx.conn()?, &actor, id)?;
            writeln!(out, "kontaktperson {} ({}) er fjernet", removed.id, removed.name)?;
        }
    }
    Ok(())
}
