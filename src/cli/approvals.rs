//! `spotcheck approvals load`: one dated load of an approval register file.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, Ctx};
use crate::db::models::Actor;
use crate::service;

#[derive(Subcommand, Debug)]
pub enum ApprovalsCommand {
    /// Load a register file: Renholdsregisteret XML, or CSV `orgnr;status;date` for any register.
    Load {
        /// renhold, bilpleie or bemanning
        #[arg(long)]
        register: String,
        file: PathBuf,
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
                "unknown register «{other}»: use renhold, bilpleie or bemanning"
            )));
        }
    };
    let bytes = std::fs::read(&file).map_err(|e| CliError::Load(format!("{}: {e}", file.display())))?;
    let looks_xml = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
        == Some(&b'<');
    let parsed = if looks_xml {
        if register != Register::Renhold {
            return Err(CliError::Load(
                "only Renholdsregisteret is read as XML; give a CSV for this register".into(),
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
        "{name}: load {id}, {} entries, {} rows rejected",
        parsed.entries.len(),
        parsed.rejected.len()
    )?;
    for r in &parsed.rejected {
        writeln!(out, "  line {}: {}", r.line, r.message)?;
    }
    drop(conn);
    ctx.rescore_after(service::scoring::Scope::All, "approvals");
    Ok(())
}
