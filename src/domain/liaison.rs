//! Liaisons: contacts at the A-krim agencies who receive mail. Pure checks of what a person
//! gives: the name, the e-mail address, the agency, the notices wanted and the risk
//! industries covered. Every refusal names its field ([`FieldError`]), so the API can say
//! which member of the body is wrong and the CLI which option.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::roles::{Agency, Role};

/// The longest name kept (characters).
pub const NAME_MAX: usize = 200;
/// The longest e-mail address (RFC 5321's path limit less the angle brackets).
pub const EMAIL_MAX: usize = 254;

/// What a liaison wants to be told about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A draw was published (the picks that concern the agency).
    DrawPublished,
    /// A contract was assessed high risk.
    HighRisk,
    /// The weekly summary.
    WeeklySummary,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 3] = [
        NoticeKind::DrawPublished,
        NoticeKind::HighRisk,
        NoticeKind::WeeklySummary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::DrawPublished => "draw_published",
            NoticeKind::HighRisk => "high_risk",
            NoticeKind::WeeklySummary => "weekly_summary",
        }
    }
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NoticeKind {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let k = s.trim().to_lowercase().replace('-', "_");
        NoticeKind::ALL
            .into_iter()
            .find(|n| n.as_str() == k)
            .ok_or_else(|| Problem::UnknownNotice(s.to_owned()))
    }
}

/// Why an e-mail address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailProblem {
    Empty,
    TooLong,
    /// A space or a control character.
    Whitespace,
    NoAt,
    SeveralAt,
    EmptyLocalPart,
    /// No dot in the domain, or an empty label (`a@.no`, `a@nav..no`, `a@nav.`).
    BadDomain,
}

impl EmailProblem {
    fn english(self) -> &'static str {
        match self {
            EmailProblem::Empty => "the address is empty",
            EmailProblem::TooLong => "the address is longer than 254 characters",
            EmailProblem::Whitespace => "the address contains a space or a control character",
            EmailProblem::NoAt => "the address has no '@'",
            EmailProblem::SeveralAt => "the address has more than one '@'",
            EmailProblem::EmptyLocalPart => "nothing before the '@'",
            EmailProblem::BadDomain => "the part after '@' is not a domain such as 'nav.no'",
        }
    }

    fn norwegian(self) -> &'static str {
        match self {
            EmailProblem::Empty => "adressen er tom",
            EmailProblem::TooLong => "adressen er lengre enn 254 tegn",
            EmailProblem::Whitespace => "adressen inneholder mellomrom eller kontrolltegn",
            EmailProblem::NoAt => "adressen mangler «@»",
            EmailProblem::SeveralAt => "adressen har mer enn én «@»",
            EmailProblem::EmptyLocalPart => "ingenting foran «@»",
            EmailProblem::BadDomain => "delen etter «@» er ikke et domene som «nav.no»",
        }
    }
}

/// A pragmatic check, not RFC 5322: one `@`, something before it, a domain with a dot and
/// no empty labels after it, no spaces or control characters, at most 254 characters.
/// Returns the address trimmed.
pub fn check_email(address: &str) -> Result<String, EmailProblem> {
    let a = address.trim();
    if a.is_empty() {
        return Err(EmailProblem::Empty);
    }
    if a.chars().count() > EMAIL_MAX {
        return Err(EmailProblem::TooLong);
    }
    if a.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EmailProblem::Whitespace);
    }
    let (local, domain) = match a.split_once('@') {
        None => return Err(EmailProblem::NoAt),
        Some((_, d)) if d.contains('@') => return Err(EmailProblem::SeveralAt),
        Some(parts) => parts,
    };
    if local.is_empty() {
        return Err(EmailProblem::EmptyLocalPart);
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(EmailProblem::BadDomain);
    }
    Ok(a.to_owned())
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Empty,
    TooLong {
        max: usize,
    },
    Email(EmailProblem),
    UnknownAgency(String),
    /// Not an industry id of the rule set in force.
    UnknownIndustry {
        id: String,
        known: Vec<String>,
    },
    UnknownNotice(String),
    NoNotices,
    UnknownUser(String),
    /// Only A-krim users can be linked to a liaison.
    NotAkrim {
        username: String,
        role: Role,
    },
    /// The linked user speaks for another agency.
    AgencyMismatch {
        username: String,
        user_agency: Option<Agency>,
        agency: Agency,
    },
    /// A contract's new owner must import registers (see `domain::ownership`).
    CannotOwnContracts {
        username: String,
        role: Role,
    },
    /// A disabled user is given nothing new.
    UserDisabled(String),
    /// Not a case status (`domain::case`).
    UnknownCaseStatus(String),
    UnknownOutcome(String),
    UnknownFindingResult(String),
    /// Not an indicator id of the rule set in force.
    UnknownIndicator(String),
    /// A case can be assigned only to Kemneren or an A-krim user of an agency it is
    /// shared with.
    CannotReviewCase {
        username: String,
        role: Role,
        agency: Option<Agency>,
    },
    /// Not a document a buyer asks a supplier for (`domain::case::DocumentKind`).
    UnknownDocument(String),
    /// A document request that asks for nothing.
    NoDocuments,
    /// A deadline before today.
    DeadlinePassed(chrono::NaiveDate),
    /// An evidence file over the size limit (bytes).
    FileTooLarge {
        max: usize,
    },
    /// An evidence file of a kind not accepted (see `domain::case::evidence_type`).
    FileType,
}

