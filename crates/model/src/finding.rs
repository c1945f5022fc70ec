//! What a rule says about one scope: a status, a message a person can act on,
//! the evidence behind it and the fix.

use serde::{Deserialize, Serialize};

/// Ordered by precedence, lowest first, so the overall result of a run is the
/// maximum: a failure outranks a check that could not be evaluated, which
/// outranks a warning. A monitoring system must see CRITICAL before UNKNOWN
/// (one broken domain is news even when another could not be read) and
/// UNKNOWN before WARNING (a warning says the rest was judged, which is not
/// true when something could not be), the Nagios plugin convention.
/// Serialised by name, so the order is free to follow precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not applicable, or the evidence was not supplied; the message says why.
    Skipped,
    Pass,
    Warn,
    /// Could not be evaluated; the message gives the cause.
    Error,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }

    /// Monitoring-plugin exit code for a run whose overall status is this:
    /// 0 all pass, 1 warnings, 2 failures, 3 could not evaluate. `Skipped`
    /// alone is 0 here; a run where everything was skipped judged nothing,
    /// and its overall status is `Error` (see `Diagnosis::overall`).
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Skipped | Status::Pass => 0,
            Status::Warn => 1,
            Status::Fail => 2,
            Status::Error => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Tenant,
    Server,
    Connector,
    Domain,
    User,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Tenant => "tenant",
            ScopeKind::Server => "server",
            ScopeKind::Connector => "connector",
            ScopeKind::Domain => "domain",
            ScopeKind::User => "user",
        }
    }
}

/// Where a finding applies. `connector` is the connector's name, `domain` the
/// domain's FQDN (or partition DN when the FQDN is unknown).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub kind: ScopeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The user a `user` finding is about, as the analyst named them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Scope {
    pub fn tenant() -> Scope {
        Scope { kind: ScopeKind::Tenant, connector: None, domain: None, user: None }
    }
    pub fn server() -> Scope {
        Scope { kind: ScopeKind::Server, connector: None, domain: None, user: None }
    }
    pub fn connector(name: &str) -> Scope {
        Scope { kind: ScopeKind::Connector, connector: Some(name.to_owned()), domain: None, user: None }
    }
    pub fn domain(connector: &str, domain: &str) -> Scope {
        Scope {
            kind: ScopeKind::Domain,
            connector: Some(connector.to_owned()),
            domain: Some(domain.to_owned()),
            user: None,
        }
    }
    /// A user, with the connector and domain they were found in when known.
    pub fn user(user: &str, connector: Option<&str>, domain: Option<&str>) -> Scope {
        Scope {
            kind: ScopeKind::User,
            connector: connector.map(str::to_owned),
            domain: domain.map(str::to_owned),
            user: Some(user.to_owned()),
        }
    }
}

/// One fact behind a finding, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub value: String,
    /// File, record or query the fact was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Evidence {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Evidence {
        Evidence { label: label.into(), value: value.into(), source: None }
    }

    pub fn from_source(mut self, source: impl Into<String>) -> Evidence {
        self.source = Some(source.into());
        self
    }
}

/// What to do about a finding: a sentence and, where they exist, the exact
/// commands. phs-doctor prints them; it never runs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub name: String,
    pub status: Status,
    pub scope: Scope,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub remediation: Option<Remediation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_fail_error_warn_pass_skipped() {
        let mut all = [Status::Error, Status::Pass, Status::Fail, Status::Skipped, Status::Warn];
        all.sort();
        assert_eq!(all, [Status::Skipped, Status::Pass, Status::Warn, Status::Error, Status::Fail]);
        let codes: Vec<i32> = all.iter().map(|s| s.exit_code()).collect();
        assert_eq!(codes, [0, 0, 1, 3, 2]);
    }

    #[test]
    fn serialised_by_name() {
        assert_eq!(serde_json::to_string(&Status::Error).unwrap(), "\"error\"");
        assert_eq!(serde_json::from_str::<Status>("\"fail\"").unwrap(), Status::Fail);
    }
}
