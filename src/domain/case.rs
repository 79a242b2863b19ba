//! Cases: the review of one drawn (or flagged) contract by the A-krim partners. Pure rules:
//! the status workflow, the outcomes, the findings per indicator, four-eyes closing, who may
//! see a case and who may be assigned one. The service (`service::cases`) applies them
//! inside its write transaction and stores every step as an append-only event.
//!
//! The workflow is `ny → under_vurdering → kontrollert → lukket`. A status moves one step
//! forward or back with [`set_status`]; `lukket` is reached only through a close proposal
//! ([`propose_close`]) confirmed by a *different* person ([`confirm_close`]), and left only
//! by [`reopen`] with a reason. A closed case takes no notes, findings or assignments until
//! it is reopened, so what was closed stays what was reviewed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::liaison::{FieldError, Problem};
use super::roles::{Agency, Role};

/// The longest note or reopening reason kept (characters).
pub const TEXT_MAX: usize = 4000;

/// Where a case is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Ny,
    UnderVurdering,
    Kontrollert,
    Lukket,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 4] = [
        CaseStatus::Ny,
        CaseStatus::UnderVurdering,
        CaseStatus::Kontrollert,
        CaseStatus::Lukket,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Ny => "ny",
            CaseStatus::UnderVurdering => "under_vurdering",
            CaseStatus::Kontrollert => "kontrollert",
            CaseStatus::Lukket => "lukket",
        }
    }

    /// The Norwegian label (CLI, pages).
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Ny => "ny",
            CaseStatus::UnderVurdering => "under vurdering",
            CaseStatus::Kontrollert => "kontrollert",
            CaseStatus::Lukket => "lukket",
        }
    }

    fn rank(self) -> u8 {
        match self {
            CaseStatus::Ny => 0,
            CaseStatus::UnderVurdering => 1,
            CaseStatus::Kontrollert => 2,
            CaseStatus::Lukket => 3,
        }
    }
}

/// How a closed case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    IngenFunn,
    AvvikRettet,
    HenvistArbeidstilsynet,
    HenvistSkatteetaten,
    HenvistPolitiet,
    HenvistNav,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::IngenFunn,
        Outcome::AvvikRettet,
        Outcome::HenvistArbeidstilsynet,
        Outcome::HenvistSkatteetaten,
        Outcome::HenvistPolitiet,
        Outcome::HenvistNav,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::IngenFunn => "ingen_funn",
            Outcome::AvvikRettet => "avvik_rettet",
            Outcome::HenvistArbeidstilsynet => "henvist_arbeidstilsynet",
            Outcome::HenvistSkatteetaten => "henvist_skatteetaten",
            Outcome::HenvistPolitiet => "henvist_politiet",
            Outcome::HenvistNav => "henvist_nav",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::IngenFunn => "ingen funn",
            Outcome::AvvikRettet => "avvik rettet",
            Outcome::HenvistArbeidstilsynet => "henvist til Arbeidstilsynet",
            Outcome::HenvistSkatteetaten => "henvist til Skatteetaten",
            Outcome::HenvistPolitiet => "henvist til politiet",
            Outcome::HenvistNav => "henvist til NAV",
        }
    }
}

/// What a reviewer found for one indicator of the rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingResult {
    Bekreftet,
    IkkeBekreftet,
    IkkeKontrollert,
}

impl FindingResult {
    pub const ALL: [FindingResult; 3] = [
        FindingResult::Bekreftet,
        FindingResult::IkkeBekreftet,
        FindingResult::IkkeKontrollert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingResult::Bekreftet => "bekreftet",
            FindingResult::IkkeBekreftet => "ikke_bekreftet",
            FindingResult::IkkeKontrollert => "ikke_kontrollert",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FindingResult::Bekreftet => "bekreftet",
            FindingResult::IkkeBekreftet => "ikke bekreftet",
            FindingResult::IkkeKontrollert => "ikke kontrollert",
        }
    }
}

macro_rules! text_enum {
    ($t:ty, $problem:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = Problem;
            fn from_str(s: &str) -> Result<Self, Problem> {
                let k = s.trim().to_lowercase().replace(['-', ' '], "_");
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == k)
                    .ok_or_else(|| Problem::$problem(s.to_owned()))
            }
        }
    };
}

