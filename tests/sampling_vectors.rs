//! Golden vectors and properties of the verifiable draw (`rivest-counter+consistent-sampler/v1`).
//! A failing golden vector means a draw would no longer replay: never "fix" a vector, fix
//! the code (or publish a new algorithm version).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use spotcheck::sampling::uniform::{sampler, sha256_uniform, ticket};
use spotcheck::sampling::weighted::{MISS_BUDGET_BASE, counter_value, with_replacement};
use spotcheck::sampling::{
    ALGORITHM, Allocation, DrawPlan, DrawRecord, Manifest, ManifestEntry, Part, Pick, SamplingError,
    UniformShare, VerifyProblem, allocate, draw, extend, verify,
};

fn entry(stratum: &str, id: &str, weight: u64) -> ManifestEntry {
    ManifestEntry {
        stratum: stratum.to_owned(),
        id: id.to_owned(),
        weight,
    }
}

fn ids(picks: &[Pick]) -> Vec<&str> {
    picks.iter().map(|p| p.id.as_str()).collect()
}

/// ids "0001".."N" (zero-padded so byte order is numeric order), weight 1, stratum "all".
fn numbered(n: usize, width: usize) -> Manifest {
    Manifest::new(
        (1..=n)
            .map(|i| entry("all", &format!("{i:0width$}"), 1))
            .collect(),
    )
    .unwrap()
}

/// Two strata with varied weights, used by several tests.
fn two_strata() -> Manifest {
    let mut e = Vec::new();
    for i in 1..=30u64 {
        e.push(entry("bygg", &format!("K-2026-{i:06}"), 1 + (i * 7) % 10));
        e.push(entry(
            "renhold",
            &format!("K-2026-{:06}", 100 + i),
            1 + (i * 3) % 5,
        ));
    }
    Manifest::new(e).unwrap()
}

// ---------------------------------------------------------------------------------------
// Golden vectors
// ---------------------------------------------------------------------------------------

#[test]
fn golden_counter_mode_primitive_rivest() {
    // Rivest's own test: uniform weights over 1..1000, with replacement, seed "0".
    let cumulative: Vec<u64> = (1..=1000).collect();
    let picks = with_replacement("0", &cumulative, 3).unwrap();
    let values: Vec<usize> = picks.iter().map(|&(_, i)| i + 1).collect();
    assert_eq!(values, vec![905, 573, 160]);
    assert_eq!(counter_value("0", 1, 1000).unwrap(), 904);
}

#[test]
fn golden_counter_mode_without_replacement_sampler_py_transcript() {
    // The transcript in sampler.py (2011): a=1, b=876, 47 picks without replacement; count
    // 32 gives 611 again, which is rejected, and the count goes on.
    let manifest = numbered(876, 3);
    let seed = "3546311556112163624615351222";
    let picks = draw(&manifest, seed, &DrawPlan::single(47, 0)).unwrap();
    let got: Vec<u32> = picks.iter().map(|p| p.id.parse().unwrap()).collect();
    let expected = vec![
        740, 180, 264, 789, 238, 448, 272, 611, 761, 208, 596, 88, 160, 113, 766, 427, 184, 816, 653, 411,
        779, 331, 339, 487, 594, 235, 65, 527, 821, 490, 461, 251, 471, 414, 174, 567, 300, 134, 144, 357,
        786, 792, 218, 550, 787, 537, 197,
    ];
    assert_eq!(got, expected);
    assert_eq!(picks[30].part, Part::Weighted { counter: 31 });
    assert_eq!(
        picks[31].part,
        Part::Weighted { counter: 33 },
        "count 32 was a repeat"
    );
    assert_eq!(picks[46].part, Part::Weighted { counter: 48 });
}

#[test]
fn golden_consistent_sampler() {
    let population = ["A-1", "A-2", "A-3", "B-1", "B-2", "B-3"];
    // sampler(..., seed=314159, take=4): Python str(314159) is "314159".
    assert_eq!(sampler(&population, "314159", 4), ["B-2", "B-3", "A-3", "A-2"]);
    // The same through the draw (one stratum: the stratum seed is the seed).
    let manifest = Manifest::new(population.iter().map(|id| entry("all", id, 1)).collect()).unwrap();
    let picks = draw(&manifest, "314159", &DrawPlan::single(0, 4)).unwrap();
    assert_eq!(ids(&picks), ["B-2", "B-3", "A-3", "A-2"]);
    // Full tickets, as consistent_sampler 1.0.10 prints them with digits=200.
    assert_eq!(
        picks[0].part,
        Part::Uniform {
            ticket: "0.41031085809072903514872000896790351462382130463015916888993860148207487365068"
                .to_owned()
        }
    );
    assert_eq!(
        picks[2].part,
        Part::Uniform {
            ticket: "0.471438751218990090280329669693328441199477360893518597933960833853618655507601"
                .to_owned()
        },
        "a 78-digit ticket"
    );
}

#[test]
fn golden_sha256_uniform_and_first_fraction() {
    assert_eq!(
        sha256_uniform("abc"),
        "0.56998071861792858926477341561059638840106636224182943832566300809078486324348"
    );
    // consistent_sampler docstring: first_fraction('AB-130', '01382438112797316654').
    assert_eq!(
        ticket("01382438112797316654", "AB-130"),
        "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"
    );
}

