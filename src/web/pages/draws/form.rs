//! The draw wizard's form: every value exactly as typed (so each step and each error page
//! shows it again), carried between the steps as hidden fields and in the ceremony link's
//! query; and its reading into a [`DrawSpec`] with a Norwegian message beside each field
//! that cannot be read. Pure: no database, no web types.

use chrono::NaiveDate;
use url::form_urlencoded;

use crate::risk::RuleSet;
use crate::sampling::UniformShare;
use crate::service::draws::{DrawFilter, DrawSpec, ShareInput, StrataMode};

/// The wizard's fields as typed. Field names are the form's `name`s.
#[derive(Debug, Clone, PartialEq)]
pub struct WizardForm {
    /// Risk industry ids (checkboxes, repeated `industry`).
    pub industries: Vec<String>,
    pub min_tier: String,
    /// Units, separated by commas.
    pub units: String,
    pub active_from: String,
    pub active_to: String,
    pub exclude_checked_months: String,
    /// Contract numbers, separated by commas, spaces or new lines.
    pub include: String,
    pub exclude: String,
    /// `industry` or `none`.
    pub strata: String,
    pub size: String,
    /// Tolerable deviation rate in per cent (instead of a size).
    pub tolerable_rate: String,
    /// Confidence in per cent.
    pub confidence: String,
    pub binomial: bool,
    /// Share drawn uniformly, in per cent.
    pub uniform_share: String,
    /// `size` or `risk`.
    pub allocation: String,
    pub min_per_stratum: String,
}

impl Default for WizardForm {
    /// What step 1 shows before anything is typed.
    fn default() -> Self {
        WizardForm {
            industries: Vec::new(),
            min_tier: String::new(),
            units: String::new(),
            active_from: String::new(),
            active_to: String::new(),
            exclude_checked_months: String::new(),
            include: String::new(),
            exclude: String::new(),
            strata: "industry".into(),
            size: String::new(),
            tolerable_rate: String::new(),
            confidence: "95".into(),
            binomial: false,
            uniform_share: "50".into(),
            allocation: "size".into(),
            min_per_stratum: "0".into(),
        }
    }
}

/// A field that could not be read, and what to do about it (Norwegian).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

/// The problems of a form, at most one per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors(pub Vec<FieldProblem>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push(FieldProblem {
                field,
                message: message.into(),
            });
        }
    }

    /// The message beside `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Names the form uses besides the wizard's fields (CSRF token, seed, fingerprint, …).
const OTHER_FIELDS: [&str; 4] = ["csrf_token", "seed", "expected_sha256", "view"];