text_enum!(CaseStatus, UnknownCaseStatus);
text_enum!(Outcome, UnknownOutcome);
text_enum!(FindingResult, UnknownFindingResult);

/// A pending close proposal: the outcome, and who proposed it (a user id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    pub outcome: Outcome,
    pub proposed_by: i64,
}

/// The current state of a case, as the workflow rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseState {
    pub status: CaseStatus,
    pub proposal: Option<Proposal>,
}

/// A step the workflow refuses (409): `Display` is Norwegian, [`WorkflowError::english`]
/// for API clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error(
        "saken kan ikke gå fra «{from}» til «{to}»: status flyttes ett steg om gangen, og «lukket» nås bare ved forslag om lukking som en annen bekrefter"
    )]
    Step { from: CaseStatus, to: CaseStatus },
    #[error("saken har allerede status «{0}»")]
    Unchanged(CaseStatus),
    #[error("saken er lukket: gjenåpne den (med begrunnelse) før den endres")]
    Closed,
    #[error("saken må ha status «kontrollert» før lukking kan foreslås (den har «{0}»)")]
    NotReviewed(CaseStatus),
    #[error("lukking med utfall «{0}» er allerede foreslått og venter på bekreftelse")]
    AlreadyProposed(Outcome),
    #[error("ingen lukking er foreslått for saken")]
    NoProposal,
    #[error("du foreslo selv lukkingen; en annen person må bekrefte den (fire øyne)")]
    OwnProposal,
    #[error("saken er ikke lukket, så den kan ikke gjenåpnes")]
    NotClosed,
    #[error("saken er allerede delt med {}", .0.label())]
    AlreadyShared(Agency),
    #[error("saken er ikke delt med {}", .0.label())]
    NotShared(Agency),
}

impl WorkflowError {
    pub fn english(&self) -> String {
        match self {
            WorkflowError::Step { from, to } => format!(
                "a case cannot go from '{from}' to '{to}': the status moves one step at a time, and 'lukket' is reached only by a close proposal that another person confirms"
            ),
            WorkflowError::Unchanged(s) => format!("the case is '{s}' already"),
            WorkflowError::Closed => {
                "the case is closed: reopen it (with a reason) before changing it".into()
            }
            WorkflowError::NotReviewed(s) => {
                format!("a case must be 'kontrollert' before closing can be proposed (it is '{s}')")
            }
            WorkflowError::AlreadyProposed(o) => {
                format!("closing with outcome '{o}' is proposed already and awaits confirmation")
            }
            WorkflowError::NoProposal => "no closing is proposed for this case".into(),
            WorkflowError::OwnProposal => {
                "you proposed this closing yourself; another person must confirm it (four eyes)".into()
            }
            WorkflowError::NotClosed => "the case is not closed, so it cannot be reopened".into(),
            WorkflowError::AlreadyShared(a) => format!("the case is shared with {a} already"),
            WorkflowError::NotShared(a) => format!("the case is not shared with {a}"),
        }
    }
}

/// What a status change does: the new status, and whether a pending proposal is withdrawn
/// (moving a case back from `kontrollert` drops the proposal made there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub to: CaseStatus,
    pub withdraws_proposal: bool,
}

/// Moves the status one step forward or back, never into or out of `lukket`.
pub fn set_status(state: CaseState, to: CaseStatus) -> Result<StatusChange, WorkflowError> {
    let from = state.status;
    if from == CaseStatus::Lukket {
        return Err(WorkflowError::Closed);
    }
    if from == to {
        return Err(WorkflowError::Unchanged(to));
    }
    if to == CaseStatus::Lukket || from.rank().abs_diff(to.rank()) != 1 {
        return Err(WorkflowError::Step { from, to });
    }
    Ok(StatusChange {
        to,
        withdraws_proposal: state.proposal.is_some(),
    })
}