#[test]
fn golden_pypi_cross_check_with_stratum_seed() {
    // Computed with PyPI consistent_sampler 1.0.10:
    //   sampler(['K-2026-%06d' % i for i in range(1, 41)], seed='kontroll-2026-Q1/renhold',
    //           take=12, output='id')
    // A manifest with two strata uses the stratum seed seed + "/" + stratum.
    let mut e: Vec<ManifestEntry> = (1..=40)
        .map(|i| entry("renhold", &format!("K-2026-{i:06}"), 1))
        .collect();
    e.push(entry("bygg", "K-2026-999999", 1));
    let manifest = Manifest::new(e).unwrap();
    let plan = DrawPlan::default().with("renhold", 0, 12);
    let picks = draw(&manifest, "kontroll-2026-Q1", &plan).unwrap();
    let expected = [
        "K-2026-000008",
        "K-2026-000023",
        "K-2026-000034",
        "K-2026-000007",
        "K-2026-000028",
        "K-2026-000004",
        "K-2026-000011",
        "K-2026-000005",
        "K-2026-000040",
        "K-2026-000030",
        "K-2026-000001",
        "K-2026-000039",
    ];
    assert_eq!(ids(&picks), expected);
    assert_eq!(
        picks[0].part,
        Part::Uniform {
            ticket: "0.01280683978549599970583559112965122844438252454598544950713146160918033239062"
                .to_owned()
        }
    );
}

#[test]
fn golden_full_draw_is_stable() {
    // Pins a mixed, stratified draw end to end (cross-checked with docs/draws_verify.py).
    let manifest = two_strata();
    let plan = DrawPlan::default().with("bygg", 2, 2).with("renhold", 1, 2);
    let picks = draw(&manifest, "2026-11-29 offentlig trekning", &plan).unwrap();
    let got: Vec<String> = picks
        .iter()
        .map(|p| match &p.part {
            Part::Weighted { counter } => {
                format!("{} {} {} w{counter}", p.position, p.stratum, p.id)
            }
            Part::Uniform { ticket } => {
                format!("{} {} {} u{}", p.position, p.stratum, p.id, &ticket[..12])
            }
        })
        .collect();
    insta_like(&got, GOLDEN_FULL_DRAW);
    assert_eq!(
        manifest.sha256_hex(),
        "da48e34f7c1c38b80d8bc43ebb704887a985bddc4d404af0567f9de434f517eb"
    );
}

/// Cross-checked with `python3 docs/draws_verify.py` (same manifest, seed and plan).
const GOLDEN_FULL_DRAW: &[&str] = &[
    "1 bygg K-2026-000007 w1",
    "2 bygg K-2026-000008 w2",
    "3 bygg K-2026-000030 u0.0958617609",
    "4 bygg K-2026-000017 u0.0967488190",
    "5 renhold K-2026-000125 w1",
    "6 renhold K-2026-000122 u0.0087890318",
    "7 renhold K-2026-000118 u0.0163301046",
];

fn insta_like(got: &[String], expected: &[&str]) {
    if expected.is_empty() {
        panic!("fill in the golden vector:\n{got:#?}");
    }
    assert_eq!(got, expected);
}

// ---------------------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------------------

#[test]
fn manifest_text_round_trip_and_hash() {
    let manifest = two_strata();
    let text = manifest.to_text();
    assert!(text.ends_with('\n'));
    assert!(text.starts_with("bygg\tK-2026-000001\t8\n"));
    let again = Manifest::parse(&text).unwrap();
    assert_eq!(again, manifest);
    assert_eq!(again.to_text(), text);
    assert_eq!(manifest.sha256_hex(), spotcheck::sampling::sha256_hex(&text));
    assert_eq!(manifest.len(), 60);
    assert_eq!(manifest.strata().len(), 2);
    assert_eq!(manifest.strata()[0].name(), "bygg");
    // Known hash of a tiny manifest (sha256 of "all\tA\t1\n").
    let tiny = Manifest::new(vec![entry("all", "A", 1)]).unwrap();
    assert_eq!(tiny.to_text(), "all\tA\t1\n");
    assert_eq!(tiny.sha256_hex(), spotcheck::sampling::sha256_hex("all\tA\t1\n"));
}

#[test]
fn manifest_sorts_byte_wise() {
    let m = Manifest::new(vec![
        entry("b", "ø-1", 1),
        entry("b", "z-1", 1),
        entry("a", "a-10", 2),
        entry("a", "a-9", 3),
        entry("a", "A-1", 1),
    ])
    .unwrap();
    assert_eq!(
        m.to_text(),
        "a\tA-1\t1\na\ta-10\t2\na\ta-9\t3\nb\tz-1\t1\nb\tø-1\t1\n"
    );
}