impl WizardForm {
    /// Reads the fields from decoded `(name, value)` pairs (a form body or a query string).
    /// With no wizard field at all, the defaults of step 1.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let ours = |k: &str| !OTHER_FIELDS.contains(&k);
        if !pairs.iter().any(|(k, _)| ours(k)) {
            return WizardForm::default();
        }
        let mut f = WizardForm {
            confidence: String::new(),
            uniform_share: String::new(),
            strata: String::new(),
            allocation: String::new(),
            min_per_stratum: String::new(),
            ..WizardForm::default()
        };
        for (k, v) in pairs {
            let v = v.clone();
            match k.as_str() {
                "industry" => f.industries.push(v),
                "min_tier" => f.min_tier = v,
                "units" => f.units = v,
                "active_from" => f.active_from = v,
                "active_to" => f.active_to = v,
                "exclude_checked_months" => f.exclude_checked_months = v,
                "include" => f.include = v,
                "exclude" => f.exclude = v,
                "strata" => f.strata = v,
                "size" => f.size = v,
                "tolerable_rate" => f.tolerable_rate = v,
                "confidence" => f.confidence = v,
                "binomial" => f.binomial = !v.is_empty(),
                "uniform_share" => f.uniform_share = v,
                "allocation" => f.allocation = v,
                "min_per_stratum" => f.min_per_stratum = v,
                _ => {}
            }
        }
        f
    }

    /// The fields as `(name, value)` pairs, to carry as hidden fields or in a query.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> =
            self.industries.iter().map(|i| ("industry", i.clone())).collect();
        out.extend([
            ("min_tier", self.min_tier.clone()),
            ("units", self.units.clone()),
            ("active_from", self.active_from.clone()),
            ("active_to", self.active_to.clone()),
            ("exclude_checked_months", self.exclude_checked_months.clone()),
            ("include", self.include.clone()),
            ("exclude", self.exclude.clone()),
            ("strata", self.strata.clone()),
            ("size", self.size.clone()),
            ("tolerable_rate", self.tolerable_rate.clone()),
            ("confidence", self.confidence.clone()),
            ("uniform_share", self.uniform_share.clone()),
            ("allocation", self.allocation.clone()),
            ("min_per_stratum", self.min_per_stratum.clone()),
        ]);
        if self.binomial {
            out.push(("binomial", "on".into()));
        }
        out
    }

    /// The fields as a URL query (without `?`), for links that keep them.
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            q.append_pair(k, &v);
        }
        q.finish()
    }

    /// The draw this form asks for (without seed and fingerprint), or every field that
    /// cannot be read. Ids of industries and tiers must be in `rules`.
    pub fn to_spec(&self, rules: &RuleSet) -> Result<DrawSpec, FormErrors> {
        let mut e = FormErrors::default();
        let known: Vec<&str> = rules.industries().iter().map(|i| i.id.as_str()).collect();
        if self.industries.iter().any(|i| !known.contains(&i.as_str())) {
            e.add("industry", "Velg bare bransjer fra listen.");
        }
        let min_tier = self.min_tier.trim();
        if !min_tier.is_empty() && !rules.tiers().iter().any(|t| t.id == min_tier) {
            e.add("min_tier", "Velg et risikonivå fra listen.");
        }
        let from = date_field(&mut e, "active_from", &self.active_from);
        let to = date_field(&mut e, "active_to", &self.active_to);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            e.add("active_to", "Til-datoen er før fra-datoen.");
        }
        let months = whole_field(
            &mut e,
            "exclude_checked_months",
            &self.exclude_checked_months,
            0,
            600,
        )
        .filter(|m| *m > 0)
        .and_then(|m| u32::try_from(m).ok());
        let include = ids(&self.include);
        let exclude = ids(&self.exclude);
        if let Some(both) = include.iter().find(|i| exclude.contains(i)) {
            e.add(
                "exclude",
                format!("Kontrakt {both} kan ikke både alltid være med og aldri være med."),
            );
        }
        let strata = match self.strata.as_str() {
            "industry" => StrataMode::Industry,
            "none" => StrataMode::None,
            _ => {
                e.add("strata", "Velg om trekningen skal deles i lag per bransje.");
                StrataMode::None
            }
        };
        let size = whole_field(&mut e, "size", &self.size, 1, 1_000_000);
        let rate = percent_field(&mut e, "tolerable_rate", &self.tolerable_rate);
        match (self.size.trim().is_empty(), self.tolerable_rate.trim().is_empty()) {
            (true, true) => e.add(
                "size",
                "Oppgi hvor mange kontrakter som skal trekkes (eller en tolerabel avviksrate).",
            ),
            (false, false) => e.add(
                "tolerable_rate",
                "Oppgi enten antall kontrakter eller tolerabel avviksrate, ikke begge.",
            ),
            _ => {}
        }
        let confidence = if self.tolerable_rate.trim().is_empty() {
            None
        } else {
            percent_field(&mut e, "confidence", &self.confidence)
        };
        let share = self.uniform_share.trim().trim_end_matches('%').trim();
        let uniform_share = if share.is_empty() {
            None
        } else {
            match UniformShare::parse(&format!("{share}%")) {
                Ok(_) => Some(ShareInput::Text(format!("{share}%"))),
                Err(_) => {
                    e.add(
                        "uniform_share",
                        "Skriv en prosent mellom 0 og 100 (høyst én desimal), for eksempel 50.",
                    );
                    None
                }
            }
        };
        let allocation = match self.allocation.as_str() {
            "size" | "risk" => self.allocation.clone(),
            _ => {
                e.add("allocation", "Velg hvordan størrelsen fordeles på lagene.");
                String::new()
            }
        };
        let min_per_stratum =
            whole_field(&mut e, "min_per_stratum", &self.min_per_stratum, 0, 1_000_000).unwrap_or(0);
        if !e.is_empty() {
            return Err(e);
        }
        Ok(DrawSpec {
            filter: DrawFilter {
                industries: self.industries.clone(),
                active_from: from,
                active_to: to,
                units: self
                    .units
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect(),
                min_tier: (!min_tier.is_empty()).then(|| min_tier.to_owned()),
                exclude_checked_months: months,
                include,
                exclude,
            },
            strata,
            seed: None,
            size,
            tolerable_rate: rate.map(|r| r / 100.0),
            confidence: confidence.map(|c| c / 100.0),
            binomial: self.binomial,
            uniform_share,
            allocation: Some(allocation),
            min_per_stratum,
            expected_manifest_sha256: None,
            preview: false,
        })
    }
}

/// Contract numbers separated by commas, semicolons or white space.
fn ids(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A date as `dd.mm.yyyy` or `yyyy-mm-dd` (what a date input sends); empty is none.
fn date_field(e: &mut FormErrors, field: &'static str, text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let parsed =
        NaiveDate::parse_from_str(t, "%d.%m.%Y").or_else(|_| NaiveDate::parse_from_str(t, "%Y-%m-%d"));
    match parsed {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(field, "Skriv datoen som dd.mm.åååå, for eksempel 01.01.2026.");
            None
        }
    }
}

/// A whole number in `min..=max`; empty is none.
fn whole_field(e: &mut FormErrors, field: &'static str, text: &str, min: u64, max: u64) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            e.add(field, format!("Skriv et helt tall fra {min} til {max}."));
            None
        }
    }
}

