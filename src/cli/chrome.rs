//! clap's own texts in bokmål. clap writes its chrome in English and cannot be told another
//! language: the headings ("Usage:", "Commands:", "Arguments:", "Options:"), the built-in
//! `-h`/`-V` flags and `help` subcommand, `[OPTIONS]` in the usage line, the notes it appends
//! to an argument's help (`[default: …]`, `[possible values: …]`, `[env: …]`) and its parse
//! errors. [`localize`] rewrites all of that on the built command tree, and [`Norwegian`]
//! formats the parse errors, so every user-visible text of the command line is Norwegian
//! (the project's rule: pages and CLI in bokmål).
//!
//! The tree is changed after `Command::build`, when clap has added its own flags and the
//! `help` subcommand, so those are reached too. Only order-preserving changes are made then
//! (`mut_args`, setters): clap's argument lookup keeps indexes into the argument list.

use std::fmt::Write as _;

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorFormatter, ErrorKind};
use clap::{Arg, Command};

/// clap's default layout with the usage heading in Norwegian.
const TEMPLATE: &str = "{before-help}{about-with-newline}\nBruk: {usage}\n\n{all-args}{after-help}";
/// For a command without arguments or subcommands (clap's `help help`).
const TEMPLATE_NO_ARGS: &str = "{before-help}{about-with-newline}\nBruk: {usage}{after-help}";

pub const HEADING_COMMANDS: &str = "Kommandoer";
pub const HEADING_ARGUMENTS: &str = "Argumenter";
pub const HEADING_OPTIONS: &str = "Valg";

const HELP_SUBCOMMAND: &str = "Vis denne hjelpen, eller hjelpen til de oppgitte kommandoene";

/// The whole command tree, built and in Norwegian: what `spotcheck` parses with.
pub fn localized(mut cmd: Command) -> Command {
    cmd.build();
    localize(&mut cmd);
    cmd
}

/// Rewrites clap's English chrome of `cmd` and every subcommand (see the module docs).
/// `cmd` must be built (`Command::build`).
pub fn localize(cmd: &mut Command) {
    let usage = norwegian_usage(&cmd.render_usage().to_string());
    let has_args = cmd.get_arguments().next().is_some() || cmd.has_subcommands();
    let is_help = cmd.get_name() == "help";
    let mut c = std::mem::take(cmd)
        .override_usage(usage)
        .subcommand_help_heading(HEADING_COMMANDS)
        .help_template(if has_args { TEMPLATE } else { TEMPLATE_NO_ARGS })
        .mut_args(localize_arg);
    if is_help {
        c = c.about(HELP_SUBCOMMAND);
    }
    *cmd = c;
    for sub in cmd.get_subcommands_mut() {
        localize(sub);
    }
}

/// clap's usage line ("Usage: spotcheck users add [OPTIONS] --role <ROLE> <NAME>") without
/// its heading, with its own placeholders in Norwegian.
fn norwegian_usage(rendered: &str) -> String {
    let body = rendered.strip_prefix("Usage:").unwrap_or(rendered).trim_start();
    body.replace("[OPTIONS]", "[VALG]")
        .replace("<COMMAND>", "<KOMMANDO>")
        .replace("[COMMAND]", "[KOMMANDO]")
        // Further lines are aligned under the first, after "Usage: " (7 characters);
        // after "Bruk: " that is 6.
        .replace("\n       ", "\n      ")
}

fn append(help: Option<&StyledStr>, note: &str) -> String {
    match help.map(ToString::to_string) {
        Some(h) if !h.is_empty() => format!("{h} {note}"),
        _ => note.to_owned(),
    }
}