/// Whether notes, findings and assignments may be added (anything but a closed case).
pub fn check_open(state: CaseState) -> Result<(), WorkflowError> {
    if state.status == CaseStatus::Lukket {
        Err(WorkflowError::Closed)
    } else {
        Ok(())
    }
}

/// Proposes closing a reviewed case with `outcome`.
pub fn propose_close(state: CaseState, outcome: Outcome, by: i64) -> Result<Proposal, WorkflowError> {
    check_open(state)?;
    if let Some(p) = state.proposal {
        return Err(WorkflowError::AlreadyProposed(p.outcome));
    }
    if state.status != CaseStatus::Kontrollert {
        return Err(WorkflowError::NotReviewed(state.status));
    }
    Ok(Proposal {
        outcome,
        proposed_by: by,
    })
}

/// Confirms the pending proposal; only someone other than the proposer may. Returns the
/// outcome the case closes with.
pub fn confirm_close(state: CaseState, by: i64) -> Result<Outcome, WorkflowError> {
    check_open(state)?;
    let p = state.proposal.ok_or(WorkflowError::NoProposal)?;
    if p.proposed_by == by {
        return Err(WorkflowError::OwnProposal);
    }
    Ok(p.outcome)
}

/// Why a reopening is refused: the workflow (409) or the reason (422).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReopenError {
    Workflow(WorkflowError),
    Field(FieldError),
}

/// Checks a reopening (back to `under_vurdering`): the case must be closed and `reason` non-empty. Returns the reason
/// trimmed and the status the case goes back to.
pub fn reopen(state: CaseState, reason: &str) -> Result<(String, CaseStatus), ReopenError> {
    if state.status != CaseStatus::Lukket {
        return Err(ReopenError::Workflow(WorkflowError::NotClosed));
    }
    let reason = check_text(reason).map_err(|p| ReopenError::Field(FieldError::new("reason", p)))?;
    Ok((reason, CaseStatus::UnderVurdering))
}

/// A note or a reason: non-empty once trimmed, at most [`TEXT_MAX`] characters.
pub fn check_text(text: &str) -> Result<String, Problem> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Problem::Empty);
    }
    if t.chars().count() > TEXT_MAX {
        return Err(Problem::TooLong { max: TEXT_MAX });
    }
    Ok(t.to_owned())
}

/// What a person may see of cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAccess {
    /// Kemneren: every case, in full.
    All,
    /// An A-krim partner: the cases shared with their agency, in full (each read audited).
    Agency(Agency),
    /// An innkjøper: the status and outcome of cases on the contracts they own.
    OutcomesOfOwnContracts(i64),
    /// No case at all (the admin runs the system, not the reviews).
    None,
}

impl CaseAccess {
    pub fn of(role: Role, agency: Option<Agency>, user_id: i64) -> Self {
        match (role, agency) {
            (Role::Kemner, _) => CaseAccess::All,
            (Role::Akrim, Some(a)) => CaseAccess::Agency(a),
            (Role::Innkjoper, _) => CaseAccess::OutcomesOfOwnContracts(user_id),
            // An akrim user without an agency cannot exist (`validate_role_agency`); if one
            // did, it sees nothing rather than everything.
            (Role::Akrim, None) | (Role::Admin, _) => CaseAccess::None,
        }
    }

    /// Whether this person works cases (reads them in full, changes them).
    pub fn reviews(self) -> bool {
        matches!(self, CaseAccess::All | CaseAccess::Agency(_))
    }

    /// Whether a case shared with `shares` is visible in full.
    pub fn sees_shared_with(self, shares: &[Agency]) -> bool {
        match self {
            CaseAccess::All => true,
            CaseAccess::Agency(a) => shares.contains(&a),
            CaseAccess::OutcomesOfOwnContracts(_) | CaseAccess::None => false,
        }
    }
}

/// Whether a user may be assigned a case shared with `shares`: an enabled A-krim user of one
/// of those agencies, or Kemneren.
pub fn check_assignee(
    username: &str,
    role: Role,
    agency: Option<Agency>,
    disabled: bool,
    shares: &[Agency],
) -> Result<(), FieldError> {
    if disabled {
        return Err(FieldError::new(
            "user",
            Problem::UserDisabled(username.to_owned()),
        ));
    }
    let ok = match (role, agency) {
        (Role::Kemner, _) => true,
        (Role::Akrim, Some(a)) => shares.contains(&a),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "user",
            Problem::CannotReviewCase {
                username: username.to_owned(),
                role,
                agency,
            },
        ))
    }
}

