//! TCP reachability of the ports password hash sync needs on a DC: connect,
//! record open or closed with the time it took and, when closed, why in words.
//! Nothing is sent on the connections; they are closed at once.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::wording::{describe_io_error, io_failure};
use phs_model::ad::PortProbe;
use phs_model::human_std_duration;
use phs_model::NetFailure;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// The ports the sync server needs on every DC it talks to. DRSUAPI itself
/// runs on a dynamic port that only the endpoint mapper (135) knows; see
/// [`super::epm`].
pub const PHS_PORTS: &[(u16, &str)] = &[(389, "ldap"), (636, "ldaps"), (88, "kerberos"), (135, "rpc-endpoint-mapper")];

/// Connect to every port of `addr` at once, each under its own `timeout`, and
/// return one probe per port in the order given.
///
/// `host` is the DC's name as located; the probes record only the address
/// they connected to (the DC's name lives in `DcFacts::host`).
pub async fn probe_ports(host: &str, addr: IpAddr, ports: &[(u16, &str)], timeout: Duration) -> Vec<PortProbe> {
    // Each connection is its own task so one slow (filtered) port does not
    // delay the others: the whole call takes about one timeout at worst.
    let mut tasks = JoinSet::new();
    for (index, &(port, service)) in ports.iter().enumerate() {
        let service = service.to_string();
        tasks.spawn(async move { (index, probe_port(addr, port, &service, timeout).await) });
    }

    let mut slots: Vec<Option<PortProbe>> = vec![None; ports.len()];
    while let Some(joined) = tasks.join_next().await {
        // A task can only fail by panicking or being cancelled; neither
        // happens in probe_port, and the slot is filled below in that case.
        if let Ok((index, probe)) = joined {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(probe);
            }
        }
    }

    slots
        .into_iter()
        .zip(ports)
        .map(|(slot, &(port, service))| {
            slot.unwrap_or_else(|| PortProbe {
                port,
                service: service.to_string(),
                address: addr.to_string(),
                open: false,
                elapsed_ms: 0,
                error: Some(format!("probe of {host} port {port} did not complete")),
                failure: Some(NetFailure::Other),
            })
        })
        .collect()
}

/// One TCP connect to `addr:port` under `timeout`.
pub async fn probe_port(addr: IpAddr, port: u16, service: &str, timeout: Duration) -> PortProbe {
    let started = Instant::now();
    let outcome = connect(addr, port, timeout).await;
    let elapsed_ms = millis(started.elapsed());
    let (open, error, failure) = match outcome {
        Ok(stream) => {
            drop(stream);
            (true, None, None)
        }
        Err(e) => (false, Some(e.words), Some(e.kind)),
    };
    PortProbe { port, service: service.to_string(), address: addr.to_string(), open, elapsed_ms, error, failure }
}

/// Why a TCP connect failed: the kind to decide on, the words to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectError {
    pub(crate) kind: NetFailure,
    pub(crate) words: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words)
    }
}

/// Connect under a timeout.
pub(crate) async fn connect(addr: IpAddr, port: u16, timeout: Duration) -> Result<TcpStream, ConnectError> {
    match tokio::time::timeout(timeout, TcpStream::connect(SocketAddr::new(addr, port))).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) => Err(ConnectError { kind: io_failure(&err), words: describe_io_error(&err) }),
        Err(_) => Err(ConnectError {
            kind: NetFailure::TimedOut,
            words: format!("timed out after {}", human_std_duration(timeout)),
        }),
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[tokio::test]
    async fn open_and_closed_ports_in_order() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind a loopback port");
        let open_port = listener.local_addr().expect("local addr").port();
        // A port that was just free: bind, note it, close it.
        let closed_port = {
            let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            l.local_addr().expect("local addr").port()
        };
        let ports = [(closed_port, "closed"), (open_port, "open")];
        let probes = probe_ports("localhost", IpAddr::V4(Ipv4Addr::LOCALHOST), &ports, Duration::from_secs(2)).await;
        assert_eq!(probes.len(), 2);
        assert_eq!(probes[0].port, closed_port);
        assert!(!probes[0].open);
        assert_eq!(probes[0].error.as_deref(), Some("connection refused"));
        assert_eq!(probes[0].failure, Some(NetFailure::Refused));
        assert_eq!(probes[1].port, open_port);
        assert!(probes[1].open, "{:?}", probes[1]);
        assert_eq!(probes[1].service, "open");
        assert_eq!(probes[1].address, "127.0.0.1");
        assert_eq!(probes[1].error, None);
        assert_eq!(probes[1].failure, None);
    }
}
