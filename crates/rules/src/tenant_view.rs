//! How the tenant's facts stand to one evaluation: when they were read, and
//! whether they are about the tenant this sync server writes to. The tenant
//! checks (PHS001, PHS011, PHS012) judge Graph's facts only through this, so
//! a tenant read today never passes a check about another day, and another
//! tenant's facts never pass a check about this server's.

use crate::context::{human_age, human_duration, Context};
use crate::finding::Draft;
use crate::knowledge::event_ids::HEARTBEAT;
use jiff::SignedDuration;
use phs_model::graph::fields::VERIFIED_DOMAINS;
use phs_model::{Guid, Status, TenantFacts, Timestamp};

/// How far the evaluation time may be from the time the tenant was read and
/// still be judged by it: a device code sign-in may keep the read waiting up
/// to 15 minutes after the collection started, plus ordinary clock drift.
pub const READ_TIME_TOLERANCE: SignedDuration = SignedDuration::from_mins(30);

/// A tenant time this far after the read time is more than ordinary drift
/// (5 minutes, the skew Kerberos and common token validation allow): the
/// clocks disagree enough to make every age wrong.
pub const CLOCK_SKEW_TOLERANCE: SignedDuration = SignedDuration::from_mins(5);

/// When the tenant's facts were true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dated {
    /// The read recorded its own time.
    ReadAt(Timestamp),
    /// An older snapshot without a read time: its collection time.
    CollectedAt(Timestamp),
}

impl Dated {
    pub fn time(self) -> Timestamp {
        match self {
            Dated::ReadAt(t) | Dated::CollectedAt(t) => t,
        }
    }
}

/// Whether the tenant asked is the tenant this server syncs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Matched on the named fact.
    Same(String),
    /// Another tenant's facts: why.
    Differs(String),
    /// Could not be matched: why. `blocks` when a fact the match needs could
    /// not be read (then no check may pass); not when the evidence simply
    /// names no server (a Graph-only run).
    Unknown { why: String, blocks: bool },
}

/// The tenant facts with their time and their identity.
pub struct TenantView<'a> {
    pub facts: &'a TenantFacts,
    pub dated: Dated,
    pub identity: Identity,
}

