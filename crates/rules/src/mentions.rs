//! What each event of the log names (GUIDs, DNS names, the partition of a
//! heartbeat's `<forest-info>`), found once per evaluation and kept as
//! lookups from the name to its events. With thousands of connectors and
//! domains, asking every event about every one of them would be quadratic.

use crate::context::names_domain;
use phs_model::{Event, Guid};
use std::collections::HashMap;

pub(crate) struct Mentions<'a> {
    events: &'a [Event],
    /// GUID → the events writing it out, in log order.
    by_guid: HashMap<Guid, Vec<usize>>,
    /// Whether each event writes out any GUID at all.
    any_guid: Vec<bool>,
    /// DNS-shaped name, lower case → the events `names_domain` finds it in.
    by_name: HashMap<String, Vec<usize>>,
    /// `<partition-name>` value, lower case → the events naming it.
    by_partition: HashMap<String, Vec<usize>>,
}

impl<'a> Mentions<'a> {
    pub(crate) fn new(events: &'a [Event]) -> Mentions<'a> {
        let mut m = Mentions {
            events,
            by_guid: HashMap::new(),
            any_guid: Vec::with_capacity(events.len()),
            by_name: HashMap::new(),
            by_partition: HashMap::new(),
        };
        for (i, e) in events.iter().enumerate() {
            let text = e.text();
            let mut any = false;
            for g in Guid::all_in(&text) {
                any = true;
                push_once(m.by_guid.entry(g).or_default(), i);
            }
            m.any_guid.push(any);
            let lower = text.to_lowercase();
            for name in domain_candidates(&lower) {
                push_once(m.by_name.entry(name.to_owned()).or_default(), i);
            }
            for name in partition_names(&lower) {
                push_once(m.by_partition.entry(name.to_owned()).or_default(), i);
            }
        }
        m
    }

    pub(crate) fn events(&self) -> &'a [Event] {
        self.events
    }

    pub(crate) fn writes_any_guid(&self, event: usize) -> bool {
        self.any_guid[event]
    }

    /// The events (indexes, log order) that write out `guid`.
    pub(crate) fn with_guid(&self, guid: &Guid) -> &[usize] {
        self.by_guid.get(guid).map_or(&[], Vec::as_slice)
    }

    /// The events (indexes, log order) in which `names_domain(text, name)`
    /// holds.
    pub(crate) fn naming(&self, name: &str) -> Vec<usize> {
        let lower = name.to_lowercase();
        if is_dns_name(&lower) {
            self.by_name.get(&lower).cloned().unwrap_or_default()
        } else {
            // Not a DNS name (a connector called "Corp Forest"): the slow way.
            (0..self.events.len()).filter(|&i| names_domain(&self.events[i].text(), name)).collect()
        }
    }

    /// The events naming `fqdn`, in log order.
    pub(crate) fn events_naming(&self, fqdn: &str) -> impl Iterator<Item = &'a Event> + '_ {
        self.naming(fqdn).into_iter().map(|i| &self.events[i])
    }

    /// The events whose `<forest-info>` names partition `fqdn`, in log order.
    pub(crate) fn in_partition(&self, fqdn: &str) -> impl Iterator<Item = &'a Event> + '_ {
        let list = self.by_partition.get(&fqdn.to_lowercase()).map_or(&[][..], Vec::as_slice);
        list.iter().map(|&i| &self.events[i])
    }
}

fn push_once(list: &mut Vec<usize>, i: usize) {
    if list.last() != Some(&i) {
        list.push(i);
    }
}

fn is_dns_char(c: char) -> bool {
    c.is_alphanumeric() || c == '.' || c == '-'
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_dns_char)
}

/// Every name `names_domain` could find in `text` (already lower case): a
/// run of name characters after a space, ending where the run ends or at a
/// dot that ends a sentence ("contoso.com." but not "contoso.com.au").
fn domain_candidates(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices(' ').flat_map(move |(i, _)| {
        let rest = &text[i + 1..];
        let run_len = rest.find(|c: char| !is_dns_char(c)).unwrap_or(rest.len());
        let run = &rest[..run_len];
        let after = &rest[run_len..];
        let whole = (!run.is_empty()).then_some(run);
        let at_dots = run.match_indices('.').filter_map(move |(d, _)| {
            let next = run[d + 1..].chars().next().or_else(|| after.chars().next());
            (d > 0 && !next.is_some_and(char::is_alphanumeric)).then_some(&run[..d])
        });
        whole.into_iter().chain(at_dots)
    })
}

/// The values of `<partition-name>` elements in `text` (lower case).
fn partition_names(text: &str) -> impl Iterator<Item = &str> {
    const OPEN: &str = "<partition-name>";
    text.match_indices(OPEN).filter_map(move |(i, _)| {
        let rest = &text[i + OPEN.len()..];
        rest.find("</partition-name>").map(|end| &rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::{domain_candidates, partition_names};
    use crate::context::names_domain;

    /// The index finds a name exactly when the one-by-one search would.
    #[test]
    fn candidates_agree_with_names_domain() {
        let names = ["contoso.com", "emea.contoso.com", "com", "contoso", "a-b.example", "fabrikam.com"];
        for text in [
            "error in contoso.com.",
            "error in contoso.com.au today",
            "domain contoso.com, then emea.contoso.com",
            " contoso.com.-x",
            "x contoso.com..",
            "x contoso.com-x",
            "x Contoso.COM)",
            "a-b.example: failed",
            "nospacecontoso.com",
            "x fabrikam.com\nnext",
            "x .contoso.com",
            "tab\tcontoso.com",
            "x com.",
            "x  contoso.com",
        ] {
            let lower = text.to_lowercase();
            let found: Vec<&str> = domain_candidates(&lower).collect();
            for name in names {
                assert_eq!(found.contains(&name), names_domain(text, name), "{name:?} in {text:?}: {found:?}");
            }
        }
    }

    #[test]
    fn partition_names_are_the_forest_info_values() {
        let text =
            "ping end.\r\n<forest-info>\r\n  <partition-name>emea.contoso.com</partition-name>\r\n</forest-info>";
        assert_eq!(partition_names(text).collect::<Vec<_>>(), ["emea.contoso.com"]);
        assert_eq!(partition_names("<partition-name>cut").count(), 0);
    }
}
