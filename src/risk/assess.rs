//! Scoring and its explanation.
//!
//! Score = the sum of the weights of the indicators that fired. Every indicator ends in
//! exactly one of: fired, passed, not computable, or not applicable (its `applies_when`
//! is false; such indicators are left out of the assessment and of the coverage counts).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::cond::{Condition, Ref};
use super::eval::eval;
use super::evidence::Evidence;
use super::fields::{self, Ctx};
use super::industry::Industry;
use super::input::{AssessmentInput, SupplierInput};
use super::record::{Interner, Mismatch, RecordWriter};
use super::text::Text;
use super::tiers::Tier;
use super::value::{Miss, Tri, Val};
use super::{Indicator, RuleSet, tiers};

/// One indicator that fired or could not be computed, with what it saw.
///
/// The texts are [`Text`]s shared with the rule set: building a finding copies no text.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule: Text,
    pub title: Text,
    pub weight: u32,
    pub why: Text,
    pub source: Text,
    /// Every input the indicator's conditions refer to, by field name (`null` = missing).
    pub evidence: Evidence,
    /// For a not-computable finding: which inputs were missing and why (Norwegian).
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Assessment {
    pub score: u32,
    /// The score if every not-computable indicator had fired: how high this could go once
    /// the missing facts are in. Lets a draw or a person see what missing data may hide.
    pub max_possible_score: u32,
    pub tier: Text,
    /// Risk industries found from the contract (CPV, keywords) and the supplier (NACE).
    pub industries: Vec<Text>,
    pub fired: Vec<Finding>,
    pub not_computable: Vec<Finding>,
    /// Indicators that applied and did not fire.
    pub passed: Vec<Text>,
    pub rule_set_version: Text,
    /// The date dated parameters were read at.
    pub as_of: NaiveDate,
    /// When the supplier's register facts were fetched.
    pub facts_fetched_at: Option<NaiveDateTime>,
    /// When each approval register that was consulted was loaded.
    pub approvals_loaded_at: BTreeMap<String, NaiveDateTime>,
}

/// What findings of one indicator are built from, worked out when the rule set is loaded:
/// its texts (interned, see [`Text`]) and its evidence plan: every input its conditions
/// refer to, sorted by name, each name once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prepared {
    id: Text,
    title: Text,
    why: Text,
    source: Text,
    evidence: Vec<(Text, Ref)>,
}

impl Prepared {
    /// The names of the indicator's evidence, sorted (the keys of its findings' evidence).
    pub(crate) fn evidence_names(&self) -> impl Iterator<Item = &str> {
        self.evidence.iter().map(|(name, _)| name.as_str())
    }

    pub(crate) fn new(ind: &Indicator) -> Prepared {
        let mut evidence: Vec<(Text, Ref)> = Vec::new();
        for c in ind.applies_when.iter().chain(std::iter::once(&ind.condition)) {
            for r in &c.refs {
                let name = match r {
                    Ref::Field(_, n) => Text::from_static(n),
                    Ref::Param(_, n) | Ref::Extra(_, n) => Text::interned(n),
                };
                // Like a map insert: a later reference to the same name replaces it.
                match evidence.binary_search_by(|(k, _)| k.cmp(&name)) {
                    Ok(i) => evidence[i].1 = r.clone(),
                    Err(i) => evidence.insert(i, (name, r.clone())),
                }
            }
        }
        Prepared {
            id: Text::interned(&ind.id),
            title: Text::interned(&ind.title),
            why: Text::interned(&ind.why),
            source: Text::interned(&ind.source),
            evidence,
        }
    }
}

/// The rule set's texts that every assessment repeats.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuleSetTexts {
    version: Text,
    /// Parallel to the rule set's tiers.
    tiers: Vec<Text>,
    /// Parallel to the rule set's industries.
    industries: Vec<Text>,
}

impl RuleSetTexts {
    pub(crate) fn new(version: &str, tiers: &[Tier], industries: &[Industry]) -> RuleSetTexts {
        RuleSetTexts {
            version: Text::interned(version),
            tiers: tiers.iter().map(|t| Text::interned(&t.id)).collect(),
            industries: industries.iter().map(|i| Text::interned(&i.id)).collect(),
        }
    }
}

