//! Prints the condition-language reference (fields, functions, default indicators) as
//! Markdown, for `rules/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = spotcheck::risk::RuleSet::load_dir(&dir).expect("rules");
    println!("### Felter\n\n| felt | betydning |\n|---|---|");
    for (name, desc) in spotcheck::risk::condition_field_docs() {
        println!("| `{name}` | {desc} |");
    }
    println!("\n### Funksjoner\n");
    for f in spotcheck::risk::condition_functions() {
        println!("- `{f}(…)`");
    }
    println!("\n### Indikatorer i standardsettet\n\n| id | tittel | vekt |\n|---|---|---|");
    for i in rules.indicators() {
        println!("| `{}` | {} | {} |", i.id, i.title, i.weight);
    }
    println!("\nRegelsettets versjon nå: `{}`", rules.version());
}
