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

/// Øre as `1 234 567,50 kr`.
pub fn nok(ore: &Option<i64>) -> String {
    let Some(ore) = *ore else { return String::new() };
    let (sign, ore) = if ore < 0 { ("-", -ore) } else { ("", ore) };
    let kroner = (ore / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in kroner.chars().enumerate() {
        if i > 0 && (kroner.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02}\u{a0}kr", ore % 100)
}

/// The first 12 characters of a version hash, enough to tell versions apart on screen.
pub fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}