fn agency_or_none(a: Option<Agency>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
}

impl Problem {
    pub fn english(&self) -> String {
        match self {
            Problem::Empty => "must not be empty".into(),
            Problem::TooLong { max } => format!("must be at most {max} characters"),
            Problem::Email(e) => format!("not a usable e-mail address: {}", e.english()),
            Problem::UnknownAgency(a) => {
                format!("unknown agency '{a}': use arbeidstilsynet, skatteetaten, politiet, nav or kemneren")
            }
            Problem::UnknownIndustry { id, known } => format!(
                "unknown industry '{id}': the rule set in force has {}",
                known.join(", ")
            ),
            Problem::UnknownNotice(n) => {
                format!("unknown notice '{n}': use draw_published, high_risk or weekly_summary")
            }
            Problem::NoNotices => {
                "choose at least one notice: draw_published, high_risk or weekly_summary".into()
            }
            Problem::UnknownUser(u) => format!("no user named '{u}'"),
            Problem::NotAkrim { username, role } => {
                format!("'{username}' has the role {role}; only akrim users can be linked to a liaison")
            }
            Problem::AgencyMismatch {
                username,
                user_agency,
                agency,
            } => format!(
                "'{username}' speaks for {}, not for {agency}",
                agency_or_none(*user_agency)
            ),
            Problem::CannotOwnContracts { username, role } => format!(
                "'{username}' has the role {role}, which does not import contracts; choose an innkjoper or kemner"
            ),
            Problem::UserDisabled(u) => format!("'{u}' is disabled; choose an enabled user"),
            Problem::UnknownCaseStatus(s) => {
                format!("unknown status '{s}': use ny, under_vurdering, kontrollert or lukket")
            }
            Problem::UnknownOutcome(o) => format!(
                "unknown outcome '{o}': use ingen_funn, avvik_rettet, henvist_arbeidstilsynet, henvist_skatteetaten, henvist_politiet or henvist_nav"
            ),
            Problem::UnknownFindingResult(r) => {
                format!("unknown result '{r}': use bekreftet, ikke_bekreftet or ikke_kontrollert")
            }
            Problem::UnknownIndicator(i) => format!("'{i}' is not an indicator of the rule set in force"),
            Problem::CannotReviewCase {
                username,
                role,
                agency,
            } => format!(
                "'{username}' ({role}, agency {}) cannot be assigned this case: choose a kemner or an akrim user of an agency the case is shared with",
                agency_or_none(*agency)
            ),
            Problem::UnknownDocument(d) => format!(
                "unknown document '{d}': use lonnsslipper, timelister, arbeidskontrakter, hms_kort, skatteattest or underleverandorliste"
            ),
            Problem::NoDocuments => "ask for at least one document".into(),
            Problem::DeadlinePassed(d) => format!("the deadline {d} has passed: give today or a later date"),
            Problem::FileTooLarge { max } => format!("the file is larger than {} MB", max / (1024 * 1024)),
            Problem::FileType => "only PDF, PNG, JPEG, plain text and Office (zip) files are accepted".into(),
        }
    }