/// The agencies a new case is shared with: those of the active liaisons who cover one of the
/// contract's industries (a liaison with no industries covers all); when none covers it,
/// every agency with an active liaison, so no case is left unseen. Sorted, without duplicates.
pub fn share_agencies(liaisons: &[(Agency, Vec<String>)], contract_industries: &[String]) -> Vec<Agency> {
    let covering: Vec<Agency> = liaisons
        .iter()
        .filter(|(_, inds)| inds.is_empty() || inds.iter().any(|i| contract_industries.contains(i)))
        .map(|(a, _)| *a)
        .collect();
    let mut out = if covering.is_empty() {
        liaisons.iter().map(|(a, _)| *a).collect()
    } else {
        covering
    };
    out.sort_by_key(|a| a.as_str());
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn state(status: CaseStatus) -> CaseState {
        CaseState {
            status,
            proposal: None,
        }
    }

    #[test]
    fn names_round_trip() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        for r in FindingResult::ALL {
            assert_eq!(r.as_str().parse::<FindingResult>(), Ok(r));
        }
        assert_eq!(
            "Under vurdering".parse::<CaseStatus>(),
            Ok(CaseStatus::UnderVurdering)
        );
        assert_eq!(
            "avsluttet".parse::<CaseStatus>(),
            Err(Problem::UnknownCaseStatus("avsluttet".into()))
        );
        assert!("funn".parse::<Outcome>().is_err());
        assert!("kanskje".parse::<FindingResult>().is_err());
    }

    #[test]
    fn the_status_moves_one_step() {
        use CaseStatus::*;
        assert_eq!(
            set_status(state(Ny), UnderVurdering).map(|c| c.to),
            Ok(UnderVurdering)
        );
        assert_eq!(
            set_status(state(UnderVurdering), Kontrollert).map(|c| c.to),
            Ok(Kontrollert)
        );
        assert_eq!(
            set_status(state(Kontrollert), UnderVurdering).map(|c| c.to),
            Ok(UnderVurdering)
        );
        assert_eq!(
            set_status(state(Ny), Kontrollert),
            Err(WorkflowError::Step {
                from: Ny,
                to: Kontrollert
            })
        );
        assert_eq!(
            set_status(state(Kontrollert), Lukket),
            Err(WorkflowError::Step {
                from: Kontrollert,
                to: Lukket
            })
        );
        assert_eq!(
            set_status(state(Lukket), UnderVurdering),
            Err(WorkflowError::Closed)
        );
        assert_eq!(set_status(state(Ny), Ny), Err(WorkflowError::Unchanged(Ny)));
    }

    #[test]
    fn four_eyes_closing() {
        let reviewed = state(CaseStatus::Kontrollert);
        assert_eq!(
            propose_close(state(CaseStatus::UnderVurdering), Outcome::IngenFunn, 1),
            Err(WorkflowError::NotReviewed(CaseStatus::UnderVurdering))
        );
        let p = propose_close(reviewed, Outcome::HenvistNav, 1).unwrap();
        assert_eq!(p.proposed_by, 1);
        let pending = CaseState {
            proposal: Some(p),
            ..reviewed
        };
        assert_eq!(
            propose_close(pending, Outcome::IngenFunn, 2),
            Err(WorkflowError::AlreadyProposed(Outcome::HenvistNav))
        );
        assert_eq!(confirm_close(pending, 1), Err(WorkflowError::OwnProposal));
        assert_eq!(confirm_close(pending, 2), Ok(Outcome::HenvistNav));
        assert_eq!(confirm_close(reviewed, 2), Err(WorkflowError::NoProposal));
        // Moving back withdraws the proposal.
        assert_eq!(
            set_status(pending, CaseStatus::UnderVurdering),
            Ok(StatusChange {
                to: CaseStatus::UnderVurdering,
                withdraws_proposal: true
            })
        );
        let closed = state(CaseStatus::Lukket);
        assert_eq!(confirm_close(closed, 2), Err(WorkflowError::Closed));
        assert_eq!(
            propose_close(closed, Outcome::IngenFunn, 2),
            Err(WorkflowError::Closed)
        );
        assert!(WorkflowError::OwnProposal.english().contains("another person"));
        assert!(WorkflowError::OwnProposal.to_string().contains("en annen"));
    }

    #[test]
    fn reopening_needs_a_reason() {
        let closed = state(CaseStatus::Lukket);
        assert!(matches!(
            reopen(closed, "  "),
            Err(ReopenError::Field(FieldError {
                field: "reason",
                problem: Problem::Empty
            }))
        ));
        assert!(matches!(
            reopen(closed, &"x".repeat(TEXT_MAX + 1)),
            Err(ReopenError::Field(FieldError { field: "reason", .. }))
        ));
        assert!(matches!(
            reopen(state(CaseStatus::Kontrollert), "nye opplysninger"),
            Err(ReopenError::Workflow(WorkflowError::NotClosed))
        ));
        assert!(matches!(
            reopen(closed, " nye opplysninger "),
            Ok((r, CaseStatus::UnderVurdering)) if r == "nye opplysninger"
        ));
    }

    #[test]
    fn access_by_role() {
        assert_eq!(CaseAccess::of(Role::Kemner, None, 1), CaseAccess::All);
        assert_eq!(
            CaseAccess::of(Role::Akrim, Some(Agency::Nav), 1),
            CaseAccess::Agency(Agency::Nav)
        );
        assert_eq!(
            CaseAccess::of(Role::Innkjoper, None, 7),
            CaseAccess::OutcomesOfOwnContracts(7)
        );
        assert_eq!(CaseAccess::of(Role::Admin, None, 1), CaseAccess::None);
        assert_eq!(CaseAccess::of(Role::Akrim, None, 1), CaseAccess::None);
        let shares = [Agency::Arbeidstilsynet];
        assert!(CaseAccess::All.sees_shared_with(&[]));
        assert!(CaseAccess::Agency(Agency::Arbeidstilsynet).sees_shared_with(&shares));
        assert!(!CaseAccess::Agency(Agency::Nav).sees_shared_with(&shares));
        assert!(!CaseAccess::OutcomesOfOwnContracts(7).sees_shared_with(&shares));
        assert!(!CaseAccess::None.sees_shared_with(&shares));
    }

    #[test]
    fn assignees() {
        let shares = [Agency::Arbeidstilsynet];
        assert!(check_assignee("kem", Role::Kemner, None, false, &shares).is_ok());
        assert!(check_assignee("ola", Role::Akrim, Some(Agency::Arbeidstilsynet), false, &shares).is_ok());
        for (role, agency) in [
            (Role::Akrim, Some(Agency::Nav)),
            (Role::Innkjoper, None),
            (Role::Admin, None),
        ] {
            let e = check_assignee("x", role, agency, false, &shares).unwrap_err();
            assert_eq!(e.field, "user");
        }
        assert_eq!(
            check_assignee("kem", Role::Kemner, None, true, &shares),
            Err(FieldError::new("user", Problem::UserDisabled("kem".into())))
        );
    }

    #[test]
    fn sharing_follows_the_liaisons_industries() {
        let l = vec![
            (Agency::Nav, vec!["renhold".to_owned()]),
            (Agency::Arbeidstilsynet, vec![]),
            (Agency::Skatteetaten, vec!["bygg_anlegg".to_owned()]),
            (Agency::Nav, vec!["bygg_anlegg".to_owned()]),
        ];
        assert_eq!(
            share_agencies(&l, &["renhold".to_owned()]),
            vec![Agency::Arbeidstilsynet, Agency::Nav]
        );
        assert_eq!(
            share_agencies(&l, &["bygg_anlegg".to_owned()]),
            vec![Agency::Arbeidstilsynet, Agency::Nav, Agency::Skatteetaten]
        );
        // Nobody covers it: every agency with a liaison.
        let narrow = vec![
            (Agency::Nav, vec!["renhold".to_owned()]),
            (Agency::Politiet, vec!["x".to_owned()]),
        ];
        assert_eq!(share_agencies(&narrow, &[]), vec![Agency::Nav, Agency::Politiet]);
        assert_eq!(share_agencies(&[], &["renhold".to_owned()]), Vec::<Agency>::new());
    }

    fn any_status() -> impl Strategy<Value = CaseStatus> {
        proptest::sample::select(CaseStatus::ALL.to_vec())
    }

    fn any_outcome() -> impl Strategy<Value = Outcome> {
        proptest::sample::select(Outcome::ALL.to_vec())
    }

    /// One thing a person may try on a case.
    #[derive(Debug, Clone)]
    enum Step {
        Status(CaseStatus),
        Propose(Outcome, i64),
        Confirm(i64),
        Reopen(bool),
    }

    fn any_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            any_status().prop_map(Step::Status),
            (any_outcome(), 1i64..4).prop_map(|(o, u)| Step::Propose(o, u)),
            (1i64..4).prop_map(Step::Confirm),
            any::<bool>().prop_map(Step::Reopen),
        ]
    }

    proptest! {
        /// Whatever is tried in whatever order: a case is closed only by a confirmation from
        /// someone other than the proposer, only from `kontrollert`, with the proposed
        /// outcome; and it leaves `lukket` only by a reopening with a reason.
        #[test]
        fn only_a_second_person_closes(steps in proptest::collection::vec(any_step(), 0..40)) {
            let mut s = state(CaseStatus::Ny);
            let mut outcome: Option<Outcome> = None;
            for step in steps {
                let before = s;
                match step {
                    Step::Status(to) => {
                        if let Ok(c) = set_status(s, to) {
                            prop_assert!(to != CaseStatus::Lukket);
                            prop_assert_eq!(before.status.rank().abs_diff(to.rank()), 1);
                            s = CaseState { status: c.to, proposal: None };
                        }
                    }
                    Step::Propose(o, by) => {
                        if let Ok(p) = propose_close(s, o, by) {
                            prop_assert_eq!(before.status, CaseStatus::Kontrollert);
                            s.proposal = Some(p);
                        }
                    }
                    Step::Confirm(by) => {
                        if let Ok(o) = confirm_close(s, by) {
                            let p = before.proposal.ok_or_else(|| TestCaseError::fail("closed without a proposal"))?;
                            prop_assert!(p.proposed_by != by);
                            prop_assert_eq!(p.outcome, o);
                            prop_assert_eq!(before.status, CaseStatus::Kontrollert);
                            s = CaseState { status: CaseStatus::Lukket, proposal: None };
                            outcome = Some(o);
                        }
                    }
                    Step::Reopen(with_reason) => {
                        let reason = if with_reason { "grunn" } else { " " };
                        if let Ok((_, to)) = reopen(s, reason) {
                            prop_assert!(with_reason);
                            prop_assert_eq!(before.status, CaseStatus::Lukket);
                            s = state(to);
                            outcome = None;
                        }
                    }
                }
                if s.status == CaseStatus::Lukket {
                    prop_assert!(outcome.is_some());
                } else {
                    prop_assert!(outcome.is_none());
                }
                if before.status == CaseStatus::Lukket && s.status != CaseStatus::Lukket {
                    prop_assert_eq!(s.status, CaseStatus::UnderVurdering);
                }
            }
        }
    }
}

