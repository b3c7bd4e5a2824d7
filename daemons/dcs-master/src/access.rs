//! Who may do what: an operator (or an API token) holds grants, each a role on one tenant or
//! on every tenant (`*`); an action on a tenant is allowed when a grant covers that tenant
//! with a role that includes the action. Pure: the API resolves the caller, then asks here.

use serde::{Deserialize, Serialize};

/// A role, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the fleet, sales, stock, rejections and the audit log.
    Viewer,
    /// A viewer who also changes prices and the catalog.
    Operator,
    /// An operator who also revokes keys and manages accounts and tokens.
    Admin,
}

impl Role {
    /// The role named `s` (`viewer`, `operator`, `admin`).
    ///
    /// # Errors
    /// A message naming the roles there are.
    pub fn parse(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!("role: {other:?} is not a role: viewer, operator or admin")),
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// What a caller asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read a tenant's data (or, with [`Scope::Shared`], what every tenant shares).
    Read,
    /// Change central prices or the catalog.
    ChangePrices,
    /// Revoke keys, manage accounts and tokens.
    Administer,
}

impl Action {
    fn needs(self) -> Role {
        match self {
            Action::Read => Role::Viewer,
            Action::ChangePrices => Role::Operator,
            Action::Administer => Role::Admin,
        }
    }
}

/// One grant: a role on a tenant, or on every tenant when `tenant` is `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The tenant, or `*`.
    pub tenant: String,
    /// The role.
    pub role: Role,
}

/// What an action is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// One tenant's data.
    Tenant(&'a str),
    /// Data shared by every tenant (the fleet of regions, the global price list): a grant on
    /// `*` is needed to change it; any grant reads it.
    Shared,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The operator's or token's name (the author in the audit log).
    pub name: String,
    /// Its grants.
    pub grants: Vec<Grant>,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// No grant covers the scope with a role that includes the action.
    #[error("{who} may not {action} {scope}: that needs the {role} role there")]
    Denied {
        /// The caller.
        who: String,
        /// The action, in words.
        action: &'static str,
        /// The scope, in words.
        scope: String,
        /// The role needed.
        role: &'static str,
    },
}

impl Principal {
    /// Ok when a grant allows `action` on `scope`.
    ///
    /// # Errors
    /// [`AccessError::Denied`] saying what role is needed where.
    pub fn authorize(&self, action: Action, scope: Scope<'_>) -> Result<(), AccessError> {
        let need = action.needs();
        let covers = |g: &Grant| match scope {
            Scope::Tenant(t) => g.tenant == "*" || g.tenant == t,
            Scope::Shared if action == Action::Read => true,
            Scope::Shared => g.tenant == "*",
        };
        if self.grants.iter().any(|g| g.role >= need && covers(g)) {
            return Ok(());
        }
        Err(AccessError::Denied {
            who: self.name.clone(),
            action: match action {
                Action::Read => "read",
                Action::ChangePrices => "change prices or the catalog of",
                Action::Administer => "administer",
            },
            scope: match scope {
                Scope::Tenant(t) => format!("tenant {t:?}"),
                Scope::Shared => "what every tenant shares".into(),
            },
            role: need.name(),
        })
    }

    /// The tenants this caller may read, or None for every tenant.
    pub fn readable_tenants(&self) -> Option<Vec<String>> {
        if self.grants.iter().any(|g| g.tenant == "*") {
            return None;
        }
        let mut t: Vec<String> = self.grants.iter().map(|g| g.tenant.clone()).collect();
        t.sort();
        t.dedup();
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(grants: &[(&str, Role)]) -> Principal {
        Principal {
            name: "alice".into(),
            grants: grants.iter().map(|(t, r)| Grant { tenant: (*t).into(), role: *r }).collect(),
        }
    }

    #[test]
    fn a_grant_covers_its_tenant_and_roles_nest() {
        let viewer = p(&[("acme", Role::Viewer)]);
        assert!(viewer.authorize(Action::Read, Scope::Tenant("acme")).is_ok());
        assert!(viewer.authorize(Action::Read, Scope::Tenant("globex")).is_err());
        assert!(viewer.authorize(Action::ChangePrices, Scope::Tenant("acme")).is_err());
        let operator = p(&[("acme", Role::Operator)]);
        assert!(operator.authorize(Action::ChangePrices, Scope::Tenant("acme")).is_ok());
        assert!(operator.authorize(Action::Read, Scope::Tenant("acme")).is_ok());
        assert!(operator.authorize(Action::ChangePrices, Scope::Tenant("globex")).is_err());
        assert!(operator.authorize(Action::Administer, Scope::Tenant("acme")).is_err());
        let admin = p(&[("acme", Role::Admin)]);
        for a in [Action::Read, Action::ChangePrices, Action::Administer] {
            assert!(admin.authorize(a, Scope::Tenant("acme")).is_ok());
            assert!(admin.authorize(a, Scope::Tenant("globex")).is_err());
        }
    }

    #[test]
    fn shared_data_is_read_by_any_grant_and_changed_only_by_a_grant_on_every_tenant() {
        let acme = p(&[("acme", Role::Admin)]);
        assert!(acme.authorize(Action::Read, Scope::Shared).is_ok());
        assert!(acme.authorize(Action::ChangePrices, Scope::Shared).is_err());
        let all = p(&[("*", Role::Operator)]);
        assert!(all.authorize(Action::ChangePrices, Scope::Shared).is_ok());
        assert!(all.authorize(Action::ChangePrices, Scope::Tenant("any")).is_ok());
        assert!(all.authorize(Action::Administer, Scope::Shared).is_err());
        assert!(p(&[]).authorize(Action::Read, Scope::Shared).is_err(), "no grant reads nothing");
    }

    #[test]
    fn the_refusal_says_which_role_is_needed_where() {
        let e = p(&[("acme", Role::Viewer)])
            .authorize(Action::ChangePrices, Scope::Tenant("acme"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "alice may not change prices or the catalog of tenant \"acme\": that needs the operator role there"
        );
    }

    #[test]
    fn readable_tenants_are_the_granted_ones_or_all() {
        assert_eq!(
            p(&[("b", Role::Viewer), ("a", Role::Admin), ("b", Role::Operator)]).readable_tenants(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(p(&[("*", Role::Viewer)]).readable_tenants(), None);
        assert_eq!(Role::parse("operator"), Ok(Role::Operator));
        assert!(Role::parse("root").unwrap_err().contains("viewer, operator or admin"));
    }
}
