//! Each AD connector's password hash sync channel, as the agent's events
//! show it: which events belong to the channel, and whether it runs.
//!
//! The agent runs one channel per AD connector inside one manager. An event
//! belongs to a channel when it names it (the connector GUID in its
//! `<forest-info>` block, or the connector's name), or when it names none and
//! is about one of the channel's domains. A lifecycle event naming no channel
//! is the manager's and applies to every channel. The manager's own "alive"
//! event (663) shows nothing about any channel.

use crate::context::{names_domain, partition_fqdn, Context};
use crate::knowledge::event_ids::{self, AgentState};
use crate::mentions::Mentions;
use phs_model::{AdConnector, Connector, Event, Guid};
use std::collections::HashMap;

/// What the log says of one channel.
pub(crate) struct ChannelState<'a> {
    /// The newest lifecycle event that applies to the channel, with what it means.
    pub lifecycle: Option<(&'a Event, AgentState, &'static str)>,
    /// The newest event the channel itself wrote, up to the evaluation time.
    pub activity: Option<&'a Event>,
}

impl<'a> ChannelState<'a> {
    /// The channel's last lifecycle event stopped it and it wrote nothing since.
    pub fn stopped(&self) -> Option<(&'a Event, AgentState, &'static str)> {
        let (e, state, what) = self.lifecycle?;
        let active_after = self.activity.is_some_and(|a| a.time > e.time);
        (state != AgentState::Started && !active_after).then_some((e, state, what))
    }
}

/// Which AD connector each event names, worked out once per evaluation from
/// the log's [`Mentions`]: a connector's checks then read only its own
/// events and the ones naming no connector.
pub(crate) struct ChannelIndex<'a> {
    connectors: Vec<(&'a Connector, &'a AdConnector)>,
    position: HashMap<Guid, usize>,
    /// Per connector: the events naming it, in log order, and whether by GUID.
    owned: Vec<Vec<(usize, bool)>>,
    /// The events naming no AD connector, in log order.
    unnamed: Vec<usize>,
}

/// One event as a channel sees it.
#[derive(Clone, Copy)]
pub(crate) struct ChannelEvent<'a> {
    pub event: &'a Event,
    /// It names this channel (else it names no channel at all).
    pub named: bool,
    /// It names this channel by its connector GUID.
    pub by_guid: bool,
    /// It writes out some GUID (a connector's or not).
    pub any_guid: bool,
}

impl<'a> ChannelIndex<'a> {
    /// An event names the connectors whose GUID it writes out; failing
    /// that, the connectors whose name it mentions as a domain.
    pub(crate) fn new(connectors: Vec<(&'a Connector, &'a AdConnector)>, mentions: &Mentions<'a>) -> ChannelIndex<'a> {
        let n = mentions.events().len();
        let mut by_guid: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut by_name: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut position = HashMap::new();
        for (ci, (c, _)) in connectors.iter().enumerate() {
            position.entry(c.id.clone()).or_insert(ci);
            for &ev in mentions.with_guid(&c.id) {
                by_guid[ev].push(ci);
            }
            for ev in mentions.naming(&c.name) {
                by_name[ev].push(ci);
            }
        }
        let mut owned = vec![Vec::new(); connectors.len()];
        let mut unnamed = Vec::new();
        for ev in 0..n {
            let (owners, guid) = if by_guid[ev].is_empty() { (&by_name[ev], false) } else { (&by_guid[ev], true) };
            if owners.is_empty() {
                unnamed.push(ev);
            }
            for &ci in owners {
                owned[ci].push((ev, guid));
            }
        }
        ChannelIndex { connectors, position, owned, unnamed }
    }

    pub(crate) fn connectors(&self) -> &[(&'a Connector, &'a AdConnector)] {
        &self.connectors
    }
}

impl<'a> Context<'a> {
    /// The events that belong to `connector`'s channel or to no channel,
    /// in log order (an event naming another connector is that one's).
    pub(crate) fn channel_events(&self, connector: &Connector) -> Vec<ChannelEvent<'a>> {
        let index = self.channel_index();
        let mentions = self.mentions();
        let events = mentions.events();
        let own: &[(usize, bool)] = index.position.get(&connector.id).map_or(&[], |&ci| &index.owned[ci]);
        let mut out = Vec::with_capacity(own.len() + index.unnamed.len());
        let (mut a, mut b) = (own.iter().peekable(), index.unnamed.iter().peekable());
        loop {
            let take_own = match (a.peek(), b.peek()) {
                (Some(&&(x, _)), Some(&&y)) => x < y,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (ev, named, by_guid) = if take_own {
                let &(ev, g) = a.next().expect("peeked");
                (ev, true, g)
            } else {
                (*b.next().expect("peeked"), false, false)
            };
            out.push(ChannelEvent { event: &events[ev], named, by_guid, any_guid: mentions.writes_any_guid(ev) });
        }
        out
    }

    /// Whether a channel event with no name is still this channel's: there
    /// is only one channel, or it is about one of the channel's domains.
    fn unnamed_is_channels(&self, event: &Event, ad: &AdConnector) -> bool {
        let text = event.text();
        self.channel_index().connectors().len() == 1
            || ad.partitions.iter().any(|p| p.selected && names_domain(&text, &partition_fqdn(p)))
    }

    pub(crate) fn channel_state(&self, connector: &Connector, ad: &AdConnector) -> ChannelState<'a> {
        let events = self.channel_events(connector);
        let now = self.now;
        let lifecycle = events
            .iter()
            .rev()
            .find(|c| event_ids::LIFECYCLE_IDS.contains(&c.event.event_id) && c.event.time <= now)
            .and_then(|c| event_ids::lifecycle(c.event.event_id).map(|(state, what)| (c.event, state, what)));
        let activity = events
            .iter()
            .rev()
            .filter(|c| event_ids::CHANNEL_ACTIVITY.contains(&c.event.event_id) && c.event.time <= now)
            .find(|c| c.named || self.unnamed_is_channels(c.event, ad))
            .map(|c| c.event);
        ChannelState { lifecycle, activity }
    }

    /// The manager as a whole, for a log without the export to name channels.
    pub(crate) fn manager_state(&self) -> ChannelState<'a> {
        let lifecycle = self
            .up_to_now(event_ids::LIFECYCLE_IDS)
            .last()
            .and_then(|e| event_ids::lifecycle(e.event_id).map(|(state, what)| (e, state, what)));
        let activity = self.up_to_now(event_ids::AGENT_ACTIVITY).last();
        ChannelState { lifecycle, activity }
    }
}
