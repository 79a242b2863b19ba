//! Who a contract belongs to, and so who may read it and change it by import.
//!
//! A contract is owned by one user: the one whose import first brought it in, until Kemneren
//! moves it to someone else. Contract numbers stay unique across the municipality, so one
//! number is one contract, whoever holds it.
//!
//! - An innkjøper works within their own contracts: they read those only, and their imports
//!   create new contracts (owned by them) and update their own. A row whose number another
//!   owner holds is refused, with a message that says nothing about that contract.
//! - Kemneren works municipality-wide: reads every contract, and an import by Kemneren (or by
//!   the CLI's operations user, who has the role) creates contracts owned by the uploader and
//!   updates any contract, leaving its owner as it was.
//!
//! The scope is a user today; a unit shared by colleagues would be one more variant of
//! [`ContractScope`], and the queries that take [`ContractScope::owner_filter`] would take it.

use super::liaison::Problem;
use super::roles::{Permission, Role};

/// The contracts a person works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractScope {
    /// Every contract in the municipality.
    Municipality,
    /// The contracts this user owns.
    Owner(i64),
}

impl ContractScope {
    /// The scope of a user: municipality-wide for a role that sees every contract, otherwise
    /// the user's own contracts.
    pub fn of(role: Role, user_id: i64) -> Self {
        if role.may(Permission::ViewAllContracts) {
            ContractScope::Municipality
        } else {
            ContractScope::Owner(user_id)
        }
    }

    /// The owner that reads are limited to; `None` for every contract.
    pub fn owner_filter(self) -> Option<i64> {
        match self {
            ContractScope::Municipality => None,
            ContractScope::Owner(id) => Some(id),
        }
    }

    /// Whether a contract owned by `owner` is inside this scope.
    pub fn contains(self, owner: i64) -> bool {
        match self {
            ContractScope::Municipality => true,
            ContractScope::Owner(id) => id == owner,
        }
    }
}

/// Whether a user can be given contracts: an enabled user whose role imports registers
/// (an innkjøper, or Kemneren). An A-krim partner or an administrator could neither see
/// the contract nor keep it up to date.
pub fn check_new_owner(username: &str, role: Role, disabled: bool) -> Result<(), Problem> {
    if !role.may(Permission::ImportContracts) {
        return Err(Problem::CannotOwnContracts {
            username: username.to_owned(),
            role,
        });
    }
    if disabled {
        return Err(Problem::UserDisabled(username.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kemneren_works_municipality_wide_an_innkjoper_within_their_own() {
        assert_eq!(ContractScope::of(Role::Kemner, 7), ContractScope::Municipality);
        assert_eq!(ContractScope::of(Role::Innkjoper, 7), ContractScope::Owner(7));
        assert_eq!(ContractScope::Municipality.owner_filter(), None);
        assert_eq!(ContractScope::Owner(7).owner_filter(), Some(7));
        assert!(ContractScope::Municipality.contains(3));
        assert!(ContractScope::Owner(7).contains(7));
        assert!(!ContractScope::Owner(7).contains(3));
        // Roles that read no contracts at all get the narrowest scope, never the widest.
        for role in [Role::Akrim, Role::Admin] {
            assert_eq!(ContractScope::of(role, 9), ContractScope::Owner(9));
        }
    }

    #[test]
    fn only_enabled_importers_own_contracts() {
        assert!(check_new_owner("anne", Role::Innkjoper, false).is_ok());
        assert!(check_new_owner("kem", Role::Kemner, false).is_ok());
        for role in [Role::Akrim, Role::Admin] {
            assert_eq!(
                check_new_owner("x", role, false),
                Err(Problem::CannotOwnContracts {
                    username: "x".into(),
                    role
                })
            );
        }
        assert_eq!(
            check_new_owner("anne", Role::Innkjoper, true),
            Err(Problem::UserDisabled("anne".into()))
        );
    }
}