    pub fn norwegian(&self) -> String {
        match self {
            Problem::Empty => "kan ikke være tomt".into(),
            Problem::TooLong { max } => format!("kan være høyst {max} tegn"),
            Problem::Email(e) => format!("ikke en brukbar e-postadresse: {}", e.norwegian()),
            Problem::UnknownAgency(a) => {
                format!("ukjent etat «{a}»: bruk arbeidstilsynet, skatteetaten, politiet, nav eller kemneren")
            }
            Problem::UnknownIndustry { id, known } => format!(
                "ukjent bransje «{id}»: regelsettet i bruk har {}",
                known.join(", ")
            ),
            Problem::UnknownNotice(n) => {
                format!("ukjent varsel «{n}»: bruk draw_published, high_risk eller weekly_summary")
            }
            Problem::NoNotices => {
                "velg minst ett varsel: draw_published, high_risk eller weekly_summary".into()
            }
            Problem::UnknownUser(u) => format!("ingen bruker heter «{u}»"),
            Problem::NotAkrim { username, role } => format!(
                "«{username}» har rollen {role}; bare brukere med rollen akrim kan knyttes til en kontaktperson"
            ),
            Problem::AgencyMismatch {
                username,
                user_agency,
                agency,
            } => format!(
                "«{username}» tilhører {}, ikke {agency}",
                agency_or_none(*user_agency)
            ),
            Problem::CannotOwnContracts { username, role } => format!(
                "«{username}» har rollen {role}, som ikke importerer kontrakter; velg en innkjøper eller Kemneren"
            ),
            Problem::UserDisabled(u) => format!("«{u}» er deaktivert; velg en aktiv bruker"),
            Problem::UnknownCaseStatus(s) => {
                format!("ukjent status «{s}»: bruk ny, under_vurdering, kontrollert eller lukket")
            }
            Problem::UnknownOutcome(o) => format!(
                "ukjent utfall «{o}»: bruk ingen_funn, avvik_rettet, henvist_arbeidstilsynet, henvist_skatteetaten, henvist_politiet eller henvist_nav"
            ),
            Problem::UnknownFindingResult(r) => {
                format!("ukjent resultat «{r}»: bruk bekreftet, ikke_bekreftet eller ikke_kontrollert")
            }
            Problem::UnknownIndicator(i) => format!("«{i}» er ikke en indikator i regelsettet i bruk"),
            Problem::CannotReviewCase {
                username,
                role,
                agency,
            } => format!(
                "«{username}» ({role}, etat {}) kan ikke få saken: velg Kemneren eller en A-krim-bruker fra en etat saken er delt med",
                agency_or_none(*agency)
            ),
            Problem::UnknownDocument(d) => format!(
                "ukjent dokument «{d}»: bruk lonnsslipper, timelister, arbeidskontrakter, hms_kort, skatteattest eller underleverandorliste"
            ),
            Problem::NoDocuments => "be om minst ett dokument".into(),
            Problem::DeadlinePassed(d) => format!(
                "fristen {} er passert: velg i dag eller en senere dato",
                crate::domain::oslo::date(*d)
            ),
            Problem::FileTooLarge { max } => format!("filen er større enn {} MB", max / (1024 * 1024)),
            Problem::FileType => "bare PDF, PNG, JPEG, ren tekst og Office-filer (zip) tas imot".into(),
        }
    }
}

/// A value refused, with the name of the field (the API member, the CLI option) it came in.
/// `Display` is Norwegian (CLI, pages); [`FieldError::english`] is for API clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("feltet «{field}»: {}", .problem.norwegian())]
pub struct FieldError {
    pub field: &'static str,
    pub problem: Problem,
}

impl FieldError {
    pub fn new(field: &'static str, problem: Problem) -> Self {
        FieldError { field, problem }
    }

    pub fn english(&self) -> String {
        format!("field '{}': {}", self.field, self.problem.english())
    }
}

/// A liaison as a person gives it (API body, CLI options): unchecked text.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiaisonDraft {
    pub name: String,
    pub agency: String,
    pub email: String,
    /// Industry ids of the rule set in force; empty: every industry.
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub notices: Vec<String>,
    /// The A-krim user this liaison is, if any.
    #[serde(default)]
    pub user: Option<String>,
}

/// A draft that passed [`check`]: trimmed, parsed, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedLiaison {
    pub name: String,
    pub agency: Agency,
    pub email: String,
    pub industries: Vec<String>,
    /// In [`NoticeKind::ALL`] order.
    pub notices: Vec<NoticeKind>,
    /// The user name to link, not yet looked up.
    pub user: Option<String>,
}

