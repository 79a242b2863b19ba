//! How values are written on pages (Norwegian conventions); called from the templates.

/// Evidence values as people read them: text without quotes, `ukjent` for missing.
pub fn evidence_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "ukjent".into(),
        serde_json::Value::Bool(true) => "ja".into(),
        serde_json::Value::Bool(false) => "nei".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(xs) => xs.iter().map(evidence_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Øre as `1 234 567 kr` (øre only when there are some); empty when unknown.
pub fn nok(ore: &Option<i64>) -> String {
    ore.map(crate::domain::oslo::kroner).unwrap_or_default()
}

/// The first 12 characters of a version hash, enough to tell versions apart on screen.
pub fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}