/// The outcome of one indicator; `NotComputable(true)` when its `applies_when` was the
/// part that could not be decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    NotApplicable,
    Fired,
    Passed,
    NotComputable(bool),
}

/// A score without its explanation ([`RuleSet::score`]). Indicator `i` of
/// [`RuleSet::indicators`] is bit `1 << i` of the masks (at most 128 indicators, checked
/// when loading).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score<'r> {
    pub score: u32,
    pub max_possible_score: u32,
    pub tier: &'r str,
    pub fired: u128,
    pub passed: u128,
    pub not_computable: u128,
}

/// What [`RuleSet::record_scored`] made: the compact score, the industries the contract
/// was judged in (stored beside the record) and the record.
#[derive(Debug)]
pub struct Recorded<'r> {
    pub score: Score<'r>,
    pub industries: Vec<&'r str>,
    pub record: Vec<u8>,
}

/// Counts for one indicator over many assessments.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleCoverage {
    /// Assessments in which the indicator applied: fired + passed + not computable.
    pub applied: u64,
    pub fired: u64,
    pub passed: u64,
    pub not_computable: u64,
}

/// Coverage per indicator: a fold over many [`Assessment`]s (`add`), mergeable across
/// threads or batches (`merge`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub assessments: u64,
    pub rules: BTreeMap<String, RuleCoverage>,
}

impl Coverage {
    /// Starts with every indicator of `rules` at zero, so an indicator that never applied
    /// still shows up.
    pub fn new(rules: &RuleSet) -> Coverage {
        Coverage {
            assessments: 0,
            rules: rules
                .indicators
                .iter()
                .map(|i| (i.id.clone(), RuleCoverage::default()))
                .collect(),
        }
    }

    pub fn add(&mut self, a: &Assessment) {
        self.assessments += 1;
        for f in &a.fired {
            self.bump(&f.rule, |c| c.fired += 1);
        }
        for f in &a.not_computable {
            self.bump(&f.rule, |c| c.not_computable += 1);
        }
        for id in &a.passed {
            self.bump(id, |c| c.passed += 1);
        }
    }

    /// Counts one application of `id` (added at zero when new; allocates only then).
    fn bump(&mut self, id: &str, outcome: impl FnOnce(&mut RuleCoverage)) {
        let c = match self.rules.get_mut(id) {
            Some(c) => c,
            None => self.rules.entry(id.to_owned()).or_default(),
        };
        c.applied += 1;
        outcome(c);
    }

    /// Adds a compact [`Score`] made with `rules` (the same rule set as [`Coverage::new`]).
    pub fn add_score(&mut self, rules: &RuleSet, s: &Score<'_>) {
        self.assessments += 1;
        for (i, ind) in rules.indicators.iter().enumerate() {
            let bit = 1u128 << i;
            if (s.fired | s.passed | s.not_computable) & bit == 0 {
                continue;
            }
            let count = |c: &mut RuleCoverage| {
                c.applied += 1;
                if s.fired & bit != 0 {
                    c.fired += 1;
                } else if s.passed & bit != 0 {
                    c.passed += 1;
                } else {
                    c.not_computable += 1;
                }
            };
            // Looked up before inserting: a rescoring adds a score per contract, and the
            // id is cloned only the first time an indicator applies.
            match self.rules.get_mut(ind.id.as_str()) {
                Some(c) => count(c),
                None => count(self.rules.entry(ind.id.clone()).or_default()),
            }
        }
    }

    pub fn merge(&mut self, other: &Coverage) {
        self.assessments += other.assessments;
        for (id, o) in &other.rules {
            let c = self.rules.entry(id.clone()).or_default();
            c.applied += o.applied;
            c.fired += o.fired;
            c.passed += o.passed;
            c.not_computable += o.not_computable;
        }
    }
}

impl RuleSet {
    /// What the conditions read when they judge the contract of `input`.
    fn contract_ctx<'a>(&'a self, input: &AssessmentInput<'a>) -> Ctx<'a> {
        Ctx::new(
            self,
            Some(input.contract),
            input.supplier,
            input.parent,
            input.approvals,
            input.shared_address_count,
            input.as_of,
        )
    }