impl<'a> TenantView<'a> {
    pub fn of(cx: &Context<'a>) -> Option<TenantView<'a>> {
        let facts = cx.snapshot.tenant.as_ref()?;
        let dated = match facts.read_at {
            Some(t) => Dated::ReadAt(t),
            None => Dated::CollectedAt(cx.snapshot.collected_at),
        };
        Some(TenantView { facts, dated, identity: identity(cx, facts) })
    }

    /// The time the tenant's facts are judged at.
    pub fn at(&self) -> Timestamp {
        self.dated.time()
    }

    /// How old `t` was when the tenant was read: "12 min before the read",
    /// or, for a time after it, the skew.
    pub fn age(&self, t: Timestamp) -> String {
        let d = self.at().duration_since(t);
        if d.is_negative() {
            format!("{} after the read time (clock skew)", human_duration(-d))
        } else {
            human_age(d).replace(" ago", " before the read")
        }
    }

    /// `t` with its age, or Graph's null.
    pub fn describe(&self, t: Option<Timestamp>) -> String {
        t.map_or("never (null)".to_owned(), |t| format!("{t} ({})", self.age(t)))
    }

    /// Whether `t` lies within `window` before the read (a time slightly
    /// after it, within the skew tolerance, counts as just now).
    pub fn within(&self, t: Timestamp, window: SignedDuration) -> bool {
        t >= self.at() - window && t <= self.at() + CLOCK_SKEW_TOLERANCE
    }

    /// The skew `t` shows beyond the tolerance, if any.
    pub fn skew(&self, t: Timestamp) -> Option<SignedDuration> {
        let ahead = t.duration_since(self.at());
        (ahead > CLOCK_SKEW_TOLERANCE).then_some(ahead)
    }

    /// The evidence every tenant finding carries: when the facts were read,
    /// which organization answered, and how it matched this server.
    pub fn with_evidence(&self, mut d: Draft) -> Draft {
        d = match self.dated {
            // A failed sign-in read nothing: no read time to show.
            _ if self.facts.sign_in_error.is_some() => d,
            Dated::ReadAt(t) => d.evidence("Tenant read at", format!("{t} (the reading machine's clock)")),
            Dated::CollectedAt(t) => d.evidence(
                "Tenant read at",
                format!("not recorded (older snapshot); taken as the snapshot's collection time {t}"),
            ),
        };
        if let Some(org) = &self.facts.organization {
            let name = org.display_name.as_deref().unwrap_or("(no name)");
            let id = org.id.as_deref().unwrap_or("no id");
            d = d.evidence("Organization", format!("{name} ({id})"));
        }
        if let Some(tid) = &self.facts.token_tenant_id {
            d = d.evidence("Signed in to tenant (token tid)", tid.clone());
        }
        let matched = match &self.identity {
            Identity::Same(how) => format!("yes: {how}"),
            Identity::Differs(why) => format!("no: {why}"),
            Identity::Unknown { why, .. } => format!("not known: {why}"),
        };
        d.evidence("The sync server's tenant", matched)
    }

    /// Why these facts are not about this server's tenant, if they may not be.
    fn identity_blocker(&self) -> Option<String> {
        match &self.identity {
            Identity::Differs(why) => {
                Some(format!("The tenant asked is not the tenant this sync server writes to: {why}"))
            }
            Identity::Unknown { why, blocks: true } => {
                Some(format!("Whether the tenant asked is the one this sync server writes to is unknown: {why}"))
            }
            _ => None,
        }
    }

    /// Why these facts say nothing about the evaluation time, if they don't:
    /// the tenant was read too far from it.
    fn time_blocker(&self, cx: &Context) -> Option<String> {
        let gap = cx.now.duration_since(self.at());
        if gap.abs() <= READ_TIME_TOLERANCE {
            return None;
        }
        let (how_far, side) = if gap.is_negative() { (-gap, "after") } else { (gap, "before") };
        let read = match self.dated {
            Dated::ReadAt(t) => format!("The tenant was read at {t}"),
            Dated::CollectedAt(t) => format!("The tenant was read at the snapshot's collection time {t}"),
        };
        Some(format!(
            "{read}, {} {side} the evaluation time {}: its facts say nothing about the evaluation time",
            human_duration(how_far),
            cx.now
        ))
    }

    /// Why no verdict about this server's tenant at the evaluation time can
    /// be drawn from these facts, if none can: another tenant was asked, or
    /// the tenant was read too far from the evaluation time.
    pub fn blocker(&self, cx: &Context) -> Option<String> {
        self.identity_blocker().or_else(|| self.time_blocker(cx))
    }

    /// Applies [`TenantView::blocker`] to a finding decided on Graph's
    /// facts: the verdict becomes `error` with the cause, and what the read
    /// showed stays in the message and the evidence.
    pub fn judged(&self, cx: &Context, d: Draft) -> Draft {
        let why = self.blocker(cx);
        self.blocked(d, why)
    }

    /// For a finding decided on the sync server's own evidence while the
    /// tenant was asked too: only another tenant blocks it (the server's
    /// evidence has its own time), since the configuration then names the
    /// wrong tenant.
    pub fn judged_without_graph(&self, d: Draft) -> Draft {
        let why = self.identity_blocker();
        self.blocked(d, why)
    }

    fn blocked(&self, mut d: Draft, why: Option<String>) -> Draft {
        d = self.with_evidence(d);
        let Some(why) = why else { return d };
        let as_read = d.message().to_owned();
        d.set(Status::Error, format!("{why}. As read: {as_read}"));
        match &self.identity {
            Identity::Differs(_) | Identity::Unknown { blocks: true, .. } => d.fix(
                "Ask the tenant this server writes to: set [graph] tenant_id (or --tenant) to the tenant of the Entra connector account, and sign in with an account of that tenant.",
                &[],
            ),
            _ => d.fix(
                "Judge the tenant at the time it is read: run diagnose without --now (and without [evaluation] now), or collect a fresh snapshot with the tenant.",
                &[],
            ),
        }
    }
}

/// The tenant domains this server's Entra connectors name, with the account
/// (or connector name) that names each.
fn server_tenants(cx: &Context) -> Vec<(String, String)> {
    let Some(cfg) = &cx.snapshot.server.config else { return Vec::new() };
    cfg.entra_connectors()
        .filter_map(|c| {
            let domain = c.entra_tenant_domain()?;
            let named_by = match c.entra.as_ref().and_then(|e| e.account.as_deref()) {
                Some(a) if a.to_ascii_lowercase().ends_with(&format!("@{domain}")) => {
                    format!("connector account {a}")
                }
                _ => format!("connector name {}", c.name),
            };
            Some((domain, named_by))
        })
        .collect()
}

fn identity(cx: &Context, facts: &TenantFacts) -> Identity {
    let servers = server_tenants(cx);
    let Some(org) = &facts.organization else {
        // With a tenant to match against, the match is a fact that failed.
        let why = match &facts.organization_error {
            Some(e) => format!("the organization could not be read ({e})"),
            None => "the organization was not read".to_owned(),
        };
        return Identity::Unknown { why, blocks: !servers.is_empty() };
    };
    let org_id = org.id.as_deref().and_then(Guid::parse);
    let tid = facts.token_tenant_id.as_deref().and_then(Guid::parse);
    if let (Some(o), Some(t)) = (&org_id, &tid) {
        if o != t {
            return Identity::Differs(format!(
                "the access token was issued for tenant {}, but Graph answered for organization {}",
                lower(t),
                lower(o)
            ));
        }
    }
    let domains = &org.verified_domains;
    let domains_known = org.unreadable(VERIFIED_DOMAINS).is_none() && !domains.is_empty();
    let shown_domains = || if domains.is_empty() { "none".to_owned() } else { domains.join(", ") };
    // The tenant as configured: a GUID must be the organization's id, a
    // domain one of its verified domains.
    let asked = facts.tenant.trim();
    if let Some(g) = Guid::parse(asked) {
        if let Some(o) = org_id.as_ref().or(tid.as_ref()) {
            if &g != o {
                return Identity::Differs(format!("tenant {asked} was asked, but organization {} answered", lower(o)));
            }
        }
    } else if asked.contains('.') && domains_known && !domains.iter().any(|d| d.eq_ignore_ascii_case(asked)) {
        return Identity::Differs(format!(
            "tenant {asked} was asked, but it is not a verified domain of the organization that answered ({})",
            shown_domains()
        ));
    }
    if servers.is_empty() {
        let why = match &cx.snapshot.server.config {
            None => "no configuration export was given, so the tenant this server writes to is not known".to_owned(),
            Some(_) => "the configuration export has no Entra connector naming a tenant domain".to_owned(),
        };
        return Identity::Unknown { why, blocks: false };
    }
    if !domains_known {
        let why = match org.unreadable(VERIFIED_DOMAINS) {
            Some(e) => format!("the organization's verifiedDomains could not be read ({e})"),
            None => "Graph listed no verified domains for the organization".to_owned(),
        };
        return Identity::Unknown { why, blocks: true };
    }
    let verified = |d: &str| domains.iter().any(|v| v.eq_ignore_ascii_case(d));
    if let Some((d, by)) = servers.iter().find(|(d, _)| !verified(d)) {
        return Identity::Differs(format!(
            "this server writes to {d} ({by}), which is not a verified domain of the organization that answered ({})",
            shown_domains()
        ));
    }
    let named: Vec<String> = servers.iter().map(|(d, by)| format!("{d} ({by})")).collect();
    Identity::Same(format!("{} is a verified domain of the organization", named.join(", ")))
}

/// A GUID as Entra ID shows tenant ids: lower case.
fn lower(g: &Guid) -> String {
    g.as_str().to_ascii_lowercase()
}

/// Why this server itself would not be what keeps the tenant's sync times
/// fresh, at the evaluation time: it is in staging mode, or its log shows
/// the whole heartbeat window without one heartbeat.
pub fn server_quiet(cx: &Context) -> Option<String> {
    if crate::checks::staging::staging_said(cx) {
        return Some("this sync server is in staging mode (PHS002), so it exports nothing".to_owned());
    }
    let window = cx.settings.heartbeat_window;
    let phs_on = cx.ad_connectors().iter().any(|(_, ad)| ad.phs.as_ref().is_some_and(|p| p.enabled));
    let seen_all = cx.window_coverage(window).is_some_and(|c| c.complete);
    if phs_on && seen_all && cx.recent(&[HEARTBEAT], window).next().is_none() {
        return Some(format!(
            "this sync server wrote no password hash sync heartbeat (event 654) in the last {} (PHS004)",
            human_duration(window)
        ));
    }
    None
}

/// What keeps a tenant fresh that this server does not, worded for a finding.
pub fn fresh_elsewhere(quiet: &str, identity: &Identity) -> String {
    let wrong_tenant = match identity {
        Identity::Same(_) => "",
        _ => ", or the tenant asked is not the one this server writes to",
    };
    format!(
        " But {quiet}: the tenant's times are tenant-wide, so something else keeps them fresh (another Entra Connect server, or a Cloud Sync agent){wrong_tenant}. They say nothing about this server's forests."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::Settings;

    fn identity_of(s: &phs_model::Snapshot) -> Identity {
        let settings = Settings::default();
        let cx = Context::new(s, now(), &settings);
        TenantView::of(&cx).expect("tenant").identity
    }

    fn with(t: TenantFacts) -> phs_model::Snapshot {
        let mut s = snapshot_with_export();
        s.tenant = Some(t);
        s
    }

    #[test]
    fn asked_by_domain_it_must_be_verified_in_any_case() {
        let mut t = tenant(true, Some(10), Some(5));
        t.tenant = "Fabrikam.COM".into();
        assert!(matches!(identity_of(&with(t.clone())), Identity::Same(_)));
        t.tenant = "tailspintoys.onmicrosoft.com".into();
        match identity_of(&with(t)) {
            Identity::Differs(why) => assert!(
                why.contains("tenant tailspintoys.onmicrosoft.com was asked")
                    && why.contains("fabrikam.com, fabrikam.onmicrosoft.com"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_entra_connector_must_write_to_the_tenant_asked() {
        let mut s = with(tenant(true, Some(10), Some(5)));
        let cfg = s.server.config.as_mut().unwrap();
        let mut second = cfg.entra_connectors().next().unwrap().clone();
        second.name = "contoso.onmicrosoft.com - AAD".into();
        second.entra = None;
        cfg.connectors.push(second);
        match identity_of(&s) {
            Identity::Differs(why) => {
                assert!(
                    why.contains("writes to contoso.onmicrosoft.com (connector name contoso.onmicrosoft.com - AAD)"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_an_account_the_default_connector_name_matches() {
        let mut s = with(tenant(true, Some(10), Some(5)));
        for c in &mut s.server.config.as_mut().unwrap().connectors {
            c.entra = None;
        }
        match identity_of(&s) {
            Identity::Same(how) => assert!(how.contains("connector name fabrikam.onmicrosoft.com - AAD"), "{how}"),
            other => panic!("{other:?}"),
        }
        // A renamed connector without an account names no tenant: unknown, not blocking.
        for c in &mut s.server.config.as_mut().unwrap().connectors {
            if c.kind == phs_model::ConnectorKind::EntraId {
                c.name = "Entra ID".into();
            }
        }
        assert!(matches!(identity_of(&s), Identity::Unknown { blocks: false, .. }));
    }

    #[test]
    fn ages_are_counted_from_the_read() {
        let s = with(tenant(true, Some(10), Some(5)));
        let settings = Settings::default();
        // Evaluated 20 minutes after the read: ages stay the read's.
        let cx = Context::new(&s, now() + jiff::SignedDuration::from_mins(20), &settings);
        let view = TenantView::of(&cx).unwrap();
        assert_eq!(view.age(now() - jiff::SignedDuration::from_mins(10)), "10 min before the read");
        assert_eq!(view.age(now() + jiff::SignedDuration::from_mins(3)), "3 min after the read time (clock skew)");
        assert!(view.within(now() + jiff::SignedDuration::from_mins(3), jiff::SignedDuration::from_hours(2)));
        assert!(view.skew(now() + jiff::SignedDuration::from_mins(3)).is_none());
        assert_eq!(view.skew(now() + jiff::SignedDuration::from_mins(6)), Some(jiff::SignedDuration::from_mins(6)));
        assert_eq!(view.blocker(&cx), None);
    }
}