/// A name: non-empty once trimmed, at most [`NAME_MAX`] characters.
pub fn check_name(name: &str) -> Result<String, Problem> {
    let n = name.trim();
    if n.is_empty() {
        return Err(Problem::Empty);
    }
    if n.chars().count() > NAME_MAX {
        return Err(Problem::TooLong { max: NAME_MAX });
    }
    Ok(n.to_owned())
}

/// Checks every field of `draft`; `industry_ids` are the ids of the rule set in force. The
/// linked user, if any, is checked by the service, which can look it up.
pub fn check(draft: &LiaisonDraft, industry_ids: &[&str]) -> Result<CheckedLiaison, FieldError> {
    let name = check_name(&draft.name).map_err(|p| FieldError::new("name", p))?;
    let agency: Agency = draft
        .agency
        .parse()
        .map_err(|_| FieldError::new("agency", Problem::UnknownAgency(draft.agency.clone())))?;
    let email = check_email(&draft.email).map_err(|e| FieldError::new("email", Problem::Email(e)))?;
    let mut industries: Vec<String> = Vec::new();
    for raw in &draft.industries {
        let id = raw.trim().to_lowercase();
        if !industry_ids.contains(&id.as_str()) {
            return Err(FieldError::new(
                "industries",
                Problem::UnknownIndustry {
                    id: raw.clone(),
                    known: industry_ids.iter().map(|s| (*s).to_owned()).collect(),
                },
            ));
        }
        if !industries.contains(&id) {
            industries.push(id);
        }
    }
    let mut notices = draft
        .notices
        .iter()
        .map(|n| n.parse::<NoticeKind>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|p| FieldError::new("notices", p))?;
    notices.sort();
    notices.dedup();
    if notices.is_empty() {
        return Err(FieldError::new("notices", Problem::NoNotices));
    }
    let user = draft
        .user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    Ok(CheckedLiaison {
        name,
        agency,
        email,
        industries,
        notices,
        user,
    })
}

/// Checks that `username` (role, agency) may be linked to a liaison at `agency`.
pub fn check_link(
    username: &str,
    role: Role,
    user_agency: Option<Agency>,
    agency: Agency,
) -> Result<(), FieldError> {
    if role != Role::Akrim {
        return Err(FieldError::new(
            "user",
            Problem::NotAkrim {
                username: username.to_owned(),
                role,
            },
        ));
    }
    if user_agency != Some(agency) {
        return Err(FieldError::new(
            "user",
            Problem::AgencyMismatch {
                username: username.to_owned(),
                user_agency,
                agency,
            },
        ));
    }
    Ok(())
}

/// Stores a list as `,a,b,` (the empty list as the empty string), so that a member is found
/// with `LIKE '%,a,%'`.
pub fn encode_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let inner: Vec<&str> = items.into_iter().collect();
    if inner.is_empty() {
        String::new()
    } else {
        format!(",{},", inner.join(","))
    }
}

