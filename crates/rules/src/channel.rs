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
use phs_model::{AdConnector, Connector, Event};

/// Whether an event names a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    This,
    Another,
    None,
}

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

impl<'a> Context<'a> {
    /// Whether `event` names `connector`, another AD connector, or none.
    pub(crate) fn naming(&self, event: &Event, connector: &Connector) -> Naming {
        let text = event.text();
        if connector.id.is_mentioned_in(&text) {
            return Naming::This;
        }
        let others: Vec<&Connector> =
            self.ad_connectors().into_iter().map(|(c, _)| c).filter(|c| c.id != connector.id).collect();
        if others.iter().any(|c| c.id.is_mentioned_in(&text)) {
            return Naming::Another;
        }
        if names_domain(&text, &connector.name) {
            return Naming::This;
        }
        if others.iter().any(|c| names_domain(&text, &c.name)) {
            return Naming::Another;
        }
        Naming::None
    }

    /// Whether an event the channel writes (a heartbeat, a batch, a domain
    /// error) is this channel's: it names the channel, or names none and is
    /// about one of its domains, or names none and there is only one channel.
    pub(crate) fn is_channels(&self, event: &Event, connector: &Connector, ad: &AdConnector) -> bool {
        match self.naming(event, connector) {
            Naming::This => true,
            Naming::Another => false,
            Naming::None => {
                let text = event.text();
                self.ad_connectors().len() == 1
                    || ad.partitions.iter().any(|p| p.selected && names_domain(&text, &partition_fqdn(p)))
            }
        }
    }

    pub(crate) fn channel_state(&self, connector: &Connector, ad: &AdConnector) -> ChannelState<'a> {
        let lifecycle = self
            .up_to_now(event_ids::LIFECYCLE_IDS)
            .filter(|e| self.naming(e, connector) != Naming::Another)
            .last()
            .and_then(|e| event_ids::lifecycle(e.event_id).map(|(state, what)| (e, state, what)));
        let activity =
            self.up_to_now(event_ids::CHANNEL_ACTIVITY).filter(|e| self.is_channels(e, connector, ad)).last();
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
