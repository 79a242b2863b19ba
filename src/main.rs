//! `spotcheck` binary: parse the command line, set up logging, run. anyhow lives only here.
//! What it prints for people (results, errors) is Norwegian; the log is English.

use std::net::TcpListener;

use anyhow::Context;
use spotcheck::app::{self, FirstAdmin};
use spotcheck::cli::{self, CliError, Command, Ctx, ServeArgs};
use spotcheck::config::{LogFormat, Settings};
use spotcheck::service::rules::ActiveRules;

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Span close events carry each request's id, route, status and latency (tracing-actix-web).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Runs the command; a failure is printed as `feil: …` (with its causes) and exits with 1.
fn main() -> std::process::ExitCode {
    spotcheck::return_freed_memory_promptly();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("feil: {}", message(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error with its causes, `: `-separated. The command line's own errors already word
/// their cause (in Norwegian), so the chain stops there rather than repeat it in English.
fn message(e: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in e.chain() {
        parts.push(cause.to_string());
        if cause.is::<CliError>() || cause.is::<cli::draw::DrawCliError>() {
            break;
        }
    }
    parts.join(": ")
}

fn run() -> anyhow::Result<()> {
    let cli = cli::parse();
    let settings = Settings::load(cli.config.as_deref()).map_err(CliError::from)?;
    init_logging(settings.log_format);
    let mut stdout = std::io::stdout();
    match cli.command {
        Command::Serve(args) => serve(settings, &args),
        Command::Migrate => {
            let pool = app::open_database(&settings).map_err(CliError::from)?;
            let mut conn = pool
                .get()
                .map_err(|e| CliError::from(spotcheck::db::DbError::from(e)))?;
            let applied = spotcheck::db::run_migrations(&mut conn).map_err(CliError::from)?;
            println!(
                "databasen {} er oppdatert ({} migreringer kjørt nå)",
                settings.db_target().redacted(),
                applied.len()
            );
            Ok(())
        }
        Command::Users { command } => Ok(cli::users::run(&Ctx::open(&settings)?, command, &mut stdout)?),
        Command::Import(args) => Ok(cli::import::run(&Ctx::open(&settings)?, args, &mut stdout)?),
        Command::Contracts { command } => {
            Ok(cli::contracts::run(&Ctx::open(&settings)?, command, &mut stdout)?)
        }
        Command::Enrich(args) => Ok(cli::enrich::run(&Ctx::open(&settings)?, args, &mut stdout)?),
        Command::Brreg { command } => Ok(cli::brreg::run(&Ctx::open(&settings)?, command, &mut stdout)?),
        Command::Approvals { command } => {
            Ok(cli::approvals::run(&Ctx::open(&settings)?, command, &mut stdout)?)
        }
        Command::Score(args) => Ok(cli::score::run(&Ctx::open(&settings)?, args, &mut stdout)?),
        Command::Rules { command } => Ok(cli::rules::run(&settings, command, &mut stdout)?),
        Command::Draw(args) => Ok(cli::draw::run_draw(&settings, *args, &mut stdout)?),
        Command::Verify(args) => Ok(cli::draw::run_verify(&settings, args, &mut stdout)?),
        Command::Liaisons { command } => {
            Ok(cli::liaisons::run(&Ctx::open(&settings)?, command, &mut stdout)?)
        }
        Command::Outbox { command } => Ok(cli::outbox::run(&Ctx::open(&settings)?, command, &mut stdout)?),
        Command::Cases { command } => Ok(cli::cases::run(&Ctx::open(&settings)?, command, &mut stdout)?),
        Command::Audit { command } => Ok(cli::audit::run(&Ctx::open(&settings)?, command, &mut stdout)?),
    }
}

fn serve(settings: Settings, args: &ServeArgs) -> anyhow::Result<()> {
    let settings = if args.demo {
        spotcheck::service::demo::demo_settings(settings)
    } else {
        settings
    };
    tracing::info!(settings = ?settings, demo = args.demo, "starting spotcheck {}", env!("CARGO_PKG_VERSION"));
    let pool = app::open_database(&settings)
        .map_err(CliError::from)
        .context("kunne ikke åpne databasen")?;
    if args.demo {
        let state = spotcheck::service::demo::state(&mut *connection(&pool)?).map_err(CliError::from)?;
        if state == spotcheck::service::demo::DemoState::Real {
            eprintln!(
                "spotcheck serve --demo: databasen inneholder allerede ekte data (kontrakter, brukere eller trekninger) \
                 som ikke er demoen. Demoen blandes aldri inn i et ekte register: start demoen med en tom datamappe, \
                 for eksempel SPOTCHECK_DATA_DIR=./demo-data spotcheck serve --demo."
            );
            std::process::exit(2);
        }
    }
    let first_admin = app::ensure_first_admin(&pool, std::env::var("SPOTCHECK_ADMIN_PASSWORD").ok())
        .map_err(|e| match e {
            app::StartupError::Db(d) => anyhow::Error::new(CliError::from(d)),
            app::StartupError::AdminPassword(p) => {
                anyhow::anyhow!("SPOTCHECK_ADMIN_PASSWORD kan ikke brukes: {p}")
            }
            other => anyhow::Error::new(other),
        })
        .context("kunne ikke opprette den første administratoren")?;
    match first_admin {
        FirstAdmin::Exists => {}
        // The demo sets the admin's password with the other demo users' and prints them all.
        FirstAdmin::CreatedWithGeneratedPassword(_) | FirstAdmin::CreatedWithGivenPassword if args.demo => {}
        FirstAdmin::CreatedWithGivenPassword => {
            tracing::info!("created user 'admin' with the password from SPOTCHECK_ADMIN_PASSWORD");
        }
        FirstAdmin::CreatedWithGeneratedPassword(password) => {
            // Printed once to the terminal, deliberately not through the logger.
            // One write, and a closed stdout is not a reason to stop the service.
            let text = format!(
                "\n  Første oppstart: brukeren «admin» er opprettet med dette engangspassordet:\n\n      {password}\n\n  Logg inn på {} og ta vare på passordet; det vises ikke igjen.\n\n",
                settings.base_url
            );
            let mut out = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut out, text.as_bytes())
                .and_then(|()| std::io::Write::flush(&mut out));
        }
    }
    let system = spotcheck::db::models::Actor::system();
    // A broken rule set stops the start: scoring with half a rule set would mislead.
    let rules = app::load_rules(&pool, &settings, &system)
        .map_err(CliError::from)
        .with_context(|| match &settings.rules_dir {
            Some(dir) => format!("regelsettet i {} kan ikke lastes", dir.display()),
            None => "regelsettet i bruk kan ikke lastes".to_owned(),
        })?;
    // Scores what changed while the service was down (new rules, imports by the CLI).
    let report = spotcheck::service::scoring::rescore_today(
        &mut *connection(&pool)?,
        &rules,
        spotcheck::service::scoring::Scope::All,
        false,
        "startup",
        &system,
    )
    .map_err(CliError::from)?;
    tracing::info!(
        version = rules.version(),
        assessed = report.contracts_assessed,
        recorded = report.contracts_recorded,
        ms = report.elapsed_ms,
        "rule set in force; rescored at start-up"
    );
    let demo = if args.demo {
        let report = spotcheck::service::demo::run(&pool, &settings, &rules).map_err(|e| match e {
            spotcheck::service::demo::DemoError::RealData => anyhow::anyhow!(
                "databasen inneholder ekte data som ikke er demoen; demoen blandes aldri inn i et ekte register"
            ),
            other => anyhow::Error::new(other).context("kunne ikke legge inn demoen"),
        })?;
        Some(report)
    } else {
        None
    };
    let listener = TcpListener::bind(&settings.bind)
        .with_context(|| format!("kunne ikke lytte på {}", settings.bind))?;
    tracing::info!("listening on http://{}", settings.bind);
    if let Some(report) = demo {
        print_demo(&settings, &listener, &report);
    }
    let enricher = (settings.enrich_poll_seconds > 0)
        .then(|| spotcheck::service::enrichment::Enricher::from_settings(pool.clone(), &settings))
        .transpose()
        .context("kunne ikke sette opp klienten til Enhetsregisteret")?;
    let poll = std::time::Duration::from_secs(settings.enrich_poll_seconds.max(1));
    let rules = std::sync::Arc::new(ActiveRules::new(rules));
    if settings.rules_poll_seconds > 0 {
        spawn_rules_poller(
            pool.clone(),
            std::sync::Arc::clone(&rules),
            settings.rules_poll_seconds,
        )?;
    }
    let enricher = enricher.map(|e| e.with_rules(std::sync::Arc::clone(&rules)));
    let mailer = spotcheck::service::outbox::Mailer::from_settings(&settings)
        .context("kunne ikke sette opp e-post")?;
    tracing::info!(transport = %mailer.transport.describe(), "mail");
    if settings.mail_poll_seconds > 0 {
        let (pool, rules) = (pool.clone(), std::sync::Arc::clone(&rules));
        let poll = std::time::Duration::from_secs(settings.mail_poll_seconds);
        std::thread::Builder::new()
            .name("mail".into())
            .spawn(move || spotcheck::service::outbox::run_worker(pool, rules, mailer, poll))
            .context("kunne ikke starte e-posttråden")?;
    }
    let exit_pool = pool.clone();
    let state = actix_web::web::Data::new(spotcheck::web::AppState::new(pool, settings, rules));
    // Enrichment runs on a thread and runtime of its own, so a slow or unreachable register
    // can never hold up the web server: imports only queue look-ups.
    if let Some(e) = enricher {
        std::thread::Builder::new()
            .name("enrichment".into())
            .spawn(
                move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt.block_on(e.run_forever(poll)),
                    Err(err) => tracing::error!(error = %err, "could not start the enrichment worker"),
                },
            )
            .context("kunne ikke starte berikelsestråden")?;
    }
    actix_web::rt::System::new().block_on(async move {
        let server = spotcheck::web::server(
            state,
            listener,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        )?;
        server.await
    })?;
    // As a command does (`cli::Ctx`): a stop in the middle of an upload's checkpoint would
    // leave the write-ahead log for the next start to copy.
    spotcheck::service::imports::wait_for_background_checkpoints();
    if let Err(e) = spotcheck::db::checkpoint_before_exit(&exit_pool) {
        tracing::warn!(error = %e, "could not copy the write-ahead log into the database at stop");
    }
    tracing::info!("stopped");
    Ok(())
}

/// A connection from the pool, its failure worded for the terminal.
fn connection(pool: &spotcheck::db::Pool) -> Result<spotcheck::db::PooledConn, CliError> {
    pool.get()
        .map_err(|e| CliError::from(spotcheck::db::DbError::from(e)))
}

/// Prints, in Norwegian and once, where to open the demo and each demo user's password
/// (on stdout, deliberately not through the logger).
fn print_demo(settings: &Settings, listener: &TcpListener, report: &spotcheck::service::demo::DemoReport) {
    let default_base = Settings::default().base_url;
    let base = match listener.local_addr() {
        Ok(addr) if settings.base_url == default_base => format!("http://{addr}"),
        _ => settings.base_url.trim_end_matches('/').to_owned(),
    };
    let mut text = String::new();
    text.push_str(if report.seeded {
        "\n  Demo: demoregisteret er lagt inn (fiktive kontrakter, leverandører, trekning og saker).\n"
    } else {
        "\n  Demo: demoregisteret finnes fra før; demobrukerne har fått nye passord.\n"
    });
    text.push_str(&format!("  Åpne {base}/login og logg inn som en av disse:\n\n"));
    for u in &report.users {
        let role = match u.agency {
            Some(a) => format!("{} ({})", u.role.label(), a.label()),
            None => u.role.label().to_owned(),
        };
        text.push_str(&format!(
            "    bruker: {:<17} rolle: {:<34} passord: {}\n",
            u.username, role, u.password
        ));
    }
    text.push_str(&format!(
        "\n  Passordene vises bare nå. E-post til kontaktpersonene ligger som .eml-filer i {}.\n  Demoen kontakter ikke nettet.\n\n",
        settings.outbox_dir().display()
    ));
    let mut out = std::io::stdout().lock();
    let _ =
        std::io::Write::write_all(&mut out, text.as_bytes()).and_then(|()| std::io::Write::flush(&mut out));
}

/// Picks up a rule set that another instance (or `spotcheck rules import`) activated, so
/// every instance on one database scores and draws with the same rules.
fn spawn_rules_poller(
    pool: spotcheck::db::Pool,
    rules: std::sync::Arc<ActiveRules>,
    seconds: u64,
) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("rules-poller".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(seconds));
                let refreshed = pool
                    .get()
                    .map_err(spotcheck::db::DbError::from)
                    .map_err(spotcheck::service::rules::RulesError::from)
                    .and_then(|mut c| spotcheck::service::rules::refresh(&mut c, &rules));
                match refreshed {
                    Ok(Some(version)) => {
                        tracing::info!(version, "switched to the rule set activated elsewhere")
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not check for a newly activated rule set"),
                }
            }
        })
        .context("kunne ikke starte tråden som ser etter nye regelsett")?;
    Ok(())
}
