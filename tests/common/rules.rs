//! The rule set shipped in the repository's `rules/` folder. Shared with the benches.

use std::path::PathBuf;

use spotcheck::risk::RuleSet;

/// The repository's `rules/` folder.
pub fn shipped_rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// The shipped rule set, loaded from [`shipped_rules_dir`]; panics with the rule-file errors.
pub fn shipped_rules() -> RuleSet {
    match RuleSet::load_dir(&shipped_rules_dir()) {
        Ok(rules) => rules,
        Err(e) => panic!("the default rule set must load:\n{e}"),
    }
}
