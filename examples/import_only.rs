//! `spotcheck import FILE` without the rule set and the rescoring: the "store only" row of
//! `bench/compare.sh`. The command line always scores what it imports (with the configured
//! rules folder or the built-in rule set), so this program does the rest of what
//! `cli::import::run` does, through the same calls: the settings from the environment, the
//! database opened (created and migrated when new), the operations user, the file opened
//! (read as the import needs it) and `service::imports::import_register`, then `Ctx` dropped
//! before the process ends: it waits for the import's background checkpoint and closes the
//! pool, and on SQLite the last connection's close copies the rest of the write-ahead log
//! into the database and removes it.
//!
//!     SPOTCHECK_DATA_DIR=/tmp/d cargo run --release --example import_only -- register.xlsx

use std::path::PathBuf;
use std::process::ExitCode;

use spotcheck::cli::Ctx;
use spotcheck::config::Settings;

fn main() -> ExitCode {
    spotcheck::return_freed_memory_promptly();
    let Some(file) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: import_only FILE");
        return ExitCode::from(2);
    };
    match run(&file) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

fn run(file: &std::path::Path) -> Result<String, Box<dyn std::error::Error>> {
    let settings = Settings::load(None)?;
    let ctx = Ctx::open(&settings)?;
    let uploader = ctx.acting_user(None)?;
    let opts = spotcheck::import::ImportOptions {
        max_bytes: settings.max_upload_bytes,
        ..Default::default()
    };
    let opened = spotcheck::import::OpenedRegister::open(file, opts.max_bytes)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = spotcheck::service::imports::import_register(
        &ctx.pool,
        &uploader,
        &name,
        opened.file(),
        &opts,
        false,
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    drop(ctx);
    Ok(format!(
        "{name}: batch {:?}, {} rows, {} imported, {} rejected",
        report.batch_id, report.rows_total, report.rows_imported, report.rows_rejected
    ))
}