    /// Scores one contract. Pure: the same input and rule set give the same assessment.
    pub fn assess(&self, input: &AssessmentInput<'_>) -> Assessment {
        let ctx = self.contract_ctx(input);
        self.run(&ctx, false, input.supplier_fetched_at)
    }

    /// [`RuleSet::assess`] and [`RuleSet::score`] in one pass over the indicators: for a
    /// contract that has to be recorded anyway (new, or forced), scoring it first only to
    /// compare with its last record would evaluate every condition twice.
    pub fn assess_scored(&self, input: &AssessmentInput<'_>) -> (Assessment, Score<'_>) {
        let ctx = self.contract_ctx(input);
        self.run_scored(&ctx, false, input.supplier_fetched_at)
    }

    /// Scores a supplier on its own register facts, without a contract: indicators that
    /// read any `contract.*` field (or `extra(…)`) are left out, and industries come from
    /// the supplier's NACE codes only. The supplier's overall risk shown to users is the
    /// higher of this score and the highest score among its contracts (see
    /// `rules/README.md`, "Leverandørnivå").
    pub fn assess_supplier(&self, input: &SupplierInput<'_>) -> Assessment {
        let ctx = Ctx::new(
            self,
            None,
            Some(input.supplier),
            input.parent,
            input.approvals,
            input.shared_address_count,
            input.as_of,
        );
        self.run(&ctx, true, input.supplier_fetched_at)
    }

