//! The probe: connect to the endpoint mapper, BIND, ask `ept_map` where
//! DRSUAPI listens, then connect to that port and BIND to DRSUAPI there.
//! Every connect, write and read runs under the caller's timeout; what the
//! server sent is judged with [`super::wire`]'s parsers.

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use phs_model::ad::RpcProbe;
use phs_model::{human_std_duration, NetFailure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::*;
use crate::ad::tcp::{connect, millis};
use crate::wording::describe_io_error;

/// The well-known endpoint mapper port of ncacn_ip_tcp.
pub const EPM_PORT: u16 = 135;

/// A reply to ept_map with 4 towers is well under 1 KiB; these caps only stop
/// a hostile server from making us buffer without end.
const MAX_REPLY_FRAGMENTS: usize = 16;
const MAX_STUB_LEN: usize = 256 * 1024;

/// Ask the endpoint mapper on `addr` (TCP 135) where DRSUAPI listens, then
/// connect to that port and BIND to DRSUAPI there. Each connect, write and
/// read gets `timeout`.
pub async fn probe_drsuapi(addr: IpAddr, timeout: Duration) -> RpcProbe {
    probe_drsuapi_at(addr, EPM_PORT, timeout).await
}

/// [`probe_drsuapi`] with the endpoint mapper on another port (tests run a
/// stand-in on an unprivileged one).
pub(super) async fn probe_drsuapi_at(addr: IpAddr, epm_port: u16, timeout: Duration) -> RpcProbe {
    let started = Instant::now();
    let mut probe = RpcProbe::default();
    if let Err(error) = run_probe(addr, epm_port, timeout, &mut probe).await {
        probe.error = Some(error);
    }
    probe.elapsed_ms = millis(started.elapsed());
    probe
}

/// Fills `probe` as far as it gets; the error says where it stopped.
pub(super) async fn run_probe(
    addr: IpAddr,
    epm_port: u16,
    timeout: Duration,
    probe: &mut RpcProbe,
) -> Result<(), String> {
    let peer = "endpoint mapper";
    let mut epm = connect(addr, epm_port, timeout).await.map_err(|e| match e.kind {
        NetFailure::Refused => format!("endpoint mapper refused the connection (nothing listens on TCP {epm_port})"),
        _ => format!("endpoint mapper (TCP {epm_port}) not reachable: {e}"),
    })?;
    bind(&mut epm, EPM, 1, timeout, peer).await?;

    send(&mut epm, &encode_ept_map_request(2), timeout, peer, "the ept_map request").await?;
    let stub = read_call_reply(&mut epm, 2, timeout, peer, "ept_map").await?;
    let reply =
        parse_ept_map_stub(&stub).map_err(|m| format!("endpoint mapper sent a malformed ept_map response {m}"))?;
    probe.endpoint_mapper_ok = true;
    // The endpoint mapper is done; closing it before the second connection
    // keeps at most one socket open per probe.
    drop(epm);

    let port = drsuapi_port(&reply)?;
    probe.drsuapi_port = Some(port);

    let mut drs = connect(addr, port, timeout).await.map_err(|e| format!("DRSUAPI port {port} blocked: {e}"))?;
    probe.drsuapi_reachable = true;
    bind(&mut drs, DRSUAPI, 1, timeout, &format!("DRSUAPI port {port}")).await
}

/// The DRSUAPI TCP port in an ept_map answer, or why there is none.
pub(super) fn drsuapi_port(reply: &EptMapReply) -> Result<u16, String> {
    match reply.status {
        0 => {}
        EPT_S_NOT_REGISTERED => {
            return Err(format!(
                "endpoint mapper has no DRSUAPI endpoint (ept_map status {EPT_S_NOT_REGISTERED:#010x})"
            ))
        }
        status => return Err(format!("endpoint mapper failed the DRSUAPI lookup (ept_map status {status:#010x})")),
    }
    match reply.towers.iter().find_map(Tower::tcp_port) {
        Some(port) => Ok(port),
        None if reply.towers.is_empty() => Err("endpoint mapper returned success but no DRSUAPI tower".to_string()),
        None => Err("endpoint mapper returned DRSUAPI towers without a TCP port".to_string()),
    }
}

/// BIND one presentation context (`syntax` over NDR) and require the server
/// to accept it.
pub(super) async fn bind(
    stream: &mut TcpStream,
    syntax: SyntaxId,
    call_id: u32,
    timeout: Duration,
    peer: &str,
) -> Result<(), String> {
    send(stream, &encode_bind(call_id, syntax), timeout, peer, "the BIND").await?;
    let pdu = read_pdu(stream, timeout, peer, "BIND").await?;
    bind_answer(&pdu, syntax, peer)
}

/// What the answer to our BIND of `syntax` says: accepted, or why not.
pub(super) fn bind_answer(pdu: &[u8], syntax: SyntaxId, peer: &str) -> Result<(), String> {
    let header = parse_header(pdu).map_err(|m| format!("{peer} sent a malformed BIND answer {m}"))?;
    match header.ptype {
        PduType::BindAck => match parse_bind_ack(pdu).map_err(|m| format!("{peer} sent a malformed BIND_ACK {m}"))? {
            ContextResult::Accepted => Ok(()),
            ContextResult::Rejected { result, reason } => Err(format!(
                "{peer} rejected the {} presentation context: {} ({})",
                syntax.name,
                context_result_name(result),
                provider_reason_name(reason)
            )),
        },
        PduType::BindNak => {
            let reason = parse_bind_nak(pdu).map_err(|m| format!("{peer} sent a malformed BIND_NAK {m}"))?;
            Err(format!("{peer} refused the {} BIND (BIND_NAK: {})", syntax.name, reject_reason_name(reason)))
        }
        PduType::Fault => {
            let status = parse_fault(pdu).map_err(|m| format!("{peer} sent a malformed FAULT {m}"))?;
            Err(format!("{peer} answered the {} BIND with a FAULT: {}", syntax.name, fault_text(status)))
        }
        other => Err(format!("{peer} answered the BIND with an unexpected {} PDU", other.name())),
    }
}

pub(super) async fn send(
    stream: &mut TcpStream,
    bytes: &[u8],
    timeout: Duration,
    peer: &str,
    what: &str,
) -> Result<(), String> {
    match tokio::time::timeout(timeout, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("sending {what} to the {peer} failed: {}", describe_io_error(&err))),
        Err(_) => Err(format!("sending {what} to the {peer} timed out after {}", human_std_duration(timeout))),
    }
}