/// A percentage strictly between 0 and 100 (decimal comma or point); empty is none.
fn percent_field(e: &mut FormErrors, field: &'static str, text: &str) -> Option<f64> {
    let t = text.trim().trim_end_matches('%').trim().replace(',', ".");
    if t.is_empty() {
        return None;
    }
    match t.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 100.0 => Some(p),
        _ => {
            e.add(field, "Skriv en prosent over 0 og under 100, for eksempel 5.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fields_survive_the_round_trip_through_hidden_fields_and_queries() {
        let typed = pairs(&[
            ("csrf_token", "x"),
            ("industry", "renhold"),
            ("industry", "bygg_anlegg"),
            ("units", "Fana, Årstad"),
            ("active_from", "01.01.2026"),
            ("strata", "none"),
            ("size", "7"),
            ("uniform_share", "25"),
            ("allocation", "risk"),
            ("binomial", "on"),
            ("include", "K-1 K-2"),
        ]);
        let f = WizardForm::from_pairs(&typed);
        let back: Vec<(String, String)> = f.pairs().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(WizardForm::from_pairs(&back), f);
        let q: Vec<(String, String)> = form_urlencoded::parse(f.query().as_bytes())
            .into_owned()
            .collect();
        assert_eq!(WizardForm::from_pairs(&q), f);
        assert_eq!(f.units, "Fana, Årstad");
        assert!(f.binomial);
    }

    #[test]
    fn an_empty_query_gives_the_defaults() {
        assert_eq!(WizardForm::from_pairs(&[]), WizardForm::default());
        assert_eq!(
            WizardForm::from_pairs(&pairs(&[("csrf_token", "x")])),
            WizardForm::default()
        );
    }

    #[test]
    fn reads_into_a_spec() {
        let rules = crate::service::rules::default_rule_set().expect("built-in rules");
        let f = WizardForm::from_pairs(&pairs(&[
            ("industry", "renhold"),
            ("min_tier", "høy"),
            ("units", " Fana ,, Årstad "),
            ("active_from", "2026-01-01"),
            ("active_to", "31.12.2026"),
            ("exclude_checked_months", "12"),
            ("exclude", "K-9;K-10"),
            ("strata", "industry"),
            ("size", "40"),
            ("uniform_share", "50"),
            ("allocation", "size"),
            ("min_per_stratum", "2"),
        ]));
        let spec = f.to_spec(&rules).expect("valid");
        assert_eq!(spec.filter.industries, ["renhold"]);
        assert_eq!(spec.filter.units, ["Fana", "Årstad"]);
        assert_eq!(spec.filter.min_tier.as_deref(), Some("høy"));
        assert_eq!(spec.filter.active_from, NaiveDate::from_ymd_opt(2026, 1, 1));
        assert_eq!(spec.filter.active_to, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(spec.filter.exclude_checked_months, Some(12));
        assert_eq!(spec.filter.exclude, ["K-9", "K-10"]);
        assert_eq!(spec.strata, StrataMode::Industry);
        assert_eq!(spec.size, Some(40));
        assert_eq!(spec.min_per_stratum, 2);
        assert_eq!(spec.uniform_share, Some(ShareInput::Text("50%".into())));
    }

    #[test]
    fn each_bad_field_gets_its_own_message() {
        let rules = crate::service::rules::default_rule_set().expect("built-in rules");
        let f = WizardForm::from_pairs(&pairs(&[
            ("industry", "ukjent"),
            ("active_from", "31.12.2026"),
            ("active_to", "01.01.2026"),
            ("size", "tre"),
            ("tolerable_rate", "5"),
            ("uniform_share", "150"),
            ("strata", "industry"),
            ("allocation", "size"),
        ]));
        let e = f.to_spec(&rules).expect_err("invalid");
        assert!(e.get("industry").is_some());
        assert_eq!(e.get("active_to"), Some("Til-datoen er før fra-datoen."));
        assert!(e.get("size").is_some_and(|m| m.contains("helt tall")));
        assert!(e.get("tolerable_rate").is_some_and(|m| m.contains("ikke begge")));
        assert!(e.get("uniform_share").is_some());
        assert!(e.get("min_tier").is_none());
        let none = WizardForm::default().to_spec(&rules).expect_err("no size");
        assert!(none.get("size").is_some_and(|m| m.contains("hvor mange")));
    }

    #[test]
    fn a_planned_size_is_read_as_fractions() {
        let rules = crate::service::rules::default_rule_set().expect("built-in rules");
        let f = WizardForm {
            tolerable_rate: "5".into(),
            confidence: "90".into(),
            ..WizardForm::default()
        };
        let spec = f.to_spec(&rules).expect("valid");
        assert_eq!(spec.size, None);
        assert!(spec.tolerable_rate.is_some_and(|r| (r - 0.05).abs() < 1e-12));
        assert!(spec.confidence.is_some_and(|c| (c - 0.9).abs() < 1e-12));
    }
}
