//! `spotcheck users …`: users, roles and API tokens.

use std::io::{IsTerminal, Write};

use clap::Subcommand;

use super::{CliError, Ctx};
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
        UsersCommand::Token { name, label } => {
            // stdout carries the token and nothing else, so scripts can capture it.
            let token = service::users::create_token(&mut conn, &actor, &name, &label)?;
            writeln!(out, "{token}")?;
        }
    }
    Ok(())
}
