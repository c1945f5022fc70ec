//! Why a network exchange with a DC failed, as a kind the rules can match on.
//! The facts keep the full sentence too (what a person reads); the kind is
//! what a rule decides on, so no rule compares error text.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetFailure {
    /// The host answered with a TCP reset to the SYN: nothing listens there.
    Refused,
    /// No answer within the timeout (a filtering firewall, a dead host).
    TimedOut,
    /// No route, network down or unreachable (ICMP or the local stack).
    Unreachable,
    /// An established connection was reset, aborted or closed by the peer.
    Reset,
    /// The TLS handshake or the certificate failed.
    Tls,
    /// A DNS name did not resolve.
    Dns,
    /// A local rule refused the connection (permission denied).
    LocalPolicy,
    /// Anything else; the sentence says what.
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_snake_case() {
        assert_eq!(serde_json::to_string(&NetFailure::TimedOut).unwrap(), "\"timed_out\"");
        assert_eq!(serde_json::from_str::<NetFailure>("\"tls\"").unwrap(), NetFailure::Tls);
    }
}