    /// Scores one contract without building the explanation: no allocation, for bulk
    /// rescoring and draws. Same score, tier and outcomes as [`RuleSet::assess`].
    pub fn score(&self, input: &AssessmentInput<'_>) -> Score<'_> {
        self.score_ctx(&self.contract_ctx(input)).0
    }

    /// [`RuleSet::assess_scored`] with the assessment's record made as the indicators
    /// decide, instead of the explained assessment: the bytes
    /// `record::encode(&Plan::of(self), &assessment, interner)` writes, with the texts
    /// numbered in the same order (the property tests in `tests/risk_rules.rs` compare
    /// them). An explained assessment is a few kilobytes of small allocations (findings with
    /// their evidence by name, the passed indicators' ids) that a bulk run only turned into
    /// these bytes.
    pub fn record_scored<I: Interner>(
        &self,
        input: &AssessmentInput<'_>,
        interner: &mut I,
    ) -> Result<Recorded<'_>, Mismatch> {
        let ctx = self.contract_ctx(input);
        let (score, nc_in_applies_when) = self.score_ctx(&ctx);
        let approvals = self.approvals_loaded_at(&ctx);
        let mut w = RecordWriter::new(
            interner,
            score.fired,
            score.not_computable,
            score.passed,
            approvals.iter().map(|(r, at)| (*r, at)),
        )?;
        let evidence = |w: &mut RecordWriter<'_, I>, ind: &Indicator| {
            for (_, r) in &ind.prepared.evidence {
                w.evidence(self.ref_value(&ctx, r).1);
            }
        };
        for (i, ind) in self.indicators.iter().enumerate() {
            if score.fired & (1u128 << i) != 0 {
                evidence(&mut w, ind);
            }
        }
        let mut reason_key = Vec::new();
        for (i, ind) in self.indicators.iter().enumerate() {
            let bit = 1u128 << i;
            if score.not_computable & bit != 0 {
                evidence(&mut w, ind);
                let in_applies_when = nc_in_applies_when & bit != 0;
                self.reason_key(&ctx, i, in_applies_when, &mut reason_key);
                w.reason_made(&reason_key, &mut || {
                    self.not_computable_reason(&ctx, ind, in_applies_when)
                });
            }
        }
        Ok(Recorded {
            industries: self.industry_ids(ctx.union_inds.unwrap_or(0)),
            record: w.finish(),
            score,
        })
    }

    /// The compact score, and which of the not-computable indicators were so because their
    /// `applies_when` could not be decided (a mask like the score's).
    fn score_ctx(&self, ctx: &Ctx<'_>) -> (Score<'_>, u128) {
        let mut out = Score {
            score: 0,
            max_possible_score: 0,
            tier: "",
            fired: 0,
            passed: 0,
            not_computable: 0,
        };
        let mut nc_in_applies_when = 0u128;
        for (i, ind) in self.indicators.iter().enumerate() {
            let bit = 1u128 << i;
            match self.verdict(ctx, ind, false) {
                Verdict::NotApplicable => {}
                Verdict::Fired => {
                    out.fired |= bit;
                    out.score = out.score.saturating_add(ind.weight);
                }
                Verdict::Passed => out.passed |= bit,
                Verdict::NotComputable(in_applies_when) => {
                    out.not_computable |= bit;
                    if in_applies_when {
                        nc_in_applies_when |= bit;
                    }
                    out.max_possible_score = out.max_possible_score.saturating_add(ind.weight);
                }
            }
        }
        out.max_possible_score = out.max_possible_score.saturating_add(out.score);
        out.tier = self.tier_for(out.score);
        (out, nc_in_applies_when)
    }

    /// When each approval register the rules required was loaded, by register.
    fn approvals_loaded_at<'c>(&self, ctx: &'c Ctx<'_>) -> BTreeMap<&'c str, NaiveDateTime> {
        let mut out = BTreeMap::new();
        if let Val::List(regs) = ctx.get(fields::Field::ApprovalRequiredRegisters) {
            for r in regs.iter() {
                if let Some(t) = ctx
                    .approvals
                    .iter()
                    .find(|a| a.register.trim().eq_ignore_ascii_case(r))
                    .and_then(|a| a.loaded_at)
                {
                    out.insert(r, t);
                }
            }
        }
        out
    }

    /// Why `ind` could not be computed: its `applies_when` or its condition.
    fn not_computable_reason(&self, ctx: &Ctx<'_>, ind: &Indicator, in_applies_when: bool) -> String {
        self.reason(ctx, self.reason_conditions(ind, in_applies_when))
    }

    /// The conditions whose inputs explain why `ind` could not be computed: its
    /// `applies_when`, or its condition.
    fn reason_conditions<'i>(
        &self,
        ind: &'i Indicator,
        in_applies_when: bool,
    ) -> impl Iterator<Item = &'i Condition> + Clone {
        let (applies_when, condition) = if in_applies_when {
            (ind.applies_when.as_ref(), None)
        } else {
            (None, Some(&ind.condition))
        };
        applies_when.into_iter().chain(condition)
    }

    fn verdict(&self, ctx: &Ctx<'_>, ind: &Indicator, supplier_only: bool) -> Verdict {
        if supplier_only && ind.reads_contract() {
            return Verdict::NotApplicable;
        }
        let applies = ind
            .applies_when
            .as_ref()
            .map_or(Tri::True, |c| eval(&c.expr, ctx).tri());
        match applies {
            Tri::False => Verdict::NotApplicable,
            Tri::Unknown => Verdict::NotComputable(true),
            Tri::True => match eval(&ind.condition.expr, ctx).tri() {
                Tri::True => Verdict::Fired,
                Tri::False => Verdict::Passed,
                Tri::Unknown => Verdict::NotComputable(false),
            },
        }
    }

    fn run(&self, ctx: &Ctx<'_>, supplier_only: bool, fetched_at: Option<NaiveDateTime>) -> Assessment {
        self.run_scored(ctx, supplier_only, fetched_at).0
    }

    /// The assessment, and its compact score (the same as [`RuleSet::score`]'s: the property
    /// tests in `tests/risk_rules.rs` compare them).
    fn run_scored(
        &self,
        ctx: &Ctx<'_>,
        supplier_only: bool,
        fetched_at: Option<NaiveDateTime>,
    ) -> (Assessment, Score<'_>) {
        // Sized once: growing three vectors per contract shows up in bulk rescoring. Four
        // findings each (rarely exceeded) keep the blocks within malloc's per-thread cache.
        let n = self.indicators.len();
        let mut fired = Vec::with_capacity(n.min(4));
        let mut not_computable = Vec::with_capacity(n.min(4));
        let mut passed = Vec::with_capacity(n);
        let mut score = 0u32;
        let mut unknown_weight = 0u32;
        let (mut fired_bits, mut passed_bits, mut not_computable_bits) = (0u128, 0u128, 0u128);
        for (i, ind) in self.indicators.iter().enumerate() {
            let bit = 1u128 << i;
            match self.verdict(ctx, ind, supplier_only) {
                Verdict::NotApplicable => {}
                Verdict::Fired => {
                    fired_bits |= bit;
                    score = score.saturating_add(ind.weight);
                    fired.push(self.finding(ctx, ind, None));
                }
                Verdict::Passed => {
                    passed_bits |= bit;
                    passed.push(ind.prepared.id.clone());
                }
                Verdict::NotComputable(in_applies_when) => {
                    not_computable_bits |= bit;
                    unknown_weight = unknown_weight.saturating_add(ind.weight);
                    let reason = self.not_computable_reason(ctx, ind, in_applies_when);
                    not_computable.push(self.finding(ctx, ind, Some(reason)));
                }
            }
        }
        let industries = match ctx.union_inds {
            Ok(m) => self
                .texts
                .industries
                .iter()
                .enumerate()
                .filter(|(i, _)| m & (1u64 << i) != 0)
                .map(|(_, id)| id.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        let approvals_loaded_at = self
            .approvals_loaded_at(ctx)
            .into_iter()
            .map(|(r, t)| (r.to_owned(), t))
            .collect();
        let compact = Score {
            score,
            max_possible_score: score.saturating_add(unknown_weight),
            tier: self.tier_for(score),
            fired: fired_bits,
            passed: passed_bits,
            not_computable: not_computable_bits,
        };
        let assessment = Assessment {
            score,
            max_possible_score: score.saturating_add(unknown_weight),
            tier: tiers::tier_index(&self.tiers, score)
                .and_then(|i| self.texts.tiers.get(i))
                .cloned()
                .unwrap_or_default(),
            industries,
            fired,
            not_computable,
            passed,
            rule_set_version: self.texts.version.clone(),
            as_of: ctx.as_of,
            facts_fetched_at: fetched_at,
            approvals_loaded_at,
        };
        (assessment, compact)
    }

    fn finding(&self, ctx: &Ctx<'_>, ind: &Indicator, reason: Option<String>) -> Finding {
        let p = &ind.prepared;
        let evidence = p
            .evidence
            .iter()
            .map(|(name, r)| (name.clone(), self.ref_value(ctx, r).1.to_json()))
            .collect();
        Finding {
            rule: p.id.clone(),
            title: p.title.clone(),
            weight: ind.weight,
            why: p.why.clone(),
            source: p.source.clone(),
            evidence: Evidence::from_sorted(evidence),
            reason,
        }
    }

    fn ref_value<'c>(&'c self, ctx: &'c Ctx<'_>, r: &'c Ref) -> (&'c str, Val<'c>) {
        match r {
            Ref::Field(f, name) => (name, ctx.get(*f)),
            Ref::Param(i, name) => (
                name,
                self.params
                    .get(*i)
                    .and_then(|p| p.value_at(ctx.as_of))
                    .map_or(Val::Missing(Miss::NoSource), |v| Val::num(v.value)),
            ),
            Ref::Extra(k, name) => (
                name,
                match ctx.contract {
                    Some(c) => Val::opt_str(c.extras.get(k).map(String::as_str)),
                    None => Val::Missing(Miss::NoSource),
                },
            ),
        }
    }

    /// Why a condition could not be decided: each missing input with its reason; when
    /// nothing is missing, the interval (hidden employee band) or computation that left
    /// it open.
    /// What each input of `conds` adds to the reason they could not be decided, in order:
    /// what [`reason`](Self::reason) writes and [`reason_key`](Self::reason_key) keys.
    fn reason_inputs<'c>(
        &'c self,
        ctx: &'c Ctx<'_>,
        conds: impl Iterator<Item = &'c Condition>,
    ) -> impl Iterator<Item = ReasonInput<'c>> {
        conds.flat_map(|c| &c.refs).map(|r| {
            let (name, val) = self.ref_value(ctx, r);
            match (val, r) {
                (Val::Missing(_), Ref::Field(f, _)) => ReasonInput::Missing(name, ctx.missing_reason(*f)),
                (Val::Missing(_), Ref::Param(..)) => ReasonInput::NoParamValue(name),
                (Val::Missing(_), Ref::Extra(k, _)) => ReasonInput::NoColumn(name, k),
                (val @ Val::Num(lo, hi), _) if lo != hi => {
                    ReasonInput::Interval(name, val.to_json().to_string())
                }
                _ => ReasonInput::Known,
            }
        })
    }

    /// Writes into `key` what the reason indicator `i` could not be computed (in its
    /// `applies_when`, or its condition) depends on: this rule set, the indicator, the date
    /// and each input's state. Equal keys make equal reasons (see
    /// [`Interner::intern_made`](super::record::Interner::intern_made)).
    fn reason_key(&self, ctx: &Ctx<'_>, i: usize, in_applies_when: bool, key: &mut Vec<u8>) {
        let text = |key: &mut Vec<u8>, t: &str| {
            key.extend_from_slice(&t.len().to_le_bytes());
            key.extend_from_slice(t.as_bytes());
        };
        key.clear();
        text(key, &self.version);
        key.extend_from_slice(&(i as u32).to_le_bytes());
        key.push(u8::from(in_applies_when));
        key.extend_from_slice(&ctx.as_of.num_days_from_ce().to_le_bytes());
        let conds = self.reason_conditions(&self.indicators[i], in_applies_when);
        for input in self.reason_inputs(ctx, conds) {
            match input {
                ReasonInput::Known => key.push(0),
                // A text in the program, known by where it is.
                ReasonInput::Missing(_, Cow::Borrowed(why)) => {
                    key.push(1);
                    key.extend_from_slice(&(why.as_ptr() as usize).to_le_bytes());
                    key.extend_from_slice(&why.len().to_le_bytes());
                }
                ReasonInput::Missing(_, Cow::Owned(why)) => {
                    key.push(2);
                    text(key, &why);
                }
                ReasonInput::NoParamValue(_) => key.push(3),
                ReasonInput::NoColumn(..) => key.push(4),
                ReasonInput::Interval(_, json) => {
                    key.push(5);
                    text(key, &json);
                }
            }
        }
    }

    fn reason<'c>(&'c self, ctx: &'c Ctx<'_>, conds: impl Iterator<Item = &'c Condition>) -> String {
        use std::fmt::Write as _;
        // The missing inputs are written straight into the result (the common case); the
        // intervals are collected only in case nothing is missing.
        let mut parts = String::with_capacity(160);
        let mut intervals = Vec::new();
        for input in self.reason_inputs(ctx, conds) {
            let sep = if parts.is_empty() { "" } else { "; " };
            // Writing to a String cannot fail.
            let _ = match input {
                ReasonInput::Missing(name, why) => write!(parts, "{sep}{name}: {why}"),
                ReasonInput::NoParamValue(name) => write!(
                    parts,
                    "{sep}{name}: ingen verdi gyldig {}",
                    ctx.as_of.format("%d.%m.%Y")
                ),
                ReasonInput::NoColumn(name, k) => write!(parts, "{sep}{name}: kolonnen «{k}» mangler"),
                ReasonInput::Interval(name, json) => {
                    intervals.push(format!("{name} er bare kjent som {json}"));
                    Ok(())
                }
                ReasonInput::Known => Ok(()),
            };
        }
        if !parts.is_empty() {
            parts
        } else if !intervals.is_empty() {
            format!(
                "{} (skjult i registeret), og det avgjør ikke vilkåret",
                intervals.join("; ").replace('"', "")
            )
        } else {
            "vilkåret kunne ikke avgjøres (f.eks. deling på null)".to_owned()
        }
    }
}

/// What one input of a condition adds to the reason it could not be decided
/// ([`RuleSet::reason`]): its name with why it is missing, or the interval it is known as.
enum ReasonInput<'c> {
    Known,
    Missing(&'c str, Cow<'static, str>),
    NoParamValue(&'c str),
    NoColumn(&'c str, &'c str),
    Interval(&'c str, String),
}