/// The list stored by [`encode_list`].
pub fn decode_list(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses() {
        for a in [
            "kari@nav.no",
            "ola.nordmann@arbeidstilsynet.no",
            "a+b@sub.domain.example",
            "  trimmed@nav.no ",
            "æøå@kemneren.oslo.kommune.no",
        ] {
            assert_eq!(check_email(a), Ok(a.trim().to_owned()), "{a}");
        }
    }

    #[test]
    fn bad_addresses() {
        let long = format!("{}@nav.no", "a".repeat(250));
        for (a, want) in [
            ("", EmailProblem::Empty),
            ("   ", EmailProblem::Empty),
            ("kari.nav.no", EmailProblem::NoAt),
            ("kari@nav@no", EmailProblem::SeveralAt),
            ("@nav.no", EmailProblem::EmptyLocalPart),
            ("kari@nav", EmailProblem::BadDomain),
            ("kari@", EmailProblem::BadDomain),
            ("kari@.no", EmailProblem::BadDomain),
            ("kari@nav.", EmailProblem::BadDomain),
            ("kari@nav..no", EmailProblem::BadDomain),
            ("kari nordmann@nav.no", EmailProblem::Whitespace),
            ("kari@nav.no\nBcc: x@y.no", EmailProblem::Whitespace),
            ("kari\u{0}@nav.no", EmailProblem::Whitespace),
            (long.as_str(), EmailProblem::TooLong),
        ] {
            assert_eq!(check_email(a), Err(want), "{a:?}");
        }
        // Exactly 254 characters is still fine.
        let edge = format!("{}@nav.no", "a".repeat(EMAIL_MAX - 7));
        assert_eq!(edge.chars().count(), EMAIL_MAX);
        assert!(check_email(&edge).is_ok());
    }

    #[test]
    fn notice_kinds_round_trip() {
        for n in NoticeKind::ALL {
            assert_eq!(n.as_str().parse::<NoticeKind>(), Ok(n));
            assert_eq!(serde_json::to_value(n).unwrap(), n.as_str());
            assert_eq!(
                serde_json::from_value::<NoticeKind>(serde_json::json!(n.as_str())).unwrap(),
                n
            );
        }
        assert_eq!("High-Risk".parse::<NoticeKind>(), Ok(NoticeKind::HighRisk));
        assert!("monthly".parse::<NoticeKind>().is_err());
    }

    #[test]
    fn names() {
        assert_eq!(check_name(" Kari "), Ok("Kari".into()));
        assert_eq!(check_name("  "), Err(Problem::Empty));
        assert!(check_name(&"å".repeat(NAME_MAX)).is_ok());
        assert_eq!(
            check_name(&"å".repeat(NAME_MAX + 1)),
            Err(Problem::TooLong { max: NAME_MAX })
        );
    }

    fn draft() -> LiaisonDraft {
        LiaisonDraft {
            name: "Kari Nordmann".into(),
            agency: "nav".into(),
            email: "kari@nav.no".into(),
            industries: vec!["renhold".into(), "Renhold".into()],
            notices: vec!["weekly_summary".into(), "draw_published".into()],
            user: Some("  ".into()),
        }
    }

    const IDS: [&str; 2] = ["renhold", "bygg_anlegg"];

    #[test]
    fn a_draft_is_checked_and_normalised() {
        let c = check(&draft(), &IDS).unwrap();
        assert_eq!(c.agency, Agency::Nav);
        assert_eq!(c.industries, vec!["renhold".to_owned()]);
        assert_eq!(
            c.notices,
            vec![NoticeKind::DrawPublished, NoticeKind::WeeklySummary]
        );
        assert_eq!(c.user, None);
    }

    #[test]
    fn each_refusal_names_its_field() {
        type Change = fn(&mut LiaisonDraft);
        let cases: [(Change, &str); 6] = [
            (|d| d.name = " ".into(), "name"),
            (|d| d.agency = "tollvesenet".into(), "agency"),
            (|d| d.email = "kari".into(), "email"),
            (|d| d.industries = vec!["fiske".into()], "industries"),
            (|d| d.notices = vec!["monthly".into()], "notices"),
            (|d| d.notices.clear(), "notices"),
        ];
        for (change, field) in cases {
            let mut d = draft();
            change(&mut d);
            let e = check(&d, &IDS).unwrap_err();
            assert_eq!(e.field, field, "{e:?}");
            assert!(e.english().contains(&format!("'{field}'")), "{}", e.english());
            assert!(e.to_string().contains(&format!("«{field}»")), "{e}");
        }
    }

    #[test]
    fn links_only_akrim_users_of_the_same_agency() {
        assert!(check_link("a", Role::Akrim, Some(Agency::Nav), Agency::Nav).is_ok());
        let e = check_link("a", Role::Akrim, Some(Agency::Politiet), Agency::Nav).unwrap_err();
        assert_eq!(e.field, "user");
        assert!(matches!(e.problem, Problem::AgencyMismatch { .. }));
        let e = check_link("k", Role::Kemner, None, Agency::Kemneren).unwrap_err();
        assert!(matches!(e.problem, Problem::NotAkrim { .. }));
    }

    #[test]
    fn lists_round_trip() {
        assert_eq!(encode_list(["renhold", "bygg_anlegg"]), ",renhold,bygg_anlegg,");
        assert_eq!(encode_list(Vec::<&str>::new()), "");
        assert_eq!(
            decode_list(",renhold,bygg_anlegg,"),
            vec!["renhold", "bygg_anlegg"]
        );
        assert!(decode_list("").is_empty());
    }
}
