//! spotcheck: supplier-chain risk audit for municipal procurement.
//!
//! Module map (see README.md, "Architecture"):
//! - [`config`]: settings from defaults, a TOML file and `SPOTCHECK_*` variables.
//! - [`db`]: diesel over SQLite and PostgreSQL; schema, migrations, models (queries).
//! - [`domain`]: pure logic (org numbers, roles, the audit hash chain).
//! - [`import`]: reading contract registers from spreadsheets and csv (pure).
//! - [`risk`]: the rule-set format, condition language and scoring (pure).
//! - [`sampling`]: verifiable spot-check draws (Rivest's samplers; pure).
//! - [`brreg`]: Enhetsregisteret client, bulk files, approval registers (no storage).
//! - [`auth`]: password hashing, tokens, login throttle.
//! - [`export`]: xlsx and csv downloads, formulas neutralised.
//! - [`mail`]: what the liaisons are told, rendered and handed to SMTP or `.eml` files.
//! - [`service`]: one function per use case; owns transactions and audit entries.
//! - [`web`]: actix-web pages and the `/api/v1` JSON API (thin handlers over `service`).
//! - [`cli`]: the `spotcheck` command line, one file per subcommand.
//! - [`app`]: start-up wiring shared by the CLI and tests.
//!
//! `docs/architecture.md` describes the data flow and where each use case lives.

pub mod app;
pub mod auth;
pub mod brreg;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod export;
pub mod import;
pub mod mail;
pub mod risk;
pub mod sampling;
pub mod service;
pub mod web;

/// The allocator of every binary built on this library (the service, the tests and the
/// benchmarks, so they measure what runs in production). Imports and rescoring allocate
/// many small strings on one thread and free them on another; glibc's allocator spent a
/// tenth of an import's time there, mimalloc (per-thread free lists) a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` and `mi_option_allow_thp` (their positions in
/// `mi_option_e`, mimalloc 3 as vendored by libmimalloc-sys 0.1.49; re-check on upgrade).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
const MI_OPTION_ALLOW_THP: std::ffi::c_int = 43;

unsafe extern "C" {
    /// From the mimalloc library the allocator above links in.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

#[cfg(target_os = "linux")]
unsafe extern "C" {
    /// From the C library: `prctl(2)`, here only with integer arguments.
    fn prctl(
        option: std::ffi::c_int,
        arg2: std::ffi::c_ulong,
        arg3: std::ffi::c_ulong,
        arg4: std::ffi::c_ulong,
        arg5: std::ffi::c_ulong,
    ) -> std::ffi::c_int;
}

/// `PR_SET_THP_DISABLE` from `<linux/prctl.h>`.
#[cfg(target_os = "linux")]
const PR_SET_THP_DISABLE: std::ffi::c_int = 41;

/// Sets how the allocator returns memory; call once, first thing in `main`.
///
/// - Memory a thread freed goes back to the system after 10 ms instead of mimalloc 3's
///   default of a second, unless `MIMALLOC_PURGE_DELAY` says otherwise. An import frees a
///   chunk's rows on another thread than the one that made them, many times a second; with a
///   second's delay the freed pages piled up, and a 100,000-row import peaked ~24 MB (a
///   fifth) higher for no gain in time (alternating runs: docs/benchmarks.md).
/// - No transparent huge pages for this process, unless `MIMALLOC_ALLOW_THP` says
///   otherwise. With them, memory given back and taken again came back 2 MiB at a time,
///   each zeroed by the kernel: a tenth of an import's samples were the kernel clearing
///   pages, and a 100,000-row import peaked at 86 MB instead of 59 MB (docs/benchmarks.md).
pub fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an integer option; mimalloc reads its options atomically and allows
        // changing them at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 10) }
    }
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: as above. mimalloc reads it before asking for huge pages on new memory.
        unsafe { mi_option_set(MI_OPTION_ALLOW_THP, 0) }
        // Memory mimalloc reserved before `main` may have been marked for huge pages
        // already; the process-wide switch covers it. A kernel without it refuses the
        // call, which changes nothing.
        #[cfg(target_os = "linux")]
        // SAFETY: `prctl` with integer arguments only; this option touches no memory of ours.
        unsafe {
            prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    fn thp_enabled() -> Option<String> {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .map(|v| v.trim().to_owned())
    }

    #[test]
    fn the_process_takes_no_transparent_huge_pages_unless_told_to() {
        let before = thp_enabled();
        assert!(before.is_some(), "this kernel does not report THP_enabled");
        super::return_freed_memory_promptly();
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            // Asked for in the environment: left as it was.
            assert_eq!(thp_enabled(), before);
        } else {
            assert_eq!(thp_enabled().as_deref(), Some("0"));
        }
    }
}