/// What a buyer may ask a supplier to document (the wage-conditions regulation lets the
/// buyer demand the documentation of pay and working conditions, and the HMS card and
/// subcontractor rules of building and cleaning add theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Lonnsslipper,
    Timelister,
    Arbeidskontrakter,
    HmsKort,
    Skatteattest,
    Underleverandorliste,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::Lonnsslipper,
        DocumentKind::Timelister,
        DocumentKind::Arbeidskontrakter,
        DocumentKind::HmsKort,
        DocumentKind::Skatteattest,
        DocumentKind::Underleverandorliste,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Lonnsslipper => "lonnsslipper",
            DocumentKind::Timelister => "timelister",
            DocumentKind::Arbeidskontrakter => "arbeidskontrakter",
            DocumentKind::HmsKort => "hms_kort",
            DocumentKind::Skatteattest => "skatteattest",
            DocumentKind::Underleverandorliste => "underleverandorliste",
        }
    }

    /// As people say it.
    pub fn label(self) -> &'static str {
        match self {
            DocumentKind::Lonnsslipper => "Lønnsslipper",
            DocumentKind::Timelister => "Timelister",
            DocumentKind::Arbeidskontrakter => "Arbeidskontrakter",
            DocumentKind::HmsKort => "Oversikt over HMS-kort",
            DocumentKind::Skatteattest => "Skatteattest",
            DocumentKind::Underleverandorliste => "Oversikt over underleverandører",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentKind> {
        let k = s.trim().to_lowercase().replace('-', "_");
        DocumentKind::ALL.into_iter().find(|d| d.as_str() == k)
    }
}