#[test]
fn manifest_rejects_bad_input() {
    let line_err = |text: &str| match Manifest::parse(text) {
        Err(SamplingError::ManifestLine { line, reason }) => (line, reason),
        other => panic!("{text:?}: {other:?}"),
    };
    assert_eq!(Manifest::parse(""), Err(SamplingError::EmptyManifest));
    assert!(line_err("all\tA\t1").1.contains("newline"));
    assert!(line_err("all\tA\t1\r\n").1.contains("carriage return"));
    assert_eq!(line_err("all\tB\t1\nall\tA\t1\n").0, 2);
    assert!(line_err("all\tA\t1\nall\tA\t2\n").1.contains("twice"));
    assert!(line_err("all\tA\t0\n").1.contains("0"));
    assert!(line_err("all\tA\t07\n").1.contains("leading zero"));
    assert!(line_err("all\tA\t-1\n").1.contains("positive"));
    assert!(line_err("all\tA\t18446744073709551616\n").1.contains("larger"));
    assert!(line_err("all\tA\n").1.contains("3 fields"));
    assert!(line_err("all\tA\t1\textra\n").1.contains("3 fields"));
    assert!(line_err("all\t\t1\n").1.contains("empty"));
    assert!(line_err("b\tA\t1\na\tB\t1\n").1.contains("sorted"));
    assert!(line_err("a\tA\t1\nb\tB\t1\na\tC\t1\n").1.contains("together"));
    assert!(line_err("\n").1.contains("3 fields"));
    assert!(matches!(
        Manifest::parse("a\tX\t1\nb\tX\t1\n"),
        Err(SamplingError::DuplicateId { .. })
    ));
    assert!(matches!(
        Manifest::parse("all\tA\t18446744073709551615\nall\tB\t1\n"),
        Err(SamplingError::ManifestLine { .. }) | Err(SamplingError::WeightOverflow)
    ));

    assert_eq!(Manifest::new(vec![]), Err(SamplingError::EmptyManifest));
    assert!(matches!(
        Manifest::new(vec![entry("all", "A\tB", 1)]),
        Err(SamplingError::InvalidName {
            reason: "must not contain a TAB",
            ..
        })
    ));
    assert!(matches!(
        Manifest::new(vec![entry("all", "A\nB", 1)]),
        Err(SamplingError::InvalidName { .. })
    ));
    assert!(matches!(
        Manifest::new(vec![entry("", "A", 1)]),
        Err(SamplingError::InvalidName { .. })
    ));
    let zero = Manifest::new(vec![entry("renhold", "K-1", 0)]).unwrap_err();
    assert!(zero.to_string().contains("weight 0"), "{zero}");
    assert!(matches!(
        Manifest::new(vec![entry("a", "X", 1), entry("b", "X", 1)]),
        Err(SamplingError::DuplicateId { .. })
    ));
    assert!(matches!(
        Manifest::new(vec![entry("a", "X", 1), entry("a", "X", 2)]),
        Err(SamplingError::DuplicateId { .. })
    ));
}

#[test]
fn bad_seed_and_plan_are_errors() {
    let m = two_strata();
    assert!(matches!(
        draw(&m, "", &DrawPlan::default()),
        Err(SamplingError::InvalidSeed(_))
    ));
    assert!(matches!(
        draw(&m, "abc\n", &DrawPlan::default()),
        Err(SamplingError::InvalidSeed(_))
    ));
    assert_eq!(
        draw(&m, "s", &DrawPlan::default().with("bilpleie", 1, 1)),
        Err(SamplingError::UnknownStratum("bilpleie".to_owned()))
    );
}

// ---------------------------------------------------------------------------------------
// Draw behaviour
// ---------------------------------------------------------------------------------------

#[test]
fn order_is_strata_by_name_weighted_then_uniform() {
    let m = two_strata();
    let plan = DrawPlan::default().with("renhold", 2, 3).with("bygg", 3, 2);
    let picks = draw(&m, "seed", &plan).unwrap();
    let shape: Vec<(&str, bool)> = picks
        .iter()
        .map(|p| (p.stratum.as_str(), matches!(p.part, Part::Weighted { .. })))
        .collect();
    let expected = [
        ("bygg", true),
        ("bygg", true),
        ("bygg", true),
        ("bygg", false),
        ("bygg", false),
        ("renhold", true),
        ("renhold", true),
        ("renhold", false),
        ("renhold", false),
        ("renhold", false),
    ];
    assert_eq!(shape, expected);
    assert!(picks.iter().enumerate().all(|(i, p)| p.position == i as u64 + 1));
    let distinct: BTreeSet<&str> = picks.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(distinct.len(), picks.len());
}

#[test]
fn sizes_are_capped_and_uniform_gives_way() {
    let m = Manifest::new((1..=6).map(|i| entry("all", &format!("K-{i}"), i)).collect()).unwrap();
    let picks = draw(&m, "seed", &DrawPlan::single(4, 5)).unwrap();
    assert_eq!(picks.len(), 6);
    let weighted = picks
        .iter()
        .filter(|p| matches!(p.part, Part::Weighted { .. }))
        .count();
    assert_eq!(weighted, 4);
    // Ask for more than everything: all weighted, heaviest first (exhaustion rule 1).
    let all = draw(&m, "seed", &DrawPlan::single(9, 9)).unwrap();
    assert_eq!(ids(&all), ["K-6", "K-5", "K-4", "K-3", "K-2", "K-1"]);
    assert!(all.iter().all(|p| p.part == Part::Weighted { counter: 0 }));
}

#[test]
fn exhaustion_rule_1_heaviest_first_ties_in_manifest_order() {
    let m = Manifest::new(vec![
        entry("all", "a", 2),
        entry("all", "b", 3),
        entry("all", "c", 5),
        entry("all", "d", 3),
        entry("all", "e", 1),
    ])
    .unwrap();
    let picks = draw(&m, "x", &DrawPlan::single(5, 0)).unwrap();
    assert_eq!(ids(&picks), ["c", "b", "d", "a", "e"]);
    // Four of five: counting is used, not the rule.
    let four = draw(&m, "x", &DrawPlan::single(4, 0)).unwrap();
    assert!(
        four.iter()
            .all(|p| matches!(p.part, Part::Weighted { counter } if counter > 0))
    );
}

