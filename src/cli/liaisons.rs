//! `spotcheck liaisons …`: the contacts at the A-krim agencies who receive mail.

use std::io::Write;

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::domain::liaison::LiaisonDraft;
use crate::service;

#[derive(Subcommand, Debug)]
pub enum LiaisonsCommand {
    /// Add a liaison.
    Add {
        /// The person's name.
        name: String,
        /// arbeidstilsynet, skatteetaten, politiet, nav or kemneren.
        #[arg(long)]
        agency: String,
        /// Where their mail goes.
        #[arg(long)]
        email: String,
        /// A risk industry they cover (an id of the rule set in force, e.g. renhold);
        /// repeat for several; none: every industry.
        #[arg(long = "industry", value_name = "ID")]
        industries: Vec<String>,
        /// A notice they want: draw_published, high_risk or weekly_summary; repeat for
        /// several; at least one.
        #[arg(long = "notice", value_name = "KIND")]
        notices: Vec<String>,
        /// The A-krim user (of the same agency) this liaison is, if any.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// List the active liaisons.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Remove a liaison (it is kept, inactive, for the audit trail).
    Remove { id: i64 },
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
                    "added liaison {} ({}, {}) with id {}",
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
                            "all".into()
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
            writeln!(out, "removed liaison {} ({})", removed.id, removed.name)?;
        }
    }
    Ok(())
}
