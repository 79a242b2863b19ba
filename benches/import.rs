//! Import benchmark: our end-to-end parse against calamine alone on the same register.
//!
//!     cargo bench --bench import              # 100 000 rows, best of 5
//!     cargo bench --bench import -- --rows 20000 --runs 3
//!
//! A deterministic generator (ChaCha8, fixed seed; `benches/common/register.rs`, shared with
//! `examples/make_register.rs` and `bench/compare.sh`) writes a 13-column Norwegian register
//! xlsx once (cached under target/). Each phase runs in a child process (this binary
//! re-executed with `--phase NAME`), so its peak memory (VmHWM at the end of the child, all
//! its threads together) is its own. A phase is one `fn(&Path) -> u64` (rows); add more to
//! `PHASES`. `sqlite` and `postgres` run the whole import (parse, validate, store in one
//! transaction, report) into a fresh database, through `service::imports::import_register`, which parses on
//! the calling thread and stores on a second one; their setup (migrations, the uploader) is
//! not timed, the memory is all theirs (setup included).
//!
//! Timings are wall-clock and the machine may be shared: the load average is printed before
//! and after, and the ratios compare phases of the same run. `cpu ms` (user + system time of
//! all the phase's threads over the timed part, least of the runs) is what the work costs
//! regardless of load; with a second core free, an import's wall time approaches the larger
//! of its two threads' shares of it. `after ms` (median) is work an import leaves running in
//! the background once its report is back: on SQLite, copying the write-ahead log into the
//! database file (see `service::imports::checkpoint_in_background`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::register::{COLUMNS, generate};
use common::vm_kb;

type Phase = fn(&Path) -> u64;

/// calamine alone: open, `worksheet_range` of the first sheet into a `Range`, touch all cells.
fn phase_calamine(path: &Path) -> u64 {
    use calamine::{Data, Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path).expect("open");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("range");
    let mut non_empty = 0u64;
    for row in range.rows() {
        for c in row {
            if !matches!(c, Data::Empty) {
                non_empty += 1;
            }
        }
    }
    std::hint::black_box(non_empty);
    range.height() as u64 - 1
}

/// Our import, end to end (bytes → accepted rows + report).
fn phase_parse(path: &Path) -> u64 {
    use spotcheck::import::{ImportOptions, read_register_path};
    let r = read_register_path(path, &ImportOptions::default(), &mut |_| {}).expect("parse");
    assert_eq!(r.rows.len() as u64 + r.rows_rejected, r.rows_total);
    std::hint::black_box(&r);
    r.rows_total
}

