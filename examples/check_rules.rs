//! `cargo run --example check_rules -- rules/`: loads a rule folder and prints its errors
//! or its version; the same check the service runs at start-up.
use std::path::PathBuf;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("rules"), PathBuf::from);
    match spotcheck::risk::RuleSet::load_dir(&dir) {
        Ok(rs) => println!(
            "ok: {} bransjer, {} indikatorer, {} nivåer, versjon {}",
            rs.industries().len(),
            rs.indicators().len(),
            rs.tiers().len(),
            rs.version()
        ),
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
}