/// Checks a document request: at least one known document, each once, and a deadline no
/// earlier than `today`.
pub fn check_document_request(
    documents: &[String],
    deadline: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Result<Vec<DocumentKind>, FieldError> {
    let mut kinds = Vec::new();
    for d in documents {
        let k = DocumentKind::parse(d)
            .ok_or_else(|| FieldError::new("documents", Problem::UnknownDocument(d.clone())))?;
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    if kinds.is_empty() {
        return Err(FieldError::new("documents", Problem::NoDocuments));
    }
    if deadline < today {
        return Err(FieldError::new("deadline", Problem::DeadlinePassed(deadline)));
    }
    Ok(kinds)
}

#[cfg(test)]
mod document_tests {
    use super::*;

    #[test]
    fn document_requests_are_checked() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let (deadline, today) = (d("2026-12-20"), d("2026-12-06"));
        let docs = [
            "lonnsslipper".to_owned(),
            "HMS-kort".to_owned(),
            "lonnsslipper".to_owned(),
        ];
        let ok = check_document_request(&docs, deadline, today);
        assert_eq!(
            ok.ok(),
            Some(vec![DocumentKind::Lonnsslipper, DocumentKind::HmsKort])
        );
        let field = |r: Result<Vec<DocumentKind>, FieldError>| r.err().map(|e| e.field);
        assert_eq!(
            field(check_document_request(&[], deadline, today)),
            Some("documents")
        );
        let unknown = ["kvittering".to_owned()];
        assert_eq!(
            field(check_document_request(&unknown, deadline, today)),
            Some("documents")
        );
        let late = ["timelister".to_owned()];
        assert_eq!(
            field(check_document_request(&late, d("2026-12-05"), today)),
            Some("deadline")
        );
    }
}

/// The largest evidence file accepted.
pub const EVIDENCE_MAX_BYTES: usize = 20 * 1024 * 1024;

/// What an evidence file is, found from its first bytes (never from its name or the
/// uploader's word): the kinds an inspection produces. Anything else is refused.
pub fn evidence_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"PK\x03\x04") {
        // Office documents (xlsx, docx) are zip files; served as a download only.
        Some("application/zip")
    } else if !bytes.is_empty()
        && std::str::from_utf8(bytes).is_ok()
        && !bytes
            .iter()
            .any(|b| *b == 0 || (*b < 0x20 && !b"\t\r\n".contains(b)))
    {
        Some("text/plain; charset=utf-8")
    } else {
        None
    }
}

/// The name shown for an uploaded file: the last path component, control characters and
/// quotes removed, at most 120 characters; `vedlegg` when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "vedlegg".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod evidence_tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes_and_names_are_cleaned() {
        assert_eq!(evidence_type(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(evidence_type(b"MZ\x90\x00"), None, "no programs");
        assert_eq!(
            evidence_type(b"<html><script>alert(1)</script>"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(evidence_type(b""), None);
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\\\tmp\\\\lønn \"mars\".pdf"), "lønn mars.pdf");
        assert_eq!(clean_file_name(".."), "vedlegg");
        assert_eq!(clean_file_name("a\u{0}b\nc.txt"), "abc.txt");
    }
}