/// calamine's streaming cell reader alone (what `parse` uses for xlsx), for reference.
fn phase_stream(path: &Path) -> u64 {
    use calamine::{Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(path).expect("open");
    let name = wb.sheet_names()[0].clone();
    let mut reader = wb.worksheet_cells_reader(&name).expect("reader");
    let mut n = 0u64;
    let mut last_row = 0;
    while let Some(c) = reader.next_cell().expect("cell") {
        n += 1;
        last_row = c.get_position().0;
    }
    std::hint::black_box(n);
    u64::from(last_row)
}

/// End to end into a fresh SQLite file: parse → validate → store (one transaction) → report.
/// Setting up the database (migrations, the uploader) is not timed.
fn phase_sqlite(path: &Path) -> u64 {
    let dir = std::env::temp_dir().join(format!("spotcheck-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = dir.join("bench.db").to_string_lossy().into_owned();
    store_phase(path, &url, || std::fs::remove_dir_all(&dir).unwrap_or(()))
}

/// End to end into a fresh PostgreSQL schema (SPOTCHECK_BENCH_DATABASE_URL, default the
/// local test database).
fn phase_postgres(path: &Path) -> u64 {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let base = std::env::var("SPOTCHECK_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("bench_{}", std::process::id());
    let mut admin = diesel::PgConnection::establish(&base).expect("PostgreSQL for the bench");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    store_phase(path, &url, move || {
        let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    })
}

fn store_phase(path: &Path, url: &str, cleanup: impl FnOnce()) -> u64 {
    use spotcheck::db::models::Actor;
    use spotcheck::domain::roles::Role;
    let settings = spotcheck::config::Settings {
        database_url: Some(url.to_owned()),
        ..Default::default()
    };
    let pool = spotcheck::app::open_database(&settings).expect("database");
    let user = {
        let mut conn = pool.get().expect("conn");
        spotcheck::service::users::create_hashed(
            &mut conn,
            &Actor::system(),
            "bench",
            Role::Innkjoper,
            None,
            None,
        )
        .expect("user")
    };
    let cpu_start = cpu_ms();
    let bytes_start = Instant::now();
    let bytes = std::fs::read(path).expect("read");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = spotcheck::service::imports::import_register(
        &pool,
        &user,
        &name,
        spotcheck::import::RegisterFile::Bytes(&bytes),
        &spotcheck::import::ImportOptions::default(),
        false,
        &mut |_| {},
    )
    .expect("import");
    let ms = bytes_start.elapsed().as_secs_f64() * 1000.0;
    let cpu = cpu_ms() - cpu_start;
    assert_eq!(report.rows_imported + report.rows_rejected, report.rows_total);
    assert_eq!(report.contracts_created, report.rows_imported);
    // On SQLite the import hands the WAL checkpoint to a background connection after its
    // commit; this is how long that deferred work still takes once the report is back
    // (waiting for the background checkpoint, then emptying the log).
    if !url.starts_with("postgres") {
        use diesel::connection::SimpleConnection;
        let after_start = Instant::now();
        let mut conn = pool.get().expect("conn");
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
        let after_ms = after_start.elapsed().as_secs_f64() * 1000.0;
        AFTER_MS.with(|t| t.set(Some(after_ms)));
    }
    drop(pool);
    cleanup();
    TIMED_MS.with(|t| t.set(Some((ms, cpu))));
    report.rows_total
}

thread_local! {
    /// A phase that must not time its setup reports its own (wall, CPU) time here.
    static TIMED_MS: std::cell::Cell<Option<(f64, f64)>> = const { std::cell::Cell::new(None) };
    /// Work a phase left running in the background when its timed part ended (ms).
    static AFTER_MS: std::cell::Cell<Option<f64>> = const { std::cell::Cell::new(None) };
}

const PHASES: &[(&str, Phase)] = &[
    ("calamine", phase_calamine),
    ("parse", phase_parse),
    ("stream", phase_stream),
    ("sqlite", phase_sqlite),
    ("postgres", phase_postgres),
];

/// User + system CPU time of this process (all threads) so far, in ms.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return f64::NAN;
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(u.ru_utime) + ms(u.ru_stime)
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(phase) = arg(&args, "--phase") {
        let file = PathBuf::from(arg(&args, "--file").expect("--file"));
        let f = PHASES.iter().find(|(n, _)| *n == phase).expect("phase").1;
        let cpu_start = cpu_ms();
        let t = Instant::now();
        let rows = f(&file);
        let (ms, cpu) = TIMED_MS
            .with(|c| c.get())
            .unwrap_or_else(|| (t.elapsed().as_secs_f64() * 1000.0, cpu_ms() - cpu_start));
        let after = AFTER_MS
            .with(|c| c.get())
            .map_or("-".to_owned(), |a| format!("{a:.1}"));
        println!("{ms:.1} {rows} {} {cpu:.1} {after}", vm_kb("VmHWM:"));
        return;
    }
    let rows: u32 = arg(&args, "--rows")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = arg(&args, "--runs").and_then(|v| v.parse().ok()).unwrap_or(5);
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let file = target.join(format!("bench-import-{rows}.xlsx"));
    if !file.exists() {
        let t = Instant::now();
        generate(&file, rows).expect("generate");
        eprintln!(
            "generated {} in {:.1}s",
            file.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().expect("exe");
    println!(
        "register: {rows} rows x {} columns, {:.1} MB xlsx; best of {runs} rounds (each phase once per round)",
        COLUMNS.len(),
        size as f64 / 1e6
    );
    println!("load average before: {}", load_average());
    println!(
        "{:<10} {:>10} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "phase", "best ms", "median ms", "peak RSS MB", "rows", "rows/s", "cpu ms", "after ms"
    );
    // Round robin (every phase once, then again …) rather than phase after phase, so that
    // a spell of load on a shared machine hits every phase alike and the ratios stay fair.
    struct Samples {
        times: Vec<f64>,
        peak_kb: u64,
        cpu_best: f64,
        /// Deferred work after the timed part (median), for phases that report it.
        after: Vec<f64>,
        rows: u64,
    }
    let mut samples: Vec<Samples> = PHASES
        .iter()
        .map(|_| Samples {
            times: Vec::new(),
            peak_kb: 0,
            cpu_best: f64::INFINITY,
            after: Vec::new(),
            rows: 0,
        })
        .collect();
    for _ in 0..runs {
        for ((name, _), s) in PHASES.iter().zip(samples.iter_mut()) {
            let out = Command::new(&exe)
                .args(["--phase", name, "--file"])
                .arg(&file)
                .output()
                .expect("child");
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let mut it = line.split_whitespace();
            let ms: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
            s.rows = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            let kb: u64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            let cpu: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
            s.cpu_best = s.cpu_best.min(cpu);
            if let Some(a) = it.next().and_then(|v| v.parse::<f64>().ok()) {
                s.after.push(a);
            }
            s.times.push(ms);
            s.peak_kb = s.peak_kb.max(kb);
        }
    }
    let mut results: Vec<(&str, f64, f64, f64)> = Vec::new();
    for ((name, _), s) in PHASES.iter().zip(samples.iter_mut()) {
        s.times.sort_by(f64::total_cmp);
        let best = s.times[0];
        let median = s.times[s.times.len() / 2];
        let mb = s.peak_kb as f64 / 1024.0;
        let per_s = s.rows as f64 / (best / 1000.0);
        s.after.sort_by(f64::total_cmp);
        let after = s
            .after
            .get(s.after.len() / 2)
            .map_or("-".to_owned(), |a| format!("{a:.1}"));
        println!(
            "{name:<10} {best:>10.1} {median:>10.1} {mb:>12.1} {:>10} {per_s:>10.0} {:>10.1} {:>10}",
            s.rows, s.cpu_best, after
        );
        results.push((name, best, mb, s.cpu_best));
    }
    println!("load average after: {}", load_average());
    if let Some(base) = results.iter().find(|r| r.0 == "calamine") {
        for ours in results
            .iter()
            .filter(|r| matches!(r.0, "parse" | "stream" | "sqlite" | "postgres"))
        {
            println!(
                "{} / calamine: time {:.2}x (target <= 2.0), peak memory {:.2}x (target <= 1.5), cpu {:.2}x",
                ours.0,
                ours.1 / base.1,
                ours.2 / base.2,
                ours.3 / base.3
            );
        }
    }
}
