//! The command line speaks Norwegian: the help of every command and subcommand, as the
//! binary prints it for `-h`, `--help` and `help …`, has clap's headings in bokmål and no
//! English chrome or English help text, and a parse error is Norwegian too. The commands
//! are found by walking the parser's definition (`Cli::command()`), so a command added later
//! is checked without touching this file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use clap::CommandFactory;
use spotcheck::cli::Cli;

/// What clap prints in English unless told otherwise.
const ENGLISH_CHROME: &[&str] = &[
    "Usage:",
    "Commands:",
    "Options:",
    "Arguments:",
    "Print help",
    "Print version",
    "Print this message",
    "see more with",
    "see a summary",
    "[OPTIONS]",
    "<COMMAND>",
    "[COMMAND]",
    "[default:",
    "[possible values:",
    "Possible values:",
    "[env:",
    "error:",
    "tip:",
    "For more information",
];

/// Common English words that are not Norwegian words: one of them in a help text means
/// an English sentence (a doc comment shown as help, or a help attribute not translated).
const ENGLISH_WORDS: &[&str] = &[
    "the",
    "and",
    "or",
    "of",
    "with",
    "is",
    "are",
    "not",
    "from",
    "this",
    "that",
    "these",
    "only",
    "without",
    "default",
    "print",
    "when",
    "which",
    "it",
    "its",
    "their",
    "into",
    "each",
    "every",
    "new",
    "file",
    "files",
    "a",
    "an",
    "use",
    "if",
    "else",
    "must",
    "otherwise",
    "given",
    "stored",
    "repeatable",
    "exit",
    "exits",
    "until",
    "instead",
    "again",
    "whose",
    "where",
];

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_spotcheck"))
        .args(args)
        .env_remove("SPOTCHECK_CONFIG")
        .env_remove("SPOTCHECK_USER")
        .output()
        .expect("run spotcheck");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every command path below the top (`[]`, `["users"]`, `["users", "add"]`, …) with whether
/// it has subcommands and positional arguments.
fn commands(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, bool, bool)>) {
    let positional = cmd.get_positionals().next().is_some();
    out.push((path.clone(), cmd.has_subcommands(), positional));
    for sub in cmd.get_subcommands() {
        let mut p = path.clone();
        p.push(sub.get_name().to_owned());
        commands(sub, p, out);
    }
}

/// The English found in one rendered help text.
fn english_in(text: &str) -> Vec<String> {
    let mut found: Vec<String> = ENGLISH_CHROME
        .iter()
        .filter(|c| text.contains(*c))
        .map(|c| format!("clap's «{c}»"))
        .collect();
    for line in text.lines() {
        for token in line.split_whitespace() {
            // Option names, codes, file names and paths are not prose.
            if token.contains(['-', '_', '=', '/', '.', '<', '>', '`']) {
                continue;
            }
            let word = token.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
            if ENGLISH_WORDS.contains(&word.as_str()) {
                found.push(format!("the word «{word}» in «{}»", line.trim()));
            }
        }
        // clap's default value names are the field names in capitals (`<EXPIRES_DAYS>`).
        for placeholder in line.split('<').skip(1).filter_map(|s| s.split('>').next()) {
            if placeholder.contains('_') {
                found.push(format!("the value name <{placeholder}>"));
            }
        }
    }
    found
}

