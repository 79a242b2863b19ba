//! `spotcheck users …`: users, roles and API tokens.

use std::io::{IsTerminal, Write};

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::domain::roles::{Agency, Role};
use crate::service;

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user; the password comes from SPOTCHECK_PASSWORD or a prompt.
    Add {
        name: String,
        #[arg(long)]
        role: String,
        /// Required for role akrim: arbeidstilsynet, skatteetaten, politiet, nav or kemneren.
        #[arg(long)]
        agency: Option<String>,
        /// Where mail to the user goes.
        #[arg(long)]
        email: Option<String>,
        /// A machine user without a password (signs in with API tokens only).
        #[arg(long)]
        no_password: bool,
    },
    /// List users.
    List,
    /// Change a user's role (ends their sessions).
    SetRole {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        agency: Option<String>,
    },
    /// Disable a user (ends their sessions; tokens stop working).
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a new password (from SPOTCHECK_PASSWORD or a prompt).
    Passwd { name: String },
    /// Create an API token and print it on stdout (shown once, stored hashed).
    Token {
        name: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Days until the token stops working (default: until revoked).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List a user's API tokens (id, label, created, last used, expiry, revoked; never the secret).
    Tokens {
        name: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Revoke an API token by its id (from `users tokens NAME`).
    RevokeToken { id: i64 },
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
            writeln!(out, "created user {} with role {}", user.username, user.role)?;
        }
        UsersCommand::List => {
            for u in service::users::list(&mut conn)? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.role,
                    u.agency.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
                    if u.disabled { "disabled" } else { "active" }
                )?;
            }
        }
        UsersCommand::SetRole { name, role, agency } => {
            let user =
                service::users::set_role(&mut conn, &actor, &name, role.parse()?, parse_agency(agency)?)?;
            writeln!(out, "{} now has role {}", user.username, user.role)?;
        }
        UsersCommand::Disable { name } => {
            let user = service::users::set_disabled(&mut conn, &actor, &name, true)?;
            writeln!(out, "{} is disabled", user.username)?;
        }
        UsersCommand::Enable { name } => {
            let user = service::users::set_disabled(&mut conn, &actor, &name, false)?;
            writeln!(out, "{} is enabled", user.username)?;
        }
        UsersCommand::Passwd { name } => {
            service::users::set_password(&mut conn, &actor, &name, &read_password()?)?;
            writeln!(out, "password changed for {}", name.trim())?;
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
            writeln!(out, "token {} ({}) is revoked", t.id, t.label)?;
        }
    }
    Ok(())
}
