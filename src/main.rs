//! `spotcheck` binary: parse the command line, set up logging, run. anyhow lives only here.

use std::net::TcpListener;

use anyhow::Context;
use clap::Parser;
use spotcheck::app::{self, FirstAdmin};
use spotcheck::cli::{Cli, Command};
use spotcheck::config::{LogFormat, Settings};

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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    init_logging(settings.log_format);
    let mut stdout = std::io::stdout();
    match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let pool = app::open_database(&settings)?;
            let mut conn = pool.get().context("database connection")?;
            let applied = spotcheck::db::run_migrations(&mut conn)?;
            println!(
                "database {} is up to date ({} migrations applied now)",
                settings.db_target().redacted(),
                applied.len()
            );
            Ok(())
        }
        Command::Users { command } => Ok(spotcheck::cli::run_users(&settings, command, &mut stdout)?),
        Command::Import(args) => Ok(spotcheck::cli::run_import(&settings, args, &mut stdout)?),
        Command::Enrich(args) => Ok(spotcheck::cli::run_enrich(&settings, args, &mut stdout)?),
        Command::Brreg { command } => Ok(spotcheck::cli::run_brreg(&settings, command, &mut stdout)?),
        Command::Approvals { command } => Ok(spotcheck::cli::run_approvals(&settings, command, &mut stdout)?),
        Command::Score(args) => Ok(spotcheck::cli::risk::run_score(&settings, args, &mut stdout)?),
        Command::Rules { command } => Ok(spotcheck::cli::risk::run_rules(&settings, command, &mut stdout)?),
        Command::Draw(args) => Ok(spotcheck::cli::draw::run_draw(&settings, *args, &mut stdout)?),
        Command::Verify(args) => Ok(spotcheck::cli::draw::run_verify(&settings, args, &mut stdout)?),
        Command::Audit { command } => Ok(spotcheck::cli::run_audit(&settings, command, &mut stdout)?),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    tracing::info!(settings = ?settings, "starting spotcheck {}", env!("CARGO_PKG_VERSION"));
    // A broken rule set stops the start: scoring with half a rule set would mislead.
    let rules = spotcheck::cli::risk::load_rules(&settings)?;
    let pool = app::open_database(&settings).context("opening the database")?;
    match app::ensure_first_admin(&pool, std::env::var("SPOTCHECK_ADMIN_PASSWORD").ok())? {
        FirstAdmin::Exists => {}
        FirstAdmin::CreatedWithGivenPassword => {
            tracing::info!("created user 'admin' with the password from SPOTCHECK_ADMIN_PASSWORD");
        }
        FirstAdmin::CreatedWithGeneratedPassword(password) => {
            // Printed once to the terminal, deliberately not through the logger.
            // One write, and a closed stdout is not a reason to stop the service.
            let text = format!(
                "\n  First start: created user 'admin' with one-time password:\n\n      {password}\n\n  Sign in at {} and keep it safe; it is not shown again.\n\n",
                settings.base_url
            );
            let mut out = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut out, text.as_bytes())
                .and_then(|()| std::io::Write::flush(&mut out));
        }
    }
    let listener = TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
    tracing::info!("listening on http://{}", settings.bind);
    let enricher = (settings.enrich_poll_seconds > 0)
        .then(|| spotcheck::enrich::Enricher::from_settings(pool.clone(), &settings))
        .transpose()
        .context("setting up the register client")?;
    let poll = std::time::Duration::from_secs(settings.enrich_poll_seconds.max(1));
    let system = spotcheck::db::models::Actor::system();
    if app::activate_rules(&pool, &rules, &system)? {
        tracing::info!(version = rules.version(), "a new rule set is active");
    }
    // Scores what changed while the service was down (new rules, imports by the CLI).
    let report = app::rescore(
        &pool,
        &rules,
        spotcheck::scoring::Scope::All,
        false,
        "startup",
        &system,
    )?;
    tracing::info!(
        version = rules.version(),
        assessed = report.contracts_assessed,
        recorded = report.contracts_recorded,
        ms = report.elapsed_ms,
        "rescored at start-up"
    );
    let rules = std::sync::Arc::new(spotcheck::risk::ActiveRuleSet::new(rules));
    let enricher = enricher.map(|e| e.with_rules(std::sync::Arc::clone(&rules)));
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
            .context("starting the enrichment worker")?;
    }
    actix_web::rt::System::new().block_on(async move {
        let server = spotcheck::web::server(
            state,
            listener,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        )?;
        server.await
    })?;
    tracing::info!("stopped");
    Ok(())
}