/// Read one whole PDU (one fragment): the 16-byte header, then the rest of
/// `frag_length`.
pub(super) async fn read_pdu(
    stream: &mut TcpStream,
    timeout: Duration,
    peer: &str,
    awaiting: &str,
) -> Result<Vec<u8>, String> {
    let mut head = [0u8; HEADER_LEN];
    read_exact(stream, &mut head, timeout, peer, awaiting).await?;
    let header = parse_header(&head).map_err(|m| format!("{peer} sent a malformed {awaiting} answer {m}"))?;
    let mut pdu = vec![0u8; usize::from(header.frag_length)];
    pdu[..HEADER_LEN].copy_from_slice(&head);
    read_exact(stream, &mut pdu[HEADER_LEN..], timeout, peer, awaiting).await?;
    Ok(pdu)
}

pub(super) async fn read_exact(
    stream: &mut TcpStream,
    buf: &mut [u8],
    timeout: Duration,
    peer: &str,
    awaiting: &str,
) -> Result<(), String> {
    match tokio::time::timeout(timeout, stream.read_exact(buf)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) if err.kind() == io::ErrorKind::UnexpectedEof => {
            Err(format!("{peer} closed the connection instead of answering the {awaiting}"))
        }
        Ok(Err(err)) => {
            Err(format!("reading the {awaiting} answer from the {peer} failed: {}", describe_io_error(&err)))
        }
        Err(_) => Err(format!("{peer} did not answer the {awaiting} within {}", human_std_duration(timeout))),
    }
}

/// Read the RESPONSE fragments of call `call_id` and return the stub data
/// joined; a FAULT becomes an error with its status.
pub(super) async fn read_call_reply(
    stream: &mut TcpStream,
    call_id: u32,
    timeout: Duration,
    peer: &str,
    operation: &str,
) -> Result<Vec<u8>, String> {
    let mut stub = Vec::new();
    for _ in 0..MAX_REPLY_FRAGMENTS {
        let pdu = read_pdu(stream, timeout, peer, operation).await?;
        if add_reply_fragment(&mut stub, &pdu, call_id, peer, operation)? {
            return Ok(stub);
        }
    }
    Err(too_many_fragments(peer, operation))
}