#[test]
fn exhaustion_rule_2_stops_stalled_counting_and_extension_continues() {
    // One contract holds nearly all the weight: once it is picked, a hit on anything else
    // takes ~10^13 counts. The miss budget stops counting after 100 000 + w misses.
    let mut e = vec![entry("all", "heavy", 1_000_000_000_000_000)];
    e.extend((1..=49).map(|i| entry("all", &format!("light-{i:02}"), 1 + i % 3)));
    let m = Manifest::new(e).unwrap();
    let first = draw(&m, "stall", &DrawPlan::single(3, 1)).unwrap();
    assert_eq!(first[0].id, "heavy");
    assert!(matches!(first[0].part, Part::Weighted { counter } if counter > 0));
    // Then the two heaviest light ones (weight 3: light-02, light-05), counter 0.
    assert_eq!(ids(&first[1..3]), ["light-02", "light-05"]);
    assert!(
        first[1..3]
            .iter()
            .all(|p| p.part == Part::Weighted { counter: 0 })
    );
    assert!(matches!(first[3].part, Part::Uniform { .. }));
    // Later rounds stay heaviest-first for the weighted part.
    let more = extend(&m, "stall", &first, &DrawPlan::single(2, 0)).unwrap();
    assert!(more.iter().all(|p| p.part == Part::Weighted { counter: 0 }));
    assert_eq!(more[0].position, 5);
    let plans = [DrawPlan::single(3, 1), DrawPlan::single(2, 0)];
    let all: Vec<Pick> = first.iter().chain(&more).cloned().collect();
    let report = verify(&m.to_text(), &m.sha256_hex(), "stall", &plans, &all);
    assert!(report.is_ok(), "{report}");
    assert_eq!(MISS_BUDGET_BASE, 100_000);
}

#[test]
fn pick_json_shape() {
    let w = Pick {
        position: 1,
        stratum: "renhold".into(),
        id: "K-1".into(),
        part: Part::Weighted { counter: 7 },
    };
    let u = Pick {
        position: 2,
        stratum: "renhold".into(),
        id: "K-2".into(),
        part: Part::Uniform {
            ticket: "0.123".into(),
        },
    };
    let jw = serde_json::to_string(&w).unwrap();
    let ju = serde_json::to_string(&u).unwrap();
    assert_eq!(
        jw,
        r#"{"position":1,"stratum":"renhold","id":"K-1","part":"weighted","counter":7}"#
    );
    assert_eq!(
        ju,
        r#"{"position":2,"stratum":"renhold","id":"K-2","part":"uniform","ticket":"0.123"}"#
    );
    assert_eq!(serde_json::from_str::<Pick>(&jw).unwrap(), w);
    assert_eq!(serde_json::from_str::<Pick>(&ju).unwrap(), u);
    let plan = DrawPlan::default().with("all", 2, 3);
    assert_eq!(
        serde_json::to_string(&plan).unwrap(),
        r#"{"per_stratum":{"all":{"weighted":2,"uniform":3}}}"#
    );
}

// ---------------------------------------------------------------------------------------
// Extension
// ---------------------------------------------------------------------------------------

#[test]
fn extension_keeps_earlier_picks_and_continues_sequences() {
    let m = two_strata();
    let seed = "utvidelse";
    // Weighted only: the counter continues, so draw(3) + extend(4) == draw(7).
    let p3 = DrawPlan::default().with("bygg", 3, 0);
    let p4 = DrawPlan::default().with("bygg", 4, 0);
    let first = draw(&m, seed, &p3).unwrap();
    let more = extend(&m, seed, &first, &p4).unwrap();
    let whole = draw(&m, seed, &DrawPlan::default().with("bygg", 7, 0)).unwrap();
    assert_eq!([first.clone(), more].concat(), whole);
    // Uniform only: ticket order continues.
    let first = draw(&m, seed, &DrawPlan::default().with("renhold", 0, 4)).unwrap();
    let more = extend(&m, seed, &first, &DrawPlan::default().with("renhold", 0, 6)).unwrap();
    let whole = draw(&m, seed, &DrawPlan::default().with("renhold", 0, 10)).unwrap();
    assert_eq!([first, more].concat(), whole);
}

#[test]
fn mixed_extension_equals_larger_draw_exactly_when_no_uniform_pick_is_hit() {
    // Documented rule: round 1 + round 2 pick the same (stratum, id, part, evidence) as one
    // draw with the summed plan, unless the larger draw's extra weighted picks include a
    // contract round 1 took uniformly.
    let m = two_strata();
    let p1 = DrawPlan::default().with("bygg", 2, 4).with("renhold", 1, 3);
    let p2 = DrawPlan::default().with("bygg", 2, 2).with("renhold", 2, 1);
    let (mut same, mut differ) = (0, 0);
    for k in 0..60 {
        let seed = format!("seed-{k}");
        let mut record = DrawRecord::new(&m, &seed, p1.clone()).unwrap();
        let first = record.picks.clone();
        let new = record.extend(&m, p2.clone()).unwrap().to_vec();
        assert_eq!(&record.picks[..first.len()], &first[..], "earlier picks kept");
        assert_eq!(new[0].position, first.len() as u64 + 1);
        assert!(record.verify(&m.to_text()).is_ok());

        let whole = draw(&m, &seed, &DrawPlan::cumulative(&[p1.clone(), p2.clone()])).unwrap();
        let key = |p: &Pick| (p.stratum.clone(), p.id.clone(), p.part.clone());
        let ext_set: HashSet<_> = record.picks.iter().map(key).collect();
        let whole_set: HashSet<_> = whole.iter().map(key).collect();
        // Condition: round-1 uniform ids ∩ the larger draw's weighted picks beyond round 1.
        let round1_uniform: BTreeSet<&str> = first
            .iter()
            .filter(|p| matches!(p.part, Part::Uniform { .. }))
            .map(|p| p.id.as_str())
            .collect();
        let mut hit = false;
        for (stratum, w1) in [("bygg", 2), ("renhold", 1)] {
            let extra = whole
                .iter()
                .filter(|p| p.stratum == stratum && matches!(p.part, Part::Weighted { .. }))
                .skip(w1);
            hit |= extra.into_iter().any(|p| round1_uniform.contains(p.id.as_str()));
        }
        assert_eq!(ext_set == whole_set, !hit, "seed {seed}");
        if hit { differ += 1 } else { same += 1 }
    }
    assert!(same > 0 && differ > 0, "both cases occur ({same}/{differ})");
}

