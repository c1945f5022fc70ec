//! The troubleshooter's order: tenant, server, then each connector with each
//! of its domains. Text, Markdown and HTML all walk this one tree.

use phs_model::{Finding, ScopeKind};
use std::collections::HashMap;

pub struct Section<'a> {
    pub title: String,
    pub findings: Vec<&'a Finding>,
    pub children: Vec<Section<'a>>,
}

/// A connector's name, its own findings, and its domains with theirs.
type ConnectorGroup<'a> = (&'a str, Vec<&'a Finding>, Vec<(&'a str, Vec<&'a Finding>)>);

/// One pass over the findings, indexed by connector and domain: the cost
/// grows with the number of findings, not with findings times connectors.
pub fn layout(findings: &[Finding]) -> Vec<Section<'_>> {
    let mut tenant = Vec::new();
    let mut server = Vec::new();
    let mut users = Vec::new();
    // Connectors in the order they first appear (registry order follows the
    // export), each with its own findings and its domains in order.
    let mut connectors: Vec<ConnectorGroup<'_>> = Vec::new();
    let mut connector_at: HashMap<&str, usize> = HashMap::new();
    let mut domain_at: HashMap<(&str, &str), usize> = HashMap::new();
    for f in findings {
        match (f.scope.kind, f.scope.connector.as_deref()) {
            (ScopeKind::Tenant, _) => tenant.push(f),
            (ScopeKind::User, _) => users.push(f),
            (_, Some(c)) => {
                let ci = *connector_at.entry(c).or_insert_with(|| {
                    connectors.push((c, Vec::new(), Vec::new()));
                    connectors.len() - 1
                });
                match f.scope.domain.as_deref() {
                    Some(d) => {
                        let domains = &mut connectors[ci].2;
                        let di = *domain_at.entry((c, d)).or_insert_with(|| {
                            domains.push((d, Vec::new()));
                            domains.len() - 1
                        });
                        domains[di].1.push(f);
                    }
                    None if f.scope.kind == ScopeKind::Connector => connectors[ci].1.push(f),
                    None => server.push(f),
                }
            }
            (_, None) => server.push(f),
        }
    }
    let mut out = Vec::new();
    for (title, fs) in [("Tenant", tenant), ("Sync server", server)] {
        if !fs.is_empty() {
            out.push(Section { title: title.to_owned(), findings: fs, children: Vec::new() });
        }
    }
    for (c, own, domains) in connectors {
        let children = domains
            .into_iter()
            .map(|(d, fs)| Section { title: format!("Domain {d}"), findings: fs, children: Vec::new() })
            .collect();
        out.push(Section { title: format!("AD connector {c}"), findings: own, children });
    }
    // One section per user, named as the analyst named them, with where AD
    // placed them once it did.
    let mut by_user: Vec<(String, Vec<&Finding>)> = Vec::new();
    for f in users {
        let title = user_title(f);
        match by_user.iter_mut().find(|(t, _)| *t == title) {
            Some((_, fs)) => fs.push(f),
            None => by_user.push((title, vec![f])),
        }
    }
    for (title, findings) in by_user {
        out.push(Section { title, findings, children: Vec::new() });
    }
    out
}

fn user_title(f: &Finding) -> String {
    let who = f.scope.user.as_deref().unwrap_or("(unnamed)");
    match f.scope.domain.as_deref() {
        Some(d) => format!("User {who} (domain {d})"),
        None => format!("User {who}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::{Scope, Status};

    fn finding(scope: Scope) -> Finding {
        Finding {
            code: "PHS000".into(),
            name: "x".into(),
            status: Status::Pass,
            scope,
            message: String::new(),
            evidence: vec![],
            remediation: None,
        }
    }

    #[test]
    fn the_troubleshooters_order_in_one_pass() {
        let fs = vec![
            finding(Scope::connector("b")),
            finding(Scope::server()),
            finding(Scope::domain("b", "b.test")),
            finding(Scope::connector("a")),
            finding(Scope::domain("a", "a.test")),
            finding(Scope::domain("b", "c.b.test")),
            finding(Scope::tenant()),
        ];
        let titles: Vec<String> = layout(&fs).iter().map(|s| s.title.clone()).collect();
        assert_eq!(titles, ["Tenant", "Sync server", "AD connector b", "AD connector a"]);
        let b = &layout(&fs)[2];
        let domains: Vec<&str> = b.children.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(domains, ["Domain b.test", "Domain c.b.test"]);
    }
}
