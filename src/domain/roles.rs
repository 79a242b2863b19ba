//! Roles, agencies and what each role may do.
//!
//! Permissions are checked on the server for every route through [`Role::may`]; the UI
//! only hides what the server would refuse anyway.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Procurement officer: uploads registers, sees own imports and their contracts' scores.
    Innkjoper,
    /// Kemneren: everything an innkjøper may, plus draws, liaisons, rules, all contracts.
    Kemner,
    /// A-krim partner: drawn and flagged contracts, cases; nothing else.
    Akrim,
    /// System owner: users, roles, tokens, settings.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Agency {
    Arbeidstilsynet,
    Skatteetaten,
    Politiet,
    Nav,
    Kemneren,
}

/// What a request may want to do. Each route names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Being logged in at all (own profile, home page).
    SignedIn,
    ImportContracts,
    ViewOwnImports,
    ViewAllContracts,
    RunDraws,
    ReadPublishedDraws,
    ManageRules,
    ReadRules,
    /// Work cases: read them in full, change status, assign, note, find, close, reopen
    /// (Kemneren: every case; an A-krim partner: the cases shared with their agency).
    ReviewCases,
    /// See the status and outcome of cases on one's own contracts (`domain::case`).
    ReadCaseOutcomes,
    /// Share a case with an agency, or stop sharing it (Kemneren).
    ShareCases,
    ManageUsers,
    ReadAuditLog,
    /// The contacts at the A-krim agencies who receive mail (kemneren and the admin).
    ManageLiaisons,
    /// The mail queue: see it, put dead letters back (kemneren and the admin).
    ManageOutbox,
    /// The hit-rate and city-council reports (kemneren).
    ReadReports,
    /// Give a contract to another owner (kemneren, and the admin when someone leaves); see
    /// `domain::ownership`.
    MoveContractOwners,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("ukjent rolle «{0}»: bruk innkjoper, kemner, akrim eller admin")]
    UnknownRole(String),
    #[error("ukjent etat «{0}»: bruk arbeidstilsynet, skatteetaten, politiet, nav eller kemneren")]
    UnknownAgency(String),
    #[error("rollen akrim krever en etat (--agency arbeidstilsynet|skatteetaten|politiet|nav|kemneren)")]
    AgencyRequired,
    #[error("bare rollen akrim har etat, ikke rollen {0}: la etat være tom (uten --agency)")]
    AgencyNotAllowed(Role),
}

impl RoleError {
    /// The same problem in English, for API clients (`Display` is Norwegian, for people).
    pub fn english(&self) -> String {
        match self {
            RoleError::UnknownRole(r) => {
                format!("unknown role '{r}': use innkjoper, kemner, akrim or admin")
            }
            RoleError::UnknownAgency(a) => format!(
                "unknown agency '{a}': use arbeidstilsynet, skatteetaten, politiet, nav or kemneren"
            ),
            RoleError::AgencyRequired => "the role akrim requires an agency: set 'agency' to arbeidstilsynet, skatteetaten, politiet, nav or kemneren".into(),
            RoleError::AgencyNotAllowed(role) => format!(
                "only the role akrim has an agency; leave 'agency' out for the role {role}"
            ),
        }
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Innkjoper, Role::Kemner, Role::Akrim, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Innkjoper => "innkjoper",
            Role::Kemner => "kemner",
            Role::Akrim => "akrim",
            Role::Admin => "admin",
        }
    }

    /// The name shown in the (Norwegian) UI.
    pub fn label(self) -> &'static str {
        match self {
            Role::Innkjoper => "Innkjøper",
            Role::Kemner => "Kemneren",
            Role::Akrim => "A-krim-partner",
            Role::Admin => "Administrator",
        }
    }

    /// Least privilege: each role gets what its work needs (README, "First login") and nothing more.
    /// The admin runs the system but does not read contracts or cases.
    pub fn may(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Innkjoper => matches!(
                p,
                SignedIn | ImportContracts | ViewOwnImports | ReadRules | ReadCaseOutcomes
            ),
            Role::Kemner => matches!(
                p,
                SignedIn
                    | ImportContracts
                    | ViewOwnImports
                    | ViewAllContracts
                    | RunDraws
                    | ReadPublishedDraws
                    | ManageRules
                    | ReadRules
                    | ReviewCases
                    | ReadCaseOutcomes
                    | ShareCases
                    | ManageLiaisons
                    | ManageOutbox
                    | MoveContractOwners
                    | ReadReports
            ),
            Role::Akrim => matches!(p, SignedIn | ReadPublishedDraws | ReviewCases | ReadRules),
            Role::Admin => matches!(
                p,
                SignedIn
                    | ManageUsers
                    | ReadAuditLog
                    | ReadRules
                    | ManageLiaisons
                    | ManageOutbox
                    | MoveContractOwners
            ),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "innkjoper" | "innkjøper" => Ok(Role::Innkjoper),
            "kemner" | "kemneren" => Ok(Role::Kemner),
            "akrim" | "a-krim" => Ok(Role::Akrim),
            "admin" => Ok(Role::Admin),
            _ => Err(RoleError::UnknownRole(s.to_owned())),
        }
    }
}