fn localize_arg(arg: Arg) -> Arg {
    let mut arg = match arg.get_id().as_str() {
        // clap's own flags, added at build time.
        "help" if arg.get_long_help().is_some() => arg
            .help("Vis hjelp (mer med «--help»)")
            .long_help("Vis hjelp (et sammendrag med «-h»)"),
        "help" => arg.help("Vis hjelp"),
        "version" => arg.help("Vis versjonen"),
        // The argument of clap's `help` subcommand (when the help tree is not expanded).
        "subcommand"
            if arg
                .get_value_names()
                .is_some_and(|v| v.iter().any(|n| *n == "COMMAND")) =>
        {
            arg.value_name("KOMMANDO")
                .help("Vis hjelpen til denne kommandoen (eller disse kommandoene)")
        }
        _ => arg,
    };
    if arg.get_help_heading().is_none() {
        let heading = if arg.is_positional() {
            HEADING_ARGUMENTS
        } else {
            HEADING_OPTIONS
        };
        arg = arg.help_heading(heading);
    }
    // The notes clap would append in English, written here in Norwegian instead.
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let mut notes = Vec::new();
    if takes_value && !arg.is_hide_possible_values_set() {
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_owned())
            .collect();
        if !values.is_empty() {
            notes.push(format!("[mulige verdier: {}]", values.join(", ")));
        }
    }
    if takes_value && !arg.is_hide_default_value_set() && !arg.get_default_values().is_empty() {
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        notes.push(format!("[standard: {}]", defaults.join(", ")));
    }
    if let Some(name) = arg.get_env()
        && !arg.is_hide_env_set()
    {
        notes.push(format!("[miljøvariabel: {}]", name.to_string_lossy()));
    }
    if !notes.is_empty() {
        let note = notes.join(" ");
        let help = append(arg.get_help(), &note);
        let long = arg.get_long_help().map(|l| append(Some(l), &note));
        arg = arg
            .help(help)
            .hide_possible_values(true)
            .hide_default_value(true)
            .hide_env(true);
        if let Some(long) = long {
            arg = arg.long_help(long);
        }
    }
    arg
}

/// clap's parse errors in Norwegian: `error.format(&mut cmd).apply::<Norwegian>()`.
/// The cause of a rejected value (a number or date that does not parse) comes from the
/// standard library or chrono and stays as they word it.
pub struct Norwegian;

fn string(error: &clap::error::Error<Norwegian>, kind: ContextKind) -> Option<&str> {
    match error.get(kind) {
        Some(ContextValue::String(s)) => Some(s),
        _ => None,
    }
}

fn strings(error: &clap::error::Error<Norwegian>, kind: ContextKind) -> Vec<String> {
    match error.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    }
}

fn number(error: &clap::error::Error<Norwegian>, kind: ContextKind) -> Option<isize> {
    match error.get(kind) {
        Some(ContextValue::Number(n)) => Some(*n),
        _ => None,
    }
}

/// Why a value did not parse. The parsers the command line uses (integers, decimals, dates)
/// are worded here; another parser's own message is kept.
fn value_cause(cause: &(dyn std::error::Error + 'static)) -> String {
    use std::num::IntErrorKind;
    if let Some(e) = cause.downcast_ref::<std::num::ParseIntError>() {
        match e.kind() {
            IntErrorKind::Empty => "verdien er tom".to_owned(),
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                "tallet er utenfor det som er tillatt".to_owned()
            }
            _ => "ikke et heltall".to_owned(),
        }
    } else if cause.is::<std::num::ParseFloatError>() {
        "ikke et desimaltall (bruk punktum, f.eks. 0.05)".to_owned()
    } else if cause.is::<chrono::ParseError>() {
        "ikke en dato på formen ÅÅÅÅ-MM-DD".to_owned()
    } else {
        cause.to_string()
    }
}