#[test]
fn extend_rejects_inconsistent_previous_picks() {
    let m = two_strata();
    let first = draw(&m, "s", &DrawPlan::default().with("bygg", 2, 2)).unwrap();
    let mut bad = first.clone();
    bad[1].id = "K-2026-999999".into();
    assert!(matches!(
        extend(&m, "s", &bad, &DrawPlan::default()),
        Err(SamplingError::InvalidPreviousPick { index: 1, .. })
    ));
    let mut dup = first.clone();
    dup[1].id = dup[0].id.clone();
    assert!(extend(&m, "s", &dup, &DrawPlan::default()).is_err());
    let mut gap = first;
    gap[2].position = 7;
    assert!(extend(&m, "s", &gap, &DrawPlan::default()).is_err());
}

// ---------------------------------------------------------------------------------------
// Verify
// ---------------------------------------------------------------------------------------

fn recorded_draw() -> (Manifest, DrawRecord) {
    let m = two_strata();
    let mut record = DrawRecord::new(
        &m,
        "verify-seed",
        DrawPlan::default().with("bygg", 3, 3).with("renhold", 2, 2),
    )
    .unwrap();
    record
        .extend(&m, DrawPlan::default().with("bygg", 1, 1).with("renhold", 1, 1))
        .unwrap();
    (m, record)
}

#[test]
fn verify_accepts_the_genuine_draw() {
    let (m, record) = recorded_draw();
    let report = record.verify(&m.to_text());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.recomputed_picks, 14);
    assert!(report.reason().contains("all 14 picks"));
    assert_eq!(record.algorithm, ALGORITHM);
    // And after a JSON round trip (what the service stores).
    let json = serde_json::to_string(&record).unwrap();
    let back: DrawRecord = serde_json::from_str(&json).unwrap();
    assert!(back.verify(&m.to_text()).is_ok());
}

#[test]
fn verify_fails_on_changed_manifest() {
    let (m, record) = recorded_draw();
    let text = m.to_text().replacen("\t8\n", "\t9\n", 1);
    let report = record.verify(&text);
    assert!(
        matches!(report.problem, Some(VerifyProblem::ManifestHash { .. })),
        "{report}"
    );
    assert!(report.reason().contains("not the published one"));
    // Even if someone also replaces the recorded hash, the picks no longer match.
    let mut forged = record.clone();
    forged.manifest_sha256 = spotcheck::sampling::sha256_hex(&text);
    let report = forged.verify(&text);
    assert!(!report.is_ok());
    assert!(
        matches!(report.problem, Some(VerifyProblem::PickMismatch { .. })),
        "{report}"
    );
    // A non-canonical manifest text is reported as such.
    let unsorted = "all\tB\t1\nall\tA\t1\n";
    let report = verify(
        unsorted,
        &spotcheck::sampling::sha256_hex(unsorted),
        "s",
        &[DrawPlan::single(1, 0)],
        &[],
    );
    assert!(
        matches!(report.problem, Some(VerifyProblem::Manifest { .. })),
        "{report}"
    );
}

