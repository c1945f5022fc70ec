//! The troubleshooter's order: tenant, server, then each connector with each
//! of its domains. Text, Markdown and HTML all walk this one tree.

use phs_model::{Finding, ScopeKind};

pub struct Section<'a> {
    pub title: String,
    pub findings: Vec<&'a Finding>,
    pub children: Vec<Section<'a>>,
}

pub fn layout(findings: &[Finding]) -> Vec<Section<'_>> {
    let of_kind = |k: ScopeKind| findings.iter().filter(move |f| f.scope.kind == k);
    let mut out = Vec::new();
    for (kind, title) in [(ScopeKind::Tenant, "Tenant"), (ScopeKind::Server, "Sync server")] {
        let fs: Vec<&Finding> = of_kind(kind).collect();
        if !fs.is_empty() {
            out.push(Section { title: title.to_owned(), findings: fs, children: Vec::new() });
        }
    }
    // Connectors in the order they first appear (registry order follows the export).
    let mut connectors: Vec<&str> = Vec::new();
    for f in findings {
        if let Some(c) = f.scope.connector.as_deref() {
            if !connectors.contains(&c) {
                connectors.push(c);
            }
        }
    }
    for c in connectors {
        let mine = findings.iter().filter(|f| f.scope.connector.as_deref() == Some(c));
        let own: Vec<&Finding> = mine.clone().filter(|f| f.scope.kind == ScopeKind::Connector).collect();
        let mut domains: Vec<&str> = Vec::new();
        for f in mine.clone() {
            if let Some(d) = f.scope.domain.as_deref() {
                if !domains.contains(&d) {
                    domains.push(d);
                }
            }
        }
        let children = domains
            .into_iter()
            .map(|d| Section {
                title: format!("Domain {d}"),
                findings: mine.clone().filter(|f| f.scope.domain.as_deref() == Some(d)).collect(),
                children: Vec::new(),
            })
            .collect();
        out.push(Section { title: format!("AD connector {c}"), findings: own, children });
    }
    let users: Vec<&Finding> = of_kind(ScopeKind::User).collect();
    if !users.is_empty() {
        out.push(Section { title: "Users".to_owned(), findings: users, children: Vec::new() });
    }
    out
}