fn message(error: &clap::error::Error<Norwegian>) -> String {
    let arg = string(error, ContextKind::InvalidArg).unwrap_or("");
    let value = string(error, ContextKind::InvalidValue).unwrap_or("");
    let valid = strings(error, ContextKind::ValidValue);
    let mut m = match error.kind() {
        ErrorKind::InvalidValue if value.is_empty() => format!("«{arg}» må ha en verdi"),
        ErrorKind::InvalidValue => format!("ugyldig verdi «{value}» for «{arg}»"),
        ErrorKind::ValueValidation => {
            let cause = std::error::Error::source(error)
                .map(|s| format!(": {}", value_cause(s)))
                .unwrap_or_default();
            format!("ugyldig verdi «{value}» for «{arg}»{cause}")
        }
        ErrorKind::UnknownArgument => format!("ukjent valg eller argument «{arg}»"),
        ErrorKind::InvalidSubcommand => format!(
            "ukjent kommando «{}»",
            string(error, ContextKind::InvalidSubcommand).unwrap_or("")
        ),
        ErrorKind::NoEquals => format!("«{arg}» må få verdien med likhetstegn («{arg}=…»)"),
        ErrorKind::TooManyValues => {
            format!("uventet verdi «{value}» for «{arg}»; flere verdier var ikke ventet")
        }
        ErrorKind::TooFewValues => format!(
            "«{arg}» krever {} verdier, men fikk {}",
            number(error, ContextKind::MinValues).unwrap_or(0),
            number(error, ContextKind::ActualNumValues).unwrap_or(0)
        ),
        ErrorKind::WrongNumberOfValues => format!(
            "«{arg}» krever {} verdier, men fikk {}",
            number(error, ContextKind::ExpectedNumValues).unwrap_or(0),
            number(error, ContextKind::ActualNumValues).unwrap_or(0)
        ),
        ErrorKind::ArgumentConflict => {
            let prior = strings(error, ContextKind::PriorArg);
            let what = match string(error, ContextKind::InvalidSubcommand) {
                Some(sub) if arg.is_empty() => format!("kommandoen «{sub}»"),
                _ => format!("«{arg}»"),
            };
            if !arg.is_empty() && prior.iter().all(|p| p == arg) && !prior.is_empty() {
                format!("{what} kan bare brukes én gang")
            } else if prior.is_empty() {
                format!("{what} kan ikke brukes sammen med de andre valgene")
            } else {
                format!(
                    "{what} kan ikke brukes sammen med {}",
                    prior
                        .iter()
                        .map(|p| format!("«{p}»"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = strings(error, ContextKind::InvalidArg);
            format!("dette må oppgis:\n  {}", missing.join("\n  "))
        }
        ErrorKind::MissingSubcommand => format!(
            "«{}» trenger en kommando",
            string(error, ContextKind::InvalidSubcommand).unwrap_or("spotcheck")
        ),
        ErrorKind::InvalidUtf8 => "et argument er ikke gyldig UTF-8".to_owned(),
        ErrorKind::Io | ErrorKind::Format => std::error::Error::source(error)
            .map(|s| format!("kunne ikke skrive: {s}"))
            .unwrap_or_else(|| "kunne ikke skrive".to_owned()),
        _ => "ugyldig kommandolinje".to_owned(),
    };
    if matches!(error.kind(), ErrorKind::InvalidValue) && !valid.is_empty() {
        let _ = write!(m, "\n  [mulige verdier: {}]", valid.join(", "));
    }
    if matches!(error.kind(), ErrorKind::MissingSubcommand) {
        let subs = strings(error, ContextKind::ValidSubcommand);
        if !subs.is_empty() {
            let _ = write!(m, "\n  [kommandoer: {}]", subs.join(", "));
        }
    }
    for (kind, what) in [
        (ContextKind::SuggestedSubcommand, "en lignende kommando"),
        (ContextKind::SuggestedArg, "et lignende valg"),
        (ContextKind::SuggestedValue, "en lignende verdi"),
    ] {
        let similar = strings(error, kind);
        if !similar.is_empty() {
            let quoted: Vec<String> = similar.iter().map(|s| format!("«{s}»")).collect();
            let _ = write!(m, "\n\n  tips: det finnes {what}: {}", quoted.join(", "));
        }
    }
    m
}

impl ErrorFormatter for Norwegian {
    fn format_error(error: &clap::error::Error<Self>) -> StyledStr {
        let mut out = format!("feil: {}\n", message(error));
        if let Some(ContextValue::StyledStr(usage)) = error.get(ContextKind::Usage) {
            let _ = write!(out, "\nBruk: {}\n", norwegian_usage(&usage.to_string()));
        }
        out.push_str("\nMer hjelp: «--help».\n");
        StyledStr::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(cmd: &mut Command, seen: &mut Vec<String>) {
        for long in [false, true] {
            let help = if long {
                cmd.render_long_help()
            } else {
                cmd.render_help()
            }
            .to_string();
            let name = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_owned();
            assert!(help.contains("\nBruk: "), "{name}: {help}");
            for english in [
                "Usage:",
                "Options:",
                "Commands:",
                "Arguments:",
                "Print ",
                "[OPTIONS]",
            ] {
                assert!(!help.contains(english), "{name}: «{english}» in\n{help}");
            }
            seen.push(name);
        }
        for sub in cmd.get_subcommands_mut() {
            walk(sub, seen);
        }
    }

    #[test]
    fn every_command_of_the_localized_tree_renders_norwegian_help() {
        let mut seen = Vec::new();
        walk(&mut crate::cli::command(), &mut seen);
        // Every command twice, with clap's `help` subcommands (and the copies of the tree
        // they carry) among them.
        assert!(seen.len() > 100, "{}", seen.len());
        assert!(seen.iter().any(|n| n == "spotcheck users add"), "{seen:?}");
    }

    #[test]
    fn usage_lines_lose_their_english() {
        assert_eq!(
            norwegian_usage("Usage: spotcheck draw [OPTIONS]\n       spotcheck draw <COMMAND>"),
            "spotcheck draw [VALG]\n      spotcheck draw <KOMMANDO>"
        );
        assert_eq!(
            norwegian_usage("spotcheck help [COMMAND]..."),
            "spotcheck help [KOMMANDO]..."
        );
    }
}
