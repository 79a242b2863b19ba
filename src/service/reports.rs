//! Reports for Kemneren and the city council (the plan's measures 1 and 4): the hit rate of
//! closed cases (by industry, by tier, by part of the draw, with the uniform part's
//! estimate of how common findings are among all contracts drawn from) and the yearly
//! status by quarter. A case "has findings" when it was closed with another outcome than
//! `ingen_funn`. Each report is data (JSON) and a table ([`crate::export::Table`]).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::db::models::{cases, notices};
use crate::db::{DbConn, DbError};
use crate::domain::liaison::decode_list;
use crate::domain::oslo;
use crate::domain::report::{Estimate, Tally, wilson};
use crate::export::{Cell, Table};
use crate::risk::RuleSet;

fn finding(outcome: Option<&str>) -> bool {
    outcome.is_some_and(|o| o != "ingen_funn")
}

/// The hit rate of cases closed from `from` to `to` (Oslo dates, both included).
#[derive(Debug, Clone, Serialize)]
pub struct HitRate {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: Tally,
    /// By risk industry (name), a case counting once in each of its contract's industries.
    pub by_industry: BTreeMap<String, Tally>,
    /// By tier (label).
    pub by_tier: BTreeMap<String, Tally>,
    /// `vektet`, `uvektet` (drawn), `flagget` (opened by the highest tier).
    pub by_part: BTreeMap<String, Tally>,
    /// From the uniform part only, which every contract in the population had the same
    /// chance to enter: the share of contracts with findings, with a 95 % interval.
    pub uniform_estimate: Option<Estimate>,
}

pub fn hit_rate(c: &mut DbConn, rules: &RuleSet, from: NaiveDate, to: NaiveDate) -> Result<HitRate, DbError> {
    if to < from {
        return Err(DbError::Invalid("'to' is before 'from'".into()));
    }
    let closed = cases::closed_between(
        c,
        oslo::midnight_utc(from),
        oslo::midnight_utc(to + chrono::Duration::days(1)),
    )?;
    let industry: BTreeMap<&str, &str> = rules
        .industries()
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let tier: BTreeMap<&str, &str> = rules
        .tiers()
        .iter()
        .map(|t| (t.id.as_str(), t.label.as_str()))
        .collect();
    let mut r = HitRate {
        from,
        to,
        total: Tally::default(),
        by_industry: BTreeMap::new(),
        by_tier: BTreeMap::new(),
        by_part: BTreeMap::new(),
        uniform_estimate: None,
    };
    for k in &closed {
        let f = finding(k.outcome.as_deref());
        r.total.add(f);
        for i in decode_list(k.industries.as_deref().unwrap_or("")) {
            let name = industry.get(i.as_str()).map_or(i.clone(), |n| (*n).to_owned());
            r.by_industry.entry(name).or_default().add(f);
        }
        let t = k.tier.as_deref().map_or("ikke vurdert".to_owned(), |t| {
            tier.get(t).map_or(t.to_owned(), |l| (*l).to_owned())
        });
        r.by_tier.entry(t).or_default().add(f);
        let part = match (k.source.as_str(), k.part.as_deref()) {
            ("flag", _) => "flagget",
            (_, Some("uniform")) => "uvektet",
            _ => "vektet",
        };
        r.by_part.entry(part.to_owned()).or_default().add(f);
    }
    r.uniform_estimate = r
        .by_part
        .get("uvektet")
        .and_then(|t| wilson(t.with_findings, t.closed));
    Ok(r)
}