pub(super) fn too_many_fragments(peer: &str, operation: &str) -> String {
    format!("{peer} split the {operation} response into more than {MAX_REPLY_FRAGMENTS} fragments")
}

/// Adds one RESPONSE fragment of call `call_id` to `stub`; true when it was
/// the last one. A FAULT or any other PDU becomes an error.
pub(super) fn add_reply_fragment(
    stub: &mut Vec<u8>,
    pdu: &[u8],
    call_id: u32,
    peer: &str,
    operation: &str,
) -> Result<bool, String> {
    let malformed = |m: Malformed| format!("{peer} sent a malformed {operation} response {m}");
    let header = parse_header(pdu).map_err(malformed)?;
    if header.call_id != call_id {
        return Err(malformed(Malformed::new(
            12,
            format!("call_id {} answers no call of ours ({call_id})", header.call_id),
        )));
    }
    match header.ptype {
        PduType::Response => {
            let part = response_stub(pdu, &header).map_err(malformed)?;
            if stub.len() + part.len() > MAX_STUB_LEN {
                return Err(format!("{peer} sent more than {MAX_STUB_LEN} bytes for {operation}"));
            }
            stub.extend_from_slice(part);
            Ok(header.flags & PFC_LAST_FRAG != 0)
        }
        PduType::Fault => {
            let status = parse_fault(pdu).map_err(malformed)?;
            Err(format!("{peer} answered {operation} with a FAULT: {}", fault_text(status)))
        }
        other => Err(format!("{peer} answered {operation} with an unexpected {} PDU", other.name())),
    }
}

// ---------------------------------------------------------------------------
// Replaying a server's bytes

/// The probe's handling of everything a server sends, over bytes instead
/// of sockets: the endpoint mapper's BIND answer, its ept_map RESPONSE
/// fragments (call 2), the DRSUAPI port in them and the DRSUAPI BIND
/// answer, PDU after PDU as their `frag_length` cuts `bytes`. Each step
/// runs even when the one before failed, and the whole input is also read
/// as an ept_map stub. Returns what each step would record. This is the
/// fuzz target `rpc_replies`' way in (no network): whatever the bytes, it
/// must not panic.
pub fn replay_server_bytes(bytes: &[u8]) -> Vec<Result<String, String>> {
    let mut rest = bytes;
    let mut steps = Vec::new();
    let epm = "endpoint mapper";
    steps.push(next_pdu(&mut rest).and_then(|pdu| bind_answer(pdu, EPM, epm)).map(|()| "EPM bound".to_owned()));
    let mut stub = Vec::new();
    let mut stub_done = Err(too_many_fragments(epm, "ept_map"));
    for _ in 0..MAX_REPLY_FRAGMENTS {
        match next_pdu(&mut rest).and_then(|pdu| add_reply_fragment(&mut stub, pdu, 2, epm, "ept_map")) {
            Ok(false) => continue,
            Ok(true) => stub_done = Ok(()),
            Err(e) => stub_done = Err(e),
        }
        break;
    }
    steps.push(stub_done.map(|()| format!("{} stub bytes", stub.len())));
    for candidate in [stub.as_slice(), bytes] {
        let reply = parse_ept_map_stub(candidate).map_err(|m| format!("malformed ept_map response {m}"));
        steps.push(reply.and_then(|r| drsuapi_port(&r)).map(|port| format!("DRSUAPI on {port}")));
    }
    steps.push(next_pdu(&mut rest).and_then(|pdu| bind_answer(pdu, DRSUAPI, "DRSUAPI port")).map(|()| "bound".into()));
    steps
}

/// The next PDU of a byte stream, cut where its header's `frag_length`
/// says, as [`read_pdu`] reads it from a socket.
pub(super) fn next_pdu<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let header = parse_header(rest).map_err(|m| format!("malformed PDU header {m}"))?;
    let len = usize::from(header.frag_length);
    if rest.len() < len {
        return Err(format!("frag_length {len} but only {} bytes left", rest.len()));
    }
    let (pdu, tail) = rest.split_at(len);
    *rest = tail;
    Ok(pdu)
}