#[test]
fn every_help_text_is_norwegian() {
    let mut all = Vec::new();
    commands(&Cli::command(), Vec::new(), &mut all);
    assert!(all.len() > 40, "the command tree: {}", all.len());
    let mut problems = Vec::new();
    for (path, has_subcommands, positional) in &all {
        let mut forms: Vec<Vec<&str>> = Vec::new();
        for flag in ["-h", "--help"] {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push(flag);
            forms.push(args);
        }
        // clap's `help` subcommand: `spotcheck help users add`.
        let mut args = vec!["help"];
        args.extend(path.iter().map(String::as_str));
        forms.push(args);
        for args in forms {
            let (ok, out, err) = run(&args);
            let shown = format!("spotcheck {}", args.join(" "));
            if !ok {
                problems.push(format!("{shown}: failed: {err}"));
                continue;
            }
            let mut missing = vec!["Bruk:", "Valg:"];
            if *has_subcommands {
                missing.push("Kommandoer:");
            }
            if *positional {
                missing.push("Argumenter:");
            }
            for heading in missing {
                if !out.contains(heading) {
                    problems.push(format!("{shown}: no heading «{heading}»"));
                }
            }
            problems.extend(english_in(&out).into_iter().map(|p| format!("{shown}: {p}")));
        }
    }
    assert!(
        problems.is_empty(),
        "English in the command line's help ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn parse_errors_are_norwegian() {
    for (args, want) in [
        (vec!["--bogus"], "ukjent valg eller argument «--bogus»"),
        (vec!["bogus"], "ukjent kommando «bogus»"),
        (vec!["users", "add"], "dette må oppgis"),
        (
            vec!["draw", "--size", "mange"],
            "ugyldig verdi «mange» for «--size <ANTALL>»: ikke et heltall",
        ),
        (
            vec!["draw", "--active-from", "1.2.2026"],
            "ikke en dato på formen ÅÅÅÅ-MM-DD",
        ),
        (
            vec!["import", "x.xlsx", "--format", "xml"],
            "[mulige verdier: text, json]",
        ),
        (
            vec!["outbox", "list", "--status", "ferdig"],
            "ugyldig verdi «ferdig»",
        ),
        (
            vec!["score", "--al"],
            "tips: det finnes et lignende valg: «--all»",
        ),
        (
            vec!["users", "add", "a", "--role", "x", "--role", "y"],
            "«--role <ROLLE>» kan bare brukes én gang",
        ),
        (
            vec!["draw", "--size", "3", "list"],
            "kommandoen «list» kan ikke brukes sammen med «--size <ANTALL>»",
        ),
    ] {
        let (ok, out, err) = run(&args);
        assert!(!ok, "{args:?}: {out}");
        assert!(err.starts_with("feil: "), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.contains("Mer hjelp: «--help»."), "{args:?}: {err}");
        let english = english_in(&err);
        assert!(english.is_empty(), "{args:?}: {english:?}\n{err}");
    }
    // A command without its subcommand shows the command's help, in Norwegian.
    let (ok, _, err) = run(&["users"]);
    assert!(!ok);
    assert!(
        err.contains("Kommandoer:") && english_in(&err).is_empty(),
        "{err}"
    );
}

#[test]
fn the_version_is_the_package_version() {
    let (ok, out, _) = run(&["--version"]);
    assert!(ok);
    assert_eq!(out.trim(), format!("spotcheck {}", env!("CARGO_PKG_VERSION")));
    let (ok, out, _) = run(&["-h"]);
    assert!(ok && out.contains("Vis versjonen"), "{out}");
}

/// Errors from the file system and the database setup are Norwegian too (the operating
/// system's own texts are English): a register, a rule folder or a settings file that is
/// not there, and a data folder that cannot be made.
#[test]
fn file_system_errors_are_norwegian() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("en-fil");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("data");
    let data_dir = data.path().to_str().unwrap();
    for (args, data_dir, want) in [
        (
            vec!["import", "/finnes/ikke.xlsx"],
            data_dir,
            "Kunne ikke lese filen: /finnes/ikke.xlsx: finnes ikke (OS-feil 2)",
        ),
        (
            vec!["rules", "check", "/finnes/ikke"],
            data_dir,
            "kan ikke lese regelmappen: finnes ikke (OS-feil 2)",
        ),
        (
            vec!["--config", "/finnes/ikke.toml", "users", "list"],
            data_dir,
            "kunne ikke lese innstillingsfilen /finnes/ikke.toml: finnes ikke (OS-feil 2)",
        ),
        (
            vec!["users", "list"],
            under_a_file.to_str().unwrap(),
            "en del av stien er en fil, ikke en mappe (OS-feil 20)",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_spotcheck"))
            .args(&args)
            .env_remove("SPOTCHECK_CONFIG")
            .env_remove("SPOTCHECK_USER")
            .env_remove("SPOTCHECK_DATABASE_URL")
            .env_remove("SPOTCHECK_RULES_DIR")
            .env("SPOTCHECK_DATA_DIR", data_dir)
            .output()
            .expect("run spotcheck");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(
            !err.contains("No such file") && !err.contains("os error"),
            "{args:?}: {err}"
        );
    }
}