impl HitRate {
    pub fn table(&self) -> Table {
        let mut rows = Vec::new();
        let mut add = |group: &str, key: &str, t: &Tally| {
            rows.push(vec![
                Cell::from(group),
                Cell::from(key),
                Cell::Number(t.closed as f64),
                Cell::Number(t.with_findings as f64),
                t.rate()
                    .map_or(Cell::Empty, |r| Cell::Number((r * 1000.0).round() / 10.0)),
            ]);
        };
        add("Totalt", "", &self.total);
        for (k, t) in &self.by_industry {
            add("Bransje", k, t);
        }
        for (k, t) in &self.by_tier {
            add("Risikonivå", k, t);
        }
        for (k, t) in &self.by_part {
            add("Del av trekningen", k, t);
        }
        if let Some(e) = &self.uniform_estimate {
            rows.push(vec![
                Cell::from("Anslag fra den uvektede delen (95 %)"),
                Cell::from(format!("{:.1}–{:.1} %", e.low * 100.0, e.high * 100.0)),
                Cell::Number(e.sample as f64),
                Cell::Empty,
                Cell::Number((e.share * 1000.0).round() / 10.0),
            ]);
        }
        Table {
            sheet: "Treffrate".into(),
            header: [
                "Gruppe",
                "Verdi",
                "Lukkede saker",
                "Med funn",
                "Andel med funn (%)",
            ]
            .iter()
            .map(|h| (*h).to_owned())
            .collect(),
            rows,
        }
    }
}

/// One quarter of the yearly status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Quarter {
    pub quarter: u32,
    pub draws: u64,
    pub cases_opened: u64,
    pub cases_closed: u64,
    pub with_findings: u64,
    /// Referrals by agency (`arbeidstilsynet`, …).
    pub referrals: BTreeMap<String, u64>,
}

/// The yearly status for the city council.
#[derive(Debug, Clone, Serialize)]
pub struct CityCouncil {
    pub year: i32,
    /// Contracts in a risk industry now.
    pub contracts_in_risk_industries: i64,
    pub quarters: Vec<Quarter>,
}

pub fn city_council(c: &mut DbConn, year: i32) -> Result<CityCouncil, DbError> {
    let start =
        NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| DbError::Invalid(format!("year {year}")))?;
    let end =
        NaiveDate::from_ymd_opt(year + 1, 1, 1).ok_or_else(|| DbError::Invalid(format!("year {year}")))?;
    let (from, to) = (oslo::midnight_utc(start), oslo::midnight_utc(end));
    let quarter_of = |utc: NaiveDateTime| (oslo::local(utc).month() - 1) / 3;
    let mut quarters: Vec<Quarter> = (1..=4)
        .map(|q| Quarter {
            quarter: q,
            ..Quarter::default()
        })
        .collect();
    for (_, round, at, _) in notices::rounds_between(c, from, to)? {
        if round == 1 {
            quarters[quarter_of(at) as usize].draws += 1;
        }
    }
    for at in cases::opened_between(c, from, to)? {
        quarters[quarter_of(at) as usize].cases_opened += 1;
    }
    for k in cases::closed_between(c, from, to)? {
        let q = &mut quarters[quarter_of(k.closed_at) as usize];
        q.cases_closed += 1;
        if finding(k.outcome.as_deref()) {
            q.with_findings += 1;
        }
        if let Some(agency) = k.outcome.as_deref().and_then(|o| o.strip_prefix("henvist_")) {
            *q.referrals.entry(agency.to_owned()).or_default() += 1;
        }
    }
    Ok(CityCouncil {
        year,
        contracts_in_risk_industries: cases::contracts_in_risk_industries(c)?,
        quarters,
    })
}

impl CityCouncil {
    pub fn table(&self) -> Table {
        let agencies = ["arbeidstilsynet", "skatteetaten", "politiet", "nav"];
        let mut header: Vec<String> = ["Kvartal", "Trekninger", "Saker åpnet", "Saker lukket", "Med funn"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        header.extend(agencies.iter().map(|a| {
            let name = a
                .parse::<crate::domain::roles::Agency>()
                .map_or_else(|_| (*a).to_owned(), |x| x.label().to_owned());
            format!("Henvist til {name}")
        }));
        let rows = self
            .quarters
            .iter()
            .map(|q| {
                let mut row = vec![
                    Cell::from(format!("{}. kvartal {}", q.quarter, self.year)),
                    Cell::Number(q.draws as f64),
                    Cell::Number(q.cases_opened as f64),
                    Cell::Number(q.cases_closed as f64),
                    Cell::Number(q.with_findings as f64),
                ];
                row.extend(
                    agencies
                        .iter()
                        .map(|a| Cell::Number(*q.referrals.get(*a).unwrap_or(&0) as f64)),
                );
                row
            })
            .collect();
        Table {
            sheet: format!("Status {}", self.year),
            header,
            rows,
        }
    }
}
