//! `spotcheck users …`: users, roles and API tokens.

use std::io::{IsTerminal, Write};

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::domain::roles::{Agency, Role};
use crate::service;

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    #[command(about = "Legg til en bruker; passordet kommer fra SPOTCHECK_PASSWORD eller blir spurt om")]
    Add {
        #[arg(value_name = "BRUKERNAVN", help = "Brukernavnet")]
        name: String,
        #[arg(long, value_name = "ROLLE", help = "innkjoper, kemner, akrim eller admin")]
        role: String,
        #[arg(
            long,
            value_name = "ETAT",
            help = "Påkrevd for rollen akrim: arbeidstilsynet, skatteetaten, politiet, nav eller kemneren"
        )]
        agency: Option<String>,
        #[arg(long, value_name = "E-POST", help = "Hvor e-post til brukeren skal sendes")]
        email: Option<String>,
        #[arg(long, help = "En maskinbruker uten passord (logger inn bare med API-nøkler)")]
        no_password: bool,
    },
    #[command(about = "List opp brukerne (brukernavn, rolle, etat, status)")]
    List,
    #[command(about = "Gi en bruker en annen rolle (avslutter innloggingene deres)")]
    SetRole {
        #[arg(value_name = "BRUKERNAVN", help = "Brukernavnet")]
        name: String,
        #[arg(long, value_name = "ROLLE", help = "innkjoper, kemner, akrim eller admin")]
        role: String,
        #[arg(
            long,
            value_name = "ETAT",
            help = "Påkrevd for rollen akrim: arbeidstilsynet, skatteetaten, politiet, nav eller kemneren"
        )]
        agency: Option<String>,
    },
    #[command(about = "Deaktiver en bruker (avslutter innloggingene; API-nøklene slutter å virke)")]
    Disable {
        #[arg(value_name = "BRUKERNAVN", help = "Brukernavnet")]
        name: String,
    },
    #[command(about = "Aktiver en deaktivert bruker igjen")]
    Enable {
        #[arg(value_name = "BRUKERNAVN", help = "Brukernavnet")]
        name: String,
    },
    #[command(about = "Sett nytt passord (fra SPOTCHECK_PASSWORD eller spurt om)")]
    Passwd {
        #[arg(value_name = "BRUKERNAVN", help = "Brukernavnet")]
        name: String,
    },
    #[command(about = "Lag en API-nøkkel og skriv den på stdout (vises én gang, lagres som hash)")]
    Token {
        #[arg(value_name = "BRUKERNAVN", help = "Brukernavnet")]
        name: String,
        #[arg(
            long,
            default_value = "cli",
            value_name = "NAVN",
            help = "Et navn på nøkkelen, så den kan kjennes igjen i listen"
        )]
        label: String,
        #[arg(
            long,
            value_name = "DAGER",
            help = "Antall dager til nøkkelen slutter å virke (standard: til den trekkes tilbake)"
        )]
        expires_days: Option<u32>,
    },
    #[command(
        about = "List opp API-nøklene til en bruker (id, navn, opprettet, sist brukt, utløper, tilbakekalt; aldri selve nøkkelen)"
    )]
    Tokens {
        #[arg(value_name = "BRUKERNAVN", help = "Brukernavnet")]
        name: String,
        #[arg(
            long,
            value_enum,
            default_value_t,
            help = super::FORMAT_HELP
        )]
        format: OutputFormat,
    },
    #[command(about = "Trekk tilbake en API-nøkkel etter id (fra «users tokens BRUKERNAVN»)")]
    RevokeToken {
        #[arg(value_name = "ID", help = "Id-en til nøkkelen")]
        id: i64,
    },
}

fn parse_agency(a: Option<String>) -> Result<Option<Agency>, CliError> {
    Ok(a.map(|s| s.parse()).transpose()?)
}

/// Reads a password from `SPOTCHECK_PASSWORD`, or asks twice on the terminal.
fn read_password() -> Result<String, CliError> {
    if let Ok(p) = std::env::var("SPOTCHECK_PASSWORD") {
        crate::auth::check_password_policy(&p)?;
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::NoPassword);
    }
    let p = rpassword::prompt_password("Passord: ").map_err(CliError::Prompt)?;
    crate::auth::check_password_policy(&p)?;
    let again = rpassword::prompt_password("Gjenta passord: ").map_err(CliError::Prompt)?;
    if p != again {
        return Err(CliError::PasswordMismatch);
    }
    Ok(p)
}

/// Runs a user-management command, writing its result to `out`.
pub fn run(ctx: &Ctx, cmd: UsersCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let mut conn = ctx.conn()?;
    let actor = Actor::cli();
    match cmd {
        UsersCommand::Add {
            name,
            role,
            agency,
            email,
            no_password,
        } => {
            let role: Role = role.parse()?;
            let agency = parse_agency(agency)?;
            crate::domain::roles::validate_role_agency(role, agency)?;
            let password = if no_password { None } else { Some(read_password()?) };
            let user = service::users::create(
                &mut conn,
                &actor,
                &name,
                role,
                agency,
                email.as_deref(),
                password.as_deref(),
            )?;
            writeln!(
                out,
                "brukeren {} er opprettet med rollen {}",
                user.username, user.role
            )?;
        }
        UsersCommand::List => {
            for u in service::users::list(&mut conn)? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.role,
                    u.agency.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
                    if u.disabled { "deaktivert" } else { "aktiv" }
                )?;
            }
        }
        UsersCommand::SetRole { name, role, agency } => {
            let user =
                service::users::set_role(&mut conn, &actor, &name, role.parse()?, parse_agency(agency)?)?;
            writeln!(out, "{} har nå rollen {}", user.username, user.role)?;
        }
        UsersCommand::Disable { name } => {
            let user = service::users::set_disabled(&mut conn, &actor, &name, true)?;
            writeln!(out, "{} er deaktivert", user.username)?;
        }
        UsersCommand::Enable { name } => {
            let user = service::users::set_disabled(&mut conn, &actor, &name, false)?;
            writeln!(out, "{} er aktivert", user.username)?;
        }
        UsersCommand::Passwd { name } => {
            service::users::set_password(&mut conn, &actor, &name, &read_password()?)?;
            writeln!(out, "passordet til {} er endret", name.trim())?;
        }
        UsersCommand::Token {
            name,
            label,
            expires_days,
        } => {
            // stdout carries the token and nothing else, so scripts can capture it.
            let issued = service::users::issue_token(&mut conn, &actor, &name, &label, expires_days)?;
            writeln!(out, "{}", issued.token)?;
        }
        UsersCommand::Tokens { name, format } => {
            let list = service::users::list_tokens(&mut conn, &name)?;
            if format.is_json() {
                writeln!(out, "{}", serde_json::to_string(&list).unwrap_or_default())?;
            } else {
                let when = |t: Option<chrono::NaiveDateTime>| {
                    t.map(|t| t.format("%d.%m.%Y %H:%M").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                for t in list {
                    writeln!(
                        out,
                        "{}\t{}\topprettet {}\tsist brukt {}\tutløper {}\t{}",
                        t.id,
                        t.label,
                        when(Some(t.created_at)),
                        when(t.last_used_at),
                        when(t.expires_at),
                        if t.revoked { "tilbakekalt" } else { "aktiv" }
                    )?;
                }
            }
        }
        UsersCommand::RevokeToken { id } => {
            let t = service::users::revoke_token(&mut conn, &actor, id)?;
            writeln!(out, "API-nøkkel {} ({}) er trukket tilbake", t.id, t.label)?;
        }
    }
    Ok(())
}
