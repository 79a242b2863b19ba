//! `spotcheck approvals load`: one dated load of an approval register file.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, Ctx};
use crate::db::models::Actor;
use crate::service;

#[derive(Subcommand, Debug)]
pub enum ApprovalsCommand {
    #[command(
        about = "Les inn en registerfil: Renholdsregisteret som XML, eller CSV «orgnr;status;dato» for alle registrene"
    )]
    Load {
        #[arg(value_name = "FIL", help = "Registerfilen (XML eller CSV)")]
        file: PathBuf,
        #[arg(long, value_name = "REGISTER", help = "renhold, bilpleie eller bemanning")]
        register: String,
    },
}

/// `spotcheck approvals load`: one dated load of an approval register file.
pub fn run(ctx: &Ctx, cmd: ApprovalsCommand, out: &mut dyn Write) -> Result<(), CliError> {
    use crate::brreg::approvals::{self, Register};
    let ApprovalsCommand::Load { register, file } = cmd;
    let register = match register.as_str() {
        "renhold" => Register::Renhold,
        "bilpleie" => Register::Bilpleie,
        "bemanning" => Register::Bemanning,
        other => {
            return Err(CliError::Load(format!(
                "ukjent register «{other}»: bruk renhold, bilpleie eller bemanning"
            )));
        }
    };
    let bytes = std::fs::read(&file).map_err(|e| {
        CliError::Load(format!(
            "{}: {}",
            file.display(),
            crate::domain::io_text::io_reason(&e)
        ))
    })?;
    let looks_xml = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
        == Some(&b'<');
    let parsed = if looks_xml {
        if register != Register::Renhold {
            return Err(CliError::Load(
                "bare Renholdsregisteret leses som XML; gi en CSV-fil for dette registeret".into(),
            ));
        }
        approvals::read_renhold_xml(std::io::Cursor::new(&bytes))
    } else {
        approvals::read_csv(register, std::io::Cursor::new(&bytes))
    }
    .map_err(|e| CliError::Load(e.to_string()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut conn = ctx.conn()?;
    let id = service::suppliers::load_approvals(&mut conn, &Actor::cli(), &name, &bytes, &parsed)?;
    writeln!(
        out,
        "{name}: innlesing {id}, {} oppføringer, {} rader avvist",
        parsed.entries.len(),
        parsed.rejected.len()
    )?;
    for r in &parsed.rejected {
        writeln!(out, "  linje {}: {}", r.line, r.message)?;
    }
    drop(conn);
    ctx.rescore_after(service::scoring::Scope::All, "approvals");
    Ok(())
}