impl Agency {
    pub fn as_str(self) -> &'static str {
        match self {
            Agency::Arbeidstilsynet => "arbeidstilsynet",
            Agency::Skatteetaten => "skatteetaten",
            Agency::Politiet => "politiet",
            Agency::Nav => "nav",
            Agency::Kemneren => "kemneren",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Agency::Arbeidstilsynet => "Arbeidstilsynet",
            Agency::Skatteetaten => "Skatteetaten",
            Agency::Politiet => "Politiet",
            Agency::Nav => "NAV",
            Agency::Kemneren => "Kemneren",
        }
    }
}

impl fmt::Display for Agency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Agency {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "arbeidstilsynet" => Ok(Agency::Arbeidstilsynet),
            "skatteetaten" => Ok(Agency::Skatteetaten),
            "politiet" => Ok(Agency::Politiet),
            "nav" => Ok(Agency::Nav),
            "kemneren" => Ok(Agency::Kemneren),
            _ => Err(RoleError::UnknownAgency(s.to_owned())),
        }
    }
}

/// Checks the role/agency combination: an A-krim partner must say which agency they speak
/// for, and nobody else has one (an agency on a kemner would read as an A-krim liaison).
pub fn validate_role_agency(role: Role, agency: Option<Agency>) -> Result<(), RoleError> {
    match (role, agency) {
        (Role::Akrim, None) => Err(RoleError::AgencyRequired),
        (Role::Akrim, Some(_)) | (_, None) => Ok(()),
        (other, Some(_)) => Err(RoleError::AgencyNotAllowed(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn least_privilege() {
        assert!(!Role::Akrim.may(Permission::ManageUsers));
        assert!(!Role::Akrim.may(Permission::ImportContracts));
        assert!(!Role::Innkjoper.may(Permission::RunDraws));
        assert!(!Role::Admin.may(Permission::ReviewCases));
        assert!(!Role::Admin.may(Permission::ReadCaseOutcomes));
        assert!(!Role::Admin.may(Permission::ShareCases));
        assert!(!Role::Akrim.may(Permission::ShareCases));
        assert!(!Role::Innkjoper.may(Permission::ReviewCases));
        assert!(Role::Innkjoper.may(Permission::ReadCaseOutcomes));
        assert!(Role::Kemner.may(Permission::ShareCases));
        assert!(Role::Kemner.may(Permission::RunDraws));
        assert!(Role::Admin.may(Permission::ManageUsers));
        assert!(Role::Kemner.may(Permission::ManageLiaisons));
        assert!(Role::Admin.may(Permission::ManageLiaisons));
        assert!(!Role::Akrim.may(Permission::ManageLiaisons));
        assert!(!Role::Innkjoper.may(Permission::ManageLiaisons));
        assert!(Role::Kemner.may(Permission::MoveContractOwners));
        assert!(Role::Admin.may(Permission::MoveContractOwners));
        assert!(!Role::Innkjoper.may(Permission::MoveContractOwners));
        assert!(!Role::Akrim.may(Permission::MoveContractOwners));
    }

    #[test]
    fn akrim_needs_agency() {
        assert_eq!(
            validate_role_agency(Role::Akrim, None),
            Err(RoleError::AgencyRequired)
        );
        assert!(validate_role_agency(Role::Akrim, Some(Agency::Nav)).is_ok());
    }

    #[test]
    fn only_akrim_has_an_agency() {
        for role in [Role::Innkjoper, Role::Kemner, Role::Admin] {
            assert!(validate_role_agency(role, None).is_ok());
            let e = validate_role_agency(role, Some(Agency::Kemneren));
            assert_eq!(e, Err(RoleError::AgencyNotAllowed(role)));
            let e = e.err().unwrap_or_else(|| panic!());
            assert!(e.to_string().contains("bare rollen akrim"), "{e}");
            assert!(e.english().contains("only the role akrim"), "{}", e.english());
        }
    }
}