#[test]
fn verify_fails_on_changed_seed() {
    let (m, mut record) = recorded_draw();
    record.seed = "verify-seeD".into();
    let report = record.verify(&m.to_text());
    match &report.problem {
        Some(VerifyProblem::PickMismatch { index: 0, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn verify_fails_on_changed_pick_and_names_the_field() {
    let (m, record) = recorded_draw();
    let text = m.to_text();
    let check = |mutate: &dyn Fn(&mut Vec<Pick>), field: &str, index: usize| {
        let mut r = record.clone();
        mutate(&mut r.picks);
        let report = r.verify(&text);
        match &report.problem {
            Some(VerifyProblem::PickMismatch {
                index: i, field: f, ..
            }) => {
                assert_eq!((*i, *f), (index, field), "{report}");
            }
            other => panic!("{field}: {other:?}"),
        }
        assert!(
            report.reason().contains(&format!("pick {}", index + 1)),
            "{report}"
        );
    };
    check(&|p| p[4].id = "K-2026-000999".into(), "id", 4);
    check(&|p| p.swap(0, 1), "position", 0);
    check(
        &|p| {
            if let Part::Weighted { counter } = &mut p[1].part {
                *counter += 1;
            }
        },
        "counter",
        1,
    );
    check(
        &|p| {
            if let Part::Uniform { ticket } = &mut p[3].part {
                ticket.push('1');
            }
        },
        "ticket",
        3,
    );
    check(&|p| p[3].part = Part::Weighted { counter: 5 }, "part", 3);
    check(&|p| p[9].stratum = "bygg".into(), "stratum", 9);

    let mut short = record.clone();
    short.picks.pop();
    assert!(matches!(
        short.verify(&text).problem,
        Some(VerifyProblem::MissingPicks { .. })
    ));
    let mut long = record.clone();
    let mut extra = long.picks[0].clone();
    extra.position = 15;
    long.picks.push(extra);
    assert!(matches!(
        long.verify(&text).problem,
        Some(VerifyProblem::ExtraPicks { .. })
    ));
    // Plans are evidence too: dropping the extension's plan is caught.
    let mut fewer = record.clone();
    fewer.plans.pop();
    assert!(!fewer.verify(&text).is_ok());
    let mut algo = record;
    algo.algorithm = "sha256-rank-v1".into();
    assert!(matches!(
        algo.verify(&text).problem,
        Some(VerifyProblem::Algorithm { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------------------

fn strata_manifest(sizes: &[(&str, usize, u64)]) -> Manifest {
    let mut e = Vec::new();
    for (name, n, w) in sizes {
        for i in 0..*n {
            e.push(entry(name, &format!("{name}-{i:05}"), *w));
        }
    }
    Manifest::new(e).unwrap()
}

fn sizes_of(plan: &DrawPlan) -> BTreeMap<String, u64> {
    plan.per_stratum
        .iter()
        .map(|(k, v)| (k.clone(), v.total()))
        .collect()
}

#[test]
fn allocation_examples() {
    let m = strata_manifest(&[("a", 990, 1), ("b", 10, 1)]);
    let p = allocate(&m, 100, UniformShare::HALF, Allocation::BySize, 5).unwrap();
    assert_eq!(sizes_of(&p), BTreeMap::from([("a".into(), 95), ("b".into(), 5)]));
    assert_eq!(p.per_stratum["b"].weighted, 3, "5 split half-up to weighted");

    let m = strata_manifest(&[("a", 50, 1), ("b", 30, 1), ("c", 20, 1)]);
    let p = allocate(&m, 10, UniformShare::NONE, Allocation::BySize, 0).unwrap();
    assert_eq!(
        sizes_of(&p),
        BTreeMap::from([("a".into(), 5), ("b".into(), 3), ("c".into(), 2)])
    );

    // Equal remainders: the seat goes to the stratum whose name sorts first.
    let m = strata_manifest(&[("c", 10, 1), ("a", 10, 1), ("b", 10, 1)]);
    let p = allocate(&m, 10, UniformShare::NONE, Allocation::BySize, 0).unwrap();
    assert_eq!(
        sizes_of(&p),
        BTreeMap::from([("a".into(), 4), ("b".into(), 3), ("c".into(), 3)])
    );

    // Risk mass: a has 3 × 100 points, b 100 × 1; a's share 6 exceeds its 3 contracts.
    let m = strata_manifest(&[("a", 3, 100), ("b", 100, 1)]);
    let p = allocate(&m, 8, UniformShare::NONE, Allocation::ByRiskMass, 0).unwrap();
    assert_eq!(sizes_of(&p), BTreeMap::from([("a".into(), 3), ("b".into(), 5)]));

    // Total above the population: everything.
    let p = allocate(&m, 1000, UniformShare::NONE, Allocation::ByRiskMass, 0).unwrap();
    assert_eq!(p.total(), 103);
    // Minimums above the total: the minimums win.
    let p = allocate(&m, 2, UniformShare::NONE, Allocation::BySize, 4).unwrap();
    assert_eq!(sizes_of(&p), BTreeMap::from([("a".into(), 3), ("b".into(), 4)]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn allocation_respects_minimums_caps_and_total(
        strata in prop::collection::vec((1usize..40, 1u64..100), 1..8),
        total in 0u64..300,
        min in 0u64..12,
        by_mass in any::<bool>(),
        share in 0u16..=1000,
    ) {
        let named: Vec<(String, usize, u64)> = strata
            .iter()
            .enumerate()
            .map(|(i, &(n, w))| (format!("s{i}"), n, w))
            .collect();
        let refs: Vec<(&str, usize, u64)> = named.iter().map(|(s, n, w)| (s.as_str(), *n, *w)).collect();
        let m = strata_manifest(&refs);
        let how = if by_mass { Allocation::ByRiskMass } else { Allocation::BySize };
        let share = UniformShare::from_per_mille(share).unwrap();
        let plan = allocate(&m, total, share, how, min).unwrap();
        let population: u64 = strata.iter().map(|&(n, _)| n as u64).sum();
        let minimums: u64 = strata.iter().map(|&(n, _)| (n as u64).min(min)).sum();
        prop_assert_eq!(plan.total(), total.min(population).max(minimums));
        for (name, n, _) in &named {
            let size = plan.per_stratum[name].total();
            prop_assert!(size >= (*n as u64).min(min), "minimum for {}", name);
            prop_assert!(size <= *n as u64, "cap for {}", name);
        }
        // The draw then yields exactly the planned number of picks.
        let picks = draw(&m, "alloc", &plan).unwrap();
        prop_assert_eq!(picks.len() as u64, plan.total());
    }
}

// ---------------------------------------------------------------------------------------
// Consistency (Rivest's property) and frequencies
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn uniform_sample_of_subset_is_superset_order_restricted(
        population in prop::collection::btree_set("[A-Za-z0-9æø-]{1,8}", 2..40),
        mask in prop::collection::vec(any::<bool>(), 40),
        seed in "[ -~]{1,20}",
        take in 0usize..40,
    ) {
        let all: Vec<String> = population.into_iter().collect();
        let subset: Vec<String> = all.iter().zip(&mask).filter(|(_, m)| **m).map(|(s, _)| s.clone()).collect();
        prop_assume!(!subset.is_empty());
        let manifest = |ids: &[String]| Manifest::new(ids.iter().map(|id| entry("all", id, 1)).collect()).unwrap();
        let full = draw(&manifest(&all), &seed, &DrawPlan::single(0, all.len() as u64)).unwrap();
        let in_subset: BTreeSet<&String> = subset.iter().collect();
        let restricted: Vec<&str> = full.iter().filter(|p| in_subset.contains(&p.id)).map(|p| p.id.as_str()).take(take).collect();
        let direct = draw(&manifest(&subset), &seed, &DrawPlan::single(0, take as u64)).unwrap();
        prop_assert_eq!(ids(&direct), restricted);
        // Tickets do not depend on the population either.
        for p in &direct {
            let q = full.iter().find(|q| q.id == p.id).unwrap();
            prop_assert_eq!(&p.part, &q.part);
        }
    }
}

/// Frequency bound: with S independent seeds, an inclusion indicator with probability π has
/// observed frequency f with sd σ = sqrt(π(1−π)/S). We allow |f − π| ≤ 4.5σ per id. Under a
/// correct implementation the chance that one of k ids falls outside is at most k·6.8e-6 by
/// the normal approximation (two-sided 4.5σ tail); the seeds are a fixed list, so the test
/// is deterministic. A wrong mapping (off by one in `C(i-1) <= r < C(i)`, weights ignored)
/// shifts some π by ≥ 1/W, i.e. ≥ 0.028 here, about 4–6σ, and a weight-ignoring draw moves
/// them by up to 0.097.
const SEEDS: usize = 3000;

fn within(observed: usize, p: f64, what: &str) {
    let f = observed as f64 / SEEDS as f64;
    let sigma = (p * (1.0 - p) / SEEDS as f64).sqrt();
    assert!(
        (f - p).abs() <= 4.5 * sigma,
        "{what}: observed {f:.4}, expected {p:.4} ± {:.4}",
        4.5 * sigma
    );
}

#[test]
fn weighted_inclusion_frequencies_match_weights() {
    let weights: Vec<u64> = (1..=8).collect();
    let m = Manifest::new(
        weights
            .iter()
            .map(|&w| entry("all", &format!("K-{w}"), w))
            .collect(),
    )
    .unwrap();
    let total: f64 = weights.iter().sum::<u64>() as f64;
    let p: Vec<f64> = weights.iter().map(|&w| w as f64 / total).collect();
    let mut first = [0usize; 8];
    let mut in_two = [0usize; 8];
    for k in 0..SEEDS {
        let picks = draw(&m, &format!("freq-{k}"), &DrawPlan::single(2, 0)).unwrap();
        let idx = |p: &Pick| p.id[2..].parse::<usize>().unwrap() - 1;
        first[idx(&picks[0])] += 1;
        for pick in &picks {
            in_two[idx(pick)] += 1;
        }
    }
    for i in 0..8 {
        // First pick: w_i / W.
        within(first[i], p[i], &format!("first pick K-{}", i + 1));
        // In the first two picks without replacement (successive sampling):
        // π_i = p_i + Σ_{j≠i} p_j · p_i / (1 − p_j).
        let pi2 = p[i]
            + (0..8)
                .filter(|&j| j != i)
                .map(|j| p[j] * p[i] / (1.0 - p[j]))
                .sum::<f64>();
        within(in_two[i], pi2, &format!("two picks K-{}", i + 1));
    }
}

#[test]
fn uniform_inclusion_frequencies_are_n_over_n() {
    let m = numbered(20, 2);
    let mut count = [0usize; 20];
    for k in 0..SEEDS {
        let picks = draw(&m, &format!("uni-{k}"), &DrawPlan::single(0, 5)).unwrap();
        for p in &picks {
            count[p.id.parse::<usize>().unwrap() - 1] += 1;
        }
    }
    for (i, &c) in count.iter().enumerate() {
        within(c, 5.0 / 20.0, &format!("id {}", i + 1));
    }
}

// ---------------------------------------------------------------------------------------
// Independent re-implementation (docs/draws_verify.py)
// ---------------------------------------------------------------------------------------

fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("spotcheck-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_python(args: &[&Path]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/draws_verify.py");
    assert!(script.exists(), "missing {}", script.display());
    match Command::new("python3").arg(&script).args(args).output() {
        Ok(out) => out,
        Err(e) => panic!(
            "python3 is needed to run docs/draws_verify.py and could not be started ({e}); \
             install Python 3 — this test must not be skipped"
        ),
    }
}

#[test]
fn python_reimplementation_reproduces_the_draw_and_catches_tampering() {
    // Exercise every rule: strata, both parts, a UTF-8 id, capping + exhaustion rule 1
    // (bilpleie), exhaustion rule 2 (stall), and an extension.
    let mut e = Vec::new();
    for i in 1..=40u64 {
        e.push(entry(
            "bygg og anlegg",
            &format!("K-2026-{i:06}"),
            1 + (i * 37) % 100,
        ));
    }
    for i in 1..=25u64 {
        e.push(entry("renhold", &format!("R-{i:03}"), 1 + (i * 11) % 9));
    }
    e.push(entry("renhold", "Ø-1", 4));
    e.push(entry("renhold", "Å-2", 2));
    for i in 1..=4u64 {
        e.push(entry("bilpleie", &format!("B-{i}"), i));
    }
    e.push(entry("stall", "heavy", 1_000_000_000_000_000));
    for i in 1..=9u64 {
        e.push(entry("stall", &format!("light-{i}"), i % 3 + 1));
    }
    let m = Manifest::new(e).unwrap();
    let mut record = DrawRecord::new(
        &m,
        "2026-11-29/terning 4 1 6 6 2 3",
        allocate(&m, 24, UniformShare::HALF, Allocation::ByRiskMass, 2).unwrap(),
    )
    .unwrap();
    record
        .extend(
            &m,
            DrawPlan::default()
                .with("bygg og anlegg", 3, 3)
                .with("renhold", 2, 2)
                .with("bilpleie", 5, 5)
                .with("stall", 1, 1),
        )
        .unwrap();
    assert!(record.verify(&m.to_text()).is_ok());
    assert!(
        record
            .picks
            .iter()
            .any(|p| p.part == Part::Weighted { counter: 0 })
    );

    let dir = scratch_dir("pyverify");
    let manifest_path = dir.join("manifest.tsv");
    let draw_path = dir.join("draw.json");
    std::fs::write(&manifest_path, m.to_text()).unwrap();
    std::fs::write(&draw_path, serde_json::to_string_pretty(&record).unwrap()).unwrap();

    let out = run_python(&[&manifest_path, Path::new("--check"), &draw_path]);
    assert!(
        out.status.success(),
        "python verify failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("OK: all"));

    // Tamper with one pick: the script must fail and say where.
    let mut tampered = record.clone();
    let victim = tampered
        .picks
        .iter_mut()
        .find(|p| p.stratum == "renhold")
        .unwrap();
    victim.id = if victim.id == "R-001" {
        "R-002".into()
    } else {
        "R-001".into()
    };
    std::fs::write(&draw_path, serde_json::to_string(&tampered).unwrap()).unwrap();
    let out = run_python(&[&manifest_path, Path::new("--check"), &draw_path]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("MISMATCH"));

    // Tamper with the manifest instead.
    std::fs::write(&draw_path, serde_json::to_string(&record).unwrap()).unwrap();
    std::fs::write(&manifest_path, m.to_text().replace("light-1\t2", "light-1\t3")).unwrap();
    let out = run_python(&[&manifest_path, Path::new("--check"), &draw_path]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn docs_worked_example() {
    // docs/draws.md, section 10 (and the JSON of section 9).
    let text = "bygg og anlegg\tK-2026-000101\t40\nbygg og anlegg\tK-2026-000102\t5\n\
                bygg og anlegg\tK-2026-000117\t12\nbygg og anlegg\tK-2026-000230\t3\n\
                renhold\tK-2026-000005\t25\nrenhold\tK-2026-000019\t1\nrenhold\tK-2026-000044\t8\n";
    let m = Manifest::parse(text).unwrap();
    assert_eq!(
        m.sha256_hex(),
        "de3dad9788e4e976c856131efe2a52a8a07341f1dedb916f5d5d8daeeeabdb88"
    );
    let seed = "2026-03-02 rådhuset: 3 8 1 5 0 6 2 2 7 9";
    let plan = DrawPlan::default()
        .with("bygg og anlegg", 1, 1)
        .with("renhold", 1, 1);
    let record = DrawRecord::new(&m, seed, plan).unwrap();
    let expected = serde_json::json!([
        {"position": 1, "stratum": "bygg og anlegg", "id": "K-2026-000101", "part": "weighted", "counter": 1},
        {"position": 2, "stratum": "bygg og anlegg", "id": "K-2026-000102", "part": "uniform",
         "ticket": "0.255373841899047343813900348522508716679671762956273253012879464447125288369101"},
        {"position": 3, "stratum": "renhold", "id": "K-2026-000005", "part": "weighted", "counter": 1},
        {"position": 4, "stratum": "renhold", "id": "K-2026-000044", "part": "uniform",
         "ticket": "0.20783273868734743801975001294047728362852884017623126853035247284927830863245"}
    ]);
    assert_eq!(serde_json::to_value(&record.picks).unwrap(), expected);
    assert_eq!(
        counter_value(&format!("{seed}/bygg og anlegg"), 1, 60).unwrap(),
        24
    );
    assert_eq!(counter_value(&format!("{seed}/renhold"), 1, 34).unwrap(), 17);
    // The doc's JSON record parses into a DrawRecord and verifies.
    let json = serde_json::json!({
        "algorithm": ALGORITHM, "seed": seed,
        "manifest_sha256": "de3dad9788e4e976c856131efe2a52a8a07341f1dedb916f5d5d8daeeeabdb88",
        "plans": [{"per_stratum": {"bygg og anlegg": {"weighted": 1, "uniform": 1},
                                   "renhold": {"weighted": 1, "uniform": 1}}}],
        "picks": expected,
    });
    let parsed: DrawRecord = serde_json::from_value(json).unwrap();
    assert!(parsed.verify(text).is_ok());
}
