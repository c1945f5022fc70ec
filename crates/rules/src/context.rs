//! What every check gets: the snapshot, the evaluation time and the thresholds,
//! plus the few lookups several checks share.

use jiff::SignedDuration;
use phs_model::{
    AdConnector, Connector, DomainFacts, Event, EventLog, Partition, Scope, Snapshot, SourceKind, Status, Timestamp,
};
use serde::{Deserialize, Serialize};

/// Thresholds a user may change (config file `[evaluation]` or flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// How recent a heartbeat (event 654) must be. Microsoft's troubleshooter uses 3 h.
    pub heartbeat_window: SignedDuration,
    /// How far back per-domain and cloud errors count. Microsoft's script uses 2 h.
    pub error_window: SignedDuration,
    /// This many errors within the window make a problem persistent (a failure).
    pub persistent_error_count: usize,
    /// PHS011: how recent the tenant's last password sync must be.
    pub password_sync_window: SignedDuration,
    /// PHS012: how recent the tenant's last directory sync must be.
    pub directory_sync_window: SignedDuration,
    /// PHS027: how long after an AD password change its absence in the cloud
    /// is still "on its way" rather than "never arrived".
    pub user_password_lag: SignedDuration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            heartbeat_window: SignedDuration::from_hours(3),
            error_window: SignedDuration::from_hours(2),
            persistent_error_count: 5,
            password_sync_window: SignedDuration::from_hours(2),
            directory_sync_window: SignedDuration::from_hours(3),
            user_password_lag: SignedDuration::from_hours(2),
        }
    }
}

pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub now: Timestamp,
    pub settings: &'a Settings,
    /// Built on first use, once per evaluation.
    mentions: std::cell::OnceCell<crate::mentions::Mentions<'a>>,
    channels: std::cell::OnceCell<crate::channel::ChannelIndex<'a>>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot, now: Timestamp, settings: &'a Settings) -> Context<'a> {
        Context { snapshot, now, settings, mentions: Default::default(), channels: Default::default() }
    }

    pub fn events(&self) -> Option<&'a EventLog> {
        self.snapshot.server.events.as_ref()
    }

    /// Events with one of `ids` in `[now - window, now]`, oldest first.
    /// Events after the evaluation time are ignored: `--now` may look back.
    pub fn recent(&self, ids: &'a [u32], window: SignedDuration) -> impl Iterator<Item = &'a Event> + 'a {
        let (from, to) = (self.now - window, self.now);
        self.events()
            .map(|log| log.events.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(move |e| ids.contains(&e.event_id) && e.time >= from && e.time <= to)
    }

    /// Events with one of `ids` up to the evaluation time, any age, oldest first.
    pub fn up_to_now(&self, ids: &'a [u32]) -> impl Iterator<Item = &'a Event> + 'a {
        let to = self.now;
        self.events()
            .map(|log| log.events.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(move |e| ids.contains(&e.event_id) && e.time <= to)
    }

    /// What each event names, for lookups by name instead of scans.
    pub(crate) fn mentions(&self) -> &crate::mentions::Mentions<'a> {
        let events = self.events().map(|log| log.events.as_slice()).unwrap_or(&[]);
        self.mentions.get_or_init(|| crate::mentions::Mentions::new(events))
    }

    pub(crate) fn channel_index(&self) -> &crate::channel::ChannelIndex<'a> {
        self.channels.get_or_init(|| crate::channel::ChannelIndex::new(self.ad_connectors(), self.mentions()))
    }

    pub fn ad_connectors(&self) -> Vec<(&'a Connector, &'a AdConnector)> {
        match &self.snapshot.server.config {
            Some(cfg) => cfg.ad_connectors().collect(),
            None => Vec::new(),
        }
    }

    /// For evidence that is missing: `Error` with the cause when the source
    /// was given but could not be read, else `Skipped` with `not_supplied`.
    pub fn absent(&self, source: SourceKind, not_supplied: &str) -> (Status, String) {
        match self.snapshot.problems_for(source).find(|p| !p.partial) {
            Some(p) => (Status::Error, format!("Could not read {}: {}", p.location, p.error)),
            None => (Status::Skipped, not_supplied.to_owned()),
        }
    }

    /// Runs `judge` on every domain the live AD checks visited; a domain
    /// they did not check becomes a skipped finding of `rule` with the reason.
    /// (A run without the AD checks never gets here: see [`crate::needs`].)
    pub fn per_ad_domain(
        &self,
        rule: &crate::Rule,
        judge: impl Fn(&DomainFacts) -> phs_model::Finding,
    ) -> Vec<phs_model::Finding> {
        self.ad_domains()
            .into_iter()
            .map(|d| match &d.not_checked {
                Some(why) => rule.finding(Status::Skipped, Scope::domain(&d.connector, &d.domain), why.clone()).done(),
                None => judge(d),
            })
            .collect()
    }

    /// The live Active Directory facts per domain (none when the AD checks
    /// did not run).
    pub fn ad_domains(&self) -> Vec<&'a DomainFacts> {
        self.snapshot.ad.iter().flat_map(|ad| &ad.domains).collect()
    }

    /// How long ago `t` was, for people: "12 min ago", "5 h 3 min ago".
    pub fn age(&self, t: Timestamp) -> String {
        human_age(self.now.duration_since(t))
    }
}

/// The domain FQDN of a partition; its one home is
/// [`Partition::domain_name`].
pub fn partition_fqdn(p: &Partition) -> String {
    p.domain_name()
}

/// Microsoft's script looks for " " + domain so that `contoso.com` does not
/// match `child.contoso.com`; the same here, ignoring case.
pub(crate) fn names_domain(text: &str, fqdn: &str) -> bool {
    let text = text.to_lowercase();
    let needle = format!(" {}", fqdn.to_lowercase());
    text.match_indices(&needle).any(|(i, m)| {
        let next = text[i + m.len()..].chars().next();
        // "contoso.com." ends a sentence; "contoso.com.au" is another domain.
        match next {
            None => true,
            Some('.') => !text[i + m.len() + 1..].starts_with(|c: char| c.is_alphanumeric()),
            Some(c) => !(c.is_alphanumeric() || c == '-'),
        }
    })
}

/// Durations in words have one home: [`phs_model::words`].
pub use phs_model::words::{human_age, human_duration};

/// Windows FILETIME (100 ns since 1601-01-01) as a time; None for 0 and
/// i64::MAX, which AD uses for "never".
pub fn filetime(ft: i64) -> Option<Timestamp> {
    if ft <= 0 || ft == i64::MAX {
        return None;
    }
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    let secs = ft / 10_000_000 - EPOCH_DIFF_SECS;
    let nanos = (ft % 10_000_000) * 100;
    Timestamp::new(secs, nanos as i32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_from_dn() {
        let p = Partition { dn: "DC=emea,DC=fabrikam,DC=com".into(), ..Default::default() };
        assert_eq!(partition_fqdn(&p), "emea.fabrikam.com");
    }

    #[test]
    fn filetimes() {
        assert_eq!(filetime(0), None);
        assert_eq!(filetime(i64::MAX), None);
        // 2026-11-24T12:00:00Z
        assert_eq!(filetime(134399952000000000), Some("2026-11-24T12:00:00Z".parse().unwrap()));
    }

    #[test]
    fn ages() {
        assert_eq!(human_age(SignedDuration::from_mins(12)), "12 min ago");
        assert_eq!(human_age(SignedDuration::from_mins(303)), "5 h 3 min ago");
        assert_eq!(human_duration(SignedDuration::from_hours(3)), "3 h");
    }
}
