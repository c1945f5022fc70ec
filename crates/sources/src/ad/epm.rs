//! The RPC path password hash sync itself takes to a DC: the sync engine asks
//! the DC's RPC endpoint mapper (TCP 135) where DRSUAPI (directory
//! replication, `IDL_DRSGetNCChanges`) listens, then connects to that dynamic
//! port. A firewall that opens 135 but not the dynamic range, or the reverse,
//! breaks password sync while LDAP keeps working, so both legs are probed.
//!
//! Written from the DCE 1.1 RPC specification (C706, connection-oriented
//! protocol, chapter 12; NDR, chapter 14; endpoint mapper, appendix L and
//! `ept.idl`) and MS-RPCE (little-endian data representation, `ept_map` over
//! ncacn_ip_tcp). No authentication is used: the endpoint mapper answers
//! anonymous callers, and a DRSUAPI BIND without credentials is enough to
//! prove the interface is served on the port (credentials matter only for the
//! DRSBind call, which this probe does not make).
//!
//! Everything read from the network is parsed with bounds checks; a hostile or
//! broken server yields an error naming the byte offset, never a panic. Every
//! connect, write and read runs under the caller's timeout.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use phs_model::ad::RpcProbe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tcp::{connect, millis};
use crate::wording::describe_io_error;
use phs_model::human_std_duration;

/// The well-known endpoint mapper port of ncacn_ip_tcp.
pub const EPM_PORT: u16 = 135;

/// `ept_map` status when nothing is registered for the requested interface
/// (`EPT_S_NOT_REGISTERED`, C706 appendix L / MS-RPCE).
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;

// PDU types (C706 §12.6.4.x).
const PTYPE_REQUEST: u8 = 0;
const PTYPE_RESPONSE: u8 = 2;
const PTYPE_FAULT: u8 = 3;
const PTYPE_BIND: u8 = 11;
const PTYPE_BIND_ACK: u8 = 12;
const PTYPE_BIND_NAK: u8 = 13;

// pfc_flags: every PDU we send is a single fragment.
const PFC_FIRST_FRAG: u8 = 0x01;
const PFC_LAST_FRAG: u8 = 0x02;

const HEADER_LEN: usize = 16;
/// Offset of the stub data in REQUEST and RESPONSE PDUs.
const STUB_OFFSET: usize = 24;
/// What Windows clients advertise on TCP; any server accepts it.
const MAX_FRAG: u16 = 4280;
/// `ept_map` opnum in the endpoint mapper interface.
const OPNUM_EPT_MAP: u16 = 3;
/// How many towers we ask for. The IDL caps the range at 500.
const MAX_TOWERS: u32 = 4;
/// A reply to ept_map with 4 towers is well under 1 KiB; these caps only stop
/// a hostile server from making us buffer without end.
const MAX_REPLY_FRAGMENTS: usize = 16;
const MAX_STUB_LEN: usize = 256 * 1024;

// Tower floor protocol identifiers (C706 appendix I / MS-RPCE §2.2.1.1).
const FLOOR_UUID: u8 = 0x0d;
const FLOOR_NCACN: u8 = 0x0b;
const FLOOR_TCP: u8 = 0x07;
const FLOOR_IP: u8 = 0x09;

/// A DCE UUID by its fields. On the wire (NDR, little-endian drep) the first
/// three fields are little-endian and the last eight bytes go as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Uuid {
    time_low: u32,
    time_mid: u16,
    time_hi: u16,
    rest: [u8; 8],
}

impl Uuid {
    fn to_wire(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0..4].copy_from_slice(&self.time_low.to_le_bytes());
        out[4..6].copy_from_slice(&self.time_mid.to_le_bytes());
        out[6..8].copy_from_slice(&self.time_hi.to_le_bytes());
        out[8..16].copy_from_slice(&self.rest);
        out
    }

    #[cfg(test)]
    fn from_wire(b: &[u8; 16]) -> Uuid {
        Uuid {
            time_low: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            time_mid: u16::from_le_bytes([b[4], b[5]]),
            time_hi: u16::from_le_bytes([b[6], b[7]]),
            rest: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.rest;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            self.time_low, self.time_mid, self.time_hi, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        )
    }
}

/// An interface or transfer syntax with its version (`p_syntax_id_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SyntaxId {
    uuid: Uuid,
    major: u16,
    minor: u16,
    name: &'static str,
}

/// The endpoint mapper, `e1af8308-5d1f-11c9-91a4-08002b14a0fa` v3.0.
const EPM: SyntaxId = SyntaxId {
    uuid: Uuid {
        time_low: 0xe1af_8308,
        time_mid: 0x5d1f,
        time_hi: 0x11c9,
        rest: [0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa],
    },
    major: 3,
    minor: 0,
    name: "endpoint mapper",
};

/// The NDR transfer syntax, `8a885d04-1ceb-11c9-9fe8-08002b104860` v2.
const NDR: SyntaxId = SyntaxId {
    uuid: Uuid {
        time_low: 0x8a88_5d04,
        time_mid: 0x1ceb,
        time_hi: 0x11c9,
        rest: [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60],
    },
    major: 2,
    minor: 0,
    name: "NDR",
};

/// Directory replication (MS-DRSR), `e3514235-4b06-11d1-ab04-00c04fc2dcd2` v4.0.
const DRSUAPI: SyntaxId = SyntaxId {
    uuid: Uuid {
        time_low: 0xe351_4235,
        time_mid: 0x4b06,
        time_hi: 0x11d1,
        rest: [0xab, 0x04, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2],
    },
    major: 4,
    minor: 0,
    name: "DRSUAPI",
};

// ---------------------------------------------------------------------------
// The probe

/// Ask the endpoint mapper on `addr` (TCP 135) where DRSUAPI listens, then
/// connect to that port and BIND to DRSUAPI there. Each connect, write and
/// read gets `timeout`.
pub async fn probe_drsuapi(addr: IpAddr, timeout: Duration) -> RpcProbe {
    probe_drsuapi_at(addr, EPM_PORT, timeout).await
}

/// [`probe_drsuapi`] with the endpoint mapper on another port (tests run a
/// stand-in on an unprivileged one).
async fn probe_drsuapi_at(addr: IpAddr, epm_port: u16, timeout: Duration) -> RpcProbe {
    let started = Instant::now();
    let mut probe = RpcProbe::default();
    if let Err(error) = run_probe(addr, epm_port, timeout, &mut probe).await {
        probe.error = Some(error);
    }
    probe.elapsed_ms = millis(started.elapsed());
    probe
}

/// Fills `probe` as far as it gets; the error says where it stopped.
async fn run_probe(addr: IpAddr, epm_port: u16, timeout: Duration, probe: &mut RpcProbe) -> Result<(), String> {
    let peer = "endpoint mapper";
    let mut epm = connect(addr, epm_port, timeout).await.map_err(|e| {
        if e == "connection refused" {
            format!("endpoint mapper refused the connection (nothing listens on TCP {epm_port})")
        } else {
            format!("endpoint mapper (TCP {epm_port}) not reachable: {e}")
        }
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
fn drsuapi_port(reply: &EptMapReply) -> Result<u16, String> {
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
async fn bind(
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
fn bind_answer(pdu: &[u8], syntax: SyntaxId, peer: &str) -> Result<(), String> {
    let header = parse_header(pdu).map_err(|m| format!("{peer} sent a malformed BIND answer {m}"))?;
    match header.ptype {
        PTYPE_BIND_ACK => match parse_bind_ack(pdu).map_err(|m| format!("{peer} sent a malformed BIND_ACK {m}"))? {
            ContextResult::Accepted => Ok(()),
            ContextResult::Rejected { result, reason } => Err(format!(
                "{peer} rejected the {} presentation context: {} ({})",
                syntax.name,
                context_result_name(result),
                provider_reason_name(reason)
            )),
        },
        PTYPE_BIND_NAK => {
            let reason = parse_bind_nak(pdu).map_err(|m| format!("{peer} sent a malformed BIND_NAK {m}"))?;
            Err(format!("{peer} refused the {} BIND (BIND_NAK: {})", syntax.name, reject_reason_name(reason)))
        }
        PTYPE_FAULT => {
            let status = parse_fault(pdu).map_err(|m| format!("{peer} sent a malformed FAULT {m}"))?;
            Err(format!("{peer} answered the {} BIND with a FAULT: {}", syntax.name, fault_text(status)))
        }
        other => Err(format!("{peer} answered the BIND with an unexpected {} PDU", ptype_name(other))),
    }
}

async fn send(stream: &mut TcpStream, bytes: &[u8], timeout: Duration, peer: &str, what: &str) -> Result<(), String> {
    match tokio::time::timeout(timeout, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("sending {what} to the {peer} failed: {}", describe_io_error(&err))),
        Err(_) => Err(format!("sending {what} to the {peer} timed out after {}", human_std_duration(timeout))),
    }
}

/// Read one whole PDU (one fragment): the 16-byte header, then the rest of
/// `frag_length`.
async fn read_pdu(stream: &mut TcpStream, timeout: Duration, peer: &str, awaiting: &str) -> Result<Vec<u8>, String> {
    let mut head = [0u8; HEADER_LEN];
    read_exact(stream, &mut head, timeout, peer, awaiting).await?;
    let header = parse_header(&head).map_err(|m| format!("{peer} sent a malformed {awaiting} answer {m}"))?;
    let mut pdu = vec![0u8; usize::from(header.frag_length)];
    pdu[..HEADER_LEN].copy_from_slice(&head);
    read_exact(stream, &mut pdu[HEADER_LEN..], timeout, peer, awaiting).await?;
    Ok(pdu)
}

async fn read_exact(
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
async fn read_call_reply(
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

fn too_many_fragments(peer: &str, operation: &str) -> String {
    format!("{peer} split the {operation} response into more than {MAX_REPLY_FRAGMENTS} fragments")
}

/// Adds one RESPONSE fragment of call `call_id` to `stub`; true when it was
/// the last one. A FAULT or any other PDU becomes an error.
fn add_reply_fragment(
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
        PTYPE_RESPONSE => {
            let part = response_stub(pdu, &header).map_err(malformed)?;
            if stub.len() + part.len() > MAX_STUB_LEN {
                return Err(format!("{peer} sent more than {MAX_STUB_LEN} bytes for {operation}"));
            }
            stub.extend_from_slice(part);
            Ok(header.flags & PFC_LAST_FRAG != 0)
        }
        PTYPE_FAULT => {
            let status = parse_fault(pdu).map_err(malformed)?;
            Err(format!("{peer} answered {operation} with a FAULT: {}", fault_text(status)))
        }
        other => Err(format!("{peer} answered {operation} with an unexpected {} PDU", ptype_name(other))),
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
fn next_pdu<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let header = parse_header(rest).map_err(|m| format!("malformed PDU header {m}"))?;
    let len = usize::from(header.frag_length);
    if rest.len() < len {
        return Err(format!("frag_length {len} but only {} bytes left", rest.len()));
    }
    let (pdu, tail) = rest.split_at(len);
    *rest = tail;
    Ok(pdu)
}

// ---------------------------------------------------------------------------
// Encoding

/// Common header + body, as one fragment, little-endian drep.
fn encode_pdu(ptype: u8, call_id: u32, body: &[u8]) -> Vec<u8> {
    // Our PDUs are well under 200 bytes; the cap only keeps the cast honest.
    let frag_length = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(5); // rpc_vers
    out.push(0); // rpc_vers_minor
    out.push(ptype);
    out.push(PFC_FIRST_FRAG | PFC_LAST_FRAG);
    out.extend_from_slice(&[0x10, 0, 0, 0]); // packed_drep: little-endian, ASCII, IEEE float
    out.extend_from_slice(&frag_length.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // auth_length: no authentication
    out.extend_from_slice(&call_id.to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn put_syntax(out: &mut Vec<u8>, syntax: SyntaxId) {
    out.extend_from_slice(&syntax.uuid.to_wire());
    // p_syntax_id_t.if_version is one u32: major in the low half, minor in the high.
    out.extend_from_slice(&syntax.major.to_le_bytes());
    out.extend_from_slice(&syntax.minor.to_le_bytes());
}

/// BIND with one presentation context: `syntax` over NDR, context id 0.
fn encode_bind(call_id: u32, syntax: SyntaxId) -> Vec<u8> {
    let mut body = Vec::with_capacity(56);
    body.extend_from_slice(&MAX_FRAG.to_le_bytes()); // max_xmit_frag
    body.extend_from_slice(&MAX_FRAG.to_le_bytes()); // max_recv_frag
    body.extend_from_slice(&0u32.to_le_bytes()); // assoc_group_id: a new group
    body.push(1); // n_context_elem
    body.extend_from_slice(&[0, 0, 0]); // reserved, reserved2
    body.extend_from_slice(&0u16.to_le_bytes()); // p_cont_id
    body.push(1); // n_transfer_syn
    body.push(0); // reserved
    put_syntax(&mut body, syntax);
    put_syntax(&mut body, NDR);
    encode_pdu(PTYPE_BIND, call_id, &body)
}

/// REQUEST on context 0 with no object UUID.
fn encode_request(call_id: u32, opnum: u16, stub: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(8 + stub.len());
    body.extend_from_slice(&u32::try_from(stub.len()).unwrap_or(u32::MAX).to_le_bytes()); // alloc_hint
    body.extend_from_slice(&0u16.to_le_bytes()); // p_cont_id
    body.extend_from_slice(&opnum.to_le_bytes());
    body.extend_from_slice(stub);
    encode_pdu(PTYPE_REQUEST, call_id, &body)
}

fn put_floor(out: &mut Vec<u8>, lhs: &[u8], rhs: &[u8]) {
    // Floor parts are at most 19 bytes here.
    out.extend_from_slice(&u16::try_from(lhs.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(lhs);
    out.extend_from_slice(&u16::try_from(rhs.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(rhs);
}

fn put_uuid_floor(out: &mut Vec<u8>, syntax: SyntaxId) {
    let mut lhs = Vec::with_capacity(19);
    lhs.push(FLOOR_UUID);
    lhs.extend_from_slice(&syntax.uuid.to_wire());
    lhs.extend_from_slice(&syntax.major.to_le_bytes());
    put_floor(out, &lhs, &syntax.minor.to_le_bytes());
}

/// The tower we ask about: DRSUAPI v4.0, NDR v2, connection-oriented RPC
/// over TCP (port 0: any) over IP (0.0.0.0: any). Integers inside floors are
/// little-endian except the TCP port and IP address, which are in network order.
fn drsuapi_tower() -> Vec<u8> {
    let mut t = Vec::with_capacity(75);
    t.extend_from_slice(&5u16.to_le_bytes()); // floor count
    put_uuid_floor(&mut t, DRSUAPI);
    put_uuid_floor(&mut t, NDR);
    put_floor(&mut t, &[FLOOR_NCACN], &0u16.to_le_bytes()); // rhs: protocol minor version
    put_floor(&mut t, &[FLOOR_TCP], &0u16.to_be_bytes());
    put_floor(&mut t, &[FLOOR_IP], &[0, 0, 0, 0]);
    t
}

/// NDR stub of `ept_map([in] object, [in] map_tower, [in,out] entry_handle, [in] max_towers)`.
fn ept_map_stub() -> Vec<u8> {
    let tower = drsuapi_tower();
    let tower_len = u32::try_from(tower.len()).unwrap_or(u32::MAX);
    let mut s = Vec::with_capacity(120);
    // object: a [ptr] (full) pointer; null means "any object".
    s.extend_from_slice(&0u32.to_le_bytes());
    // map_tower: a [ptr] pointer, so a referent id, then (top-level pointer
    // referents follow their pointer) the conformant twr_t: max_count, then
    // tower_length, then the octets.
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&tower_len.to_le_bytes());
    s.extend_from_slice(&tower_len.to_le_bytes());
    s.extend_from_slice(&tower);
    while !s.len().is_multiple_of(4) {
        s.push(0);
    }
    // entry_handle: a [ref] context handle, zeroed = start a new lookup
    // (attributes u32 + uuid).
    s.extend_from_slice(&[0u8; 20]);
    s.extend_from_slice(&MAX_TOWERS.to_le_bytes());
    s
}

fn encode_ept_map_request(call_id: u32) -> Vec<u8> {
    encode_request(call_id, OPNUM_EPT_MAP, &ept_map_stub())
}

// ---------------------------------------------------------------------------
// Parsing (bounds-checked; offsets are from the start of the PDU)

/// Where and why a server's bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Malformed {
    offset: usize,
    what: String,
}

impl Malformed {
    fn new(offset: usize, what: impl Into<String>) -> Malformed {
        Malformed { offset, what: what.into() }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.what)
    }
}

/// A cursor that refuses to read past the end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the PDU, for messages.
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Reader<'a> {
        Reader { buf, pos: 0, base }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Malformed> {
        if n > self.remaining() {
            return Err(Malformed::new(
                self.offset(),
                format!("{what} needs {n} bytes but only {} remain", self.remaining()),
            ));
        }
        let part = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(part)
    }

    fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, Malformed> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Skip to the next multiple of `n` from the start of `buf` (NDR aligns
    /// relative to the start of the stub, which is itself 8-aligned in the PDU).
    fn align(&mut self, n: usize) -> Result<(), Malformed> {
        let pad = (n - self.pos % n) % n;
        self.take(pad, "alignment padding").map(|_| ())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    ptype: u8,
    flags: u8,
    frag_length: u16,
    auth_length: u16,
    call_id: u32,
}

fn parse_header(pdu: &[u8]) -> Result<Header, Malformed> {
    let mut r = Reader::new(pdu, 0);
    let version = r.u8("rpc_vers")?;
    let minor = r.u8("rpc_vers_minor")?;
    if version != 5 || minor > 1 {
        return Err(Malformed::new(0, format!("RPC version {version}.{minor}, expected 5.0 (not a DCE/RPC server?)")));
    }
    let ptype = r.u8("PDU type")?;
    let flags = r.u8("pfc_flags")?;
    let drep = r.take(4, "data representation")?;
    if drep[0] & 0xf0 != 0x10 {
        // We asked in little-endian; every Windows and Samba server answers so.
        return Err(Malformed::new(4, format!("big-endian data representation {:#04x} is not supported", drep[0])));
    }
    let frag_length = r.u16("frag_length")?;
    let auth_length = r.u16("auth_length")?;
    let call_id = r.u32("call_id")?;
    if usize::from(frag_length) < HEADER_LEN {
        return Err(Malformed::new(8, format!("frag_length {frag_length} is shorter than the header")));
    }
    Ok(Header { ptype, flags, frag_length, auth_length, call_id })
}

/// The PDU as `frag_length` says, refusing when fewer bytes are there.
fn fragment<'a>(pdu: &'a [u8], header: &Header) -> Result<&'a [u8], Malformed> {
    let len = usize::from(header.frag_length);
    pdu.get(..len).ok_or_else(|| Malformed::new(pdu.len(), format!("frag_length {len} but only {} bytes", pdu.len())))
}

/// Stub data of a RESPONSE fragment: after the 24-byte header, before any
/// authentication trailer (8-byte sec_trailer + auth_length).
fn response_stub<'a>(pdu: &'a [u8], header: &Header) -> Result<&'a [u8], Malformed> {
    let frag = fragment(pdu, header)?;
    if frag.len() < STUB_OFFSET {
        return Err(Malformed::new(frag.len(), "RESPONSE shorter than its 24-byte header"));
    }
    let trailer = if header.auth_length == 0 { 0 } else { usize::from(header.auth_length) + 8 };
    let end = frag.len().checked_sub(trailer).filter(|&end| end >= STUB_OFFSET).ok_or_else(|| {
        Malformed::new(10, format!("auth_length {} does not fit in a {}-byte fragment", header.auth_length, frag.len()))
    })?;
    Ok(&frag[STUB_OFFSET..end])
}

/// Status code of a FAULT PDU.
fn parse_fault(pdu: &[u8]) -> Result<u32, Malformed> {
    let header = parse_header(pdu)?;
    let frag = fragment(pdu, &header)?;
    let mut r = Reader::new(frag, 0);
    r.take(HEADER_LEN, "header")?;
    r.u32("alloc_hint")?;
    r.u16("p_cont_id")?;
    r.u8("cancel_count")?;
    r.u8("reserved")?;
    r.u32("fault status")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContextResult {
    Accepted,
    Rejected { result: u16, reason: u16 },
}

/// The first presentation-context result of a BIND_ACK (we offer exactly one).
fn parse_bind_ack(pdu: &[u8]) -> Result<ContextResult, Malformed> {
    let header = parse_header(pdu)?;
    let frag = fragment(pdu, &header)?;
    let mut r = Reader::new(frag, 0);
    r.take(HEADER_LEN, "header")?;
    r.u16("max_xmit_frag")?;
    r.u16("max_recv_frag")?;
    r.u32("assoc_group_id")?;
    // sec_addr: the port the association is on, as a NUL-terminated string.
    let sec_addr_len = r.u16("secondary address length")?;
    r.take(usize::from(sec_addr_len), "secondary address")?;
    // The result list is 4-aligned relative to the PDU start.
    r.align(4)?;
    let n_results = r.u8("n_results")?;
    r.take(3, "reserved")?;
    if n_results == 0 {
        return Err(Malformed::new(r.offset() - 4, "BIND_ACK carries no presentation-context result"));
    }
    let result = r.u16("context result")?;
    let reason = r.u16("context reason")?;
    r.take(20, "accepted transfer syntax")?;
    Ok(if result == 0 { ContextResult::Accepted } else { ContextResult::Rejected { result, reason } })
}

/// The reject reason of a BIND_NAK.
fn parse_bind_nak(pdu: &[u8]) -> Result<u16, Malformed> {
    let header = parse_header(pdu)?;
    let frag = fragment(pdu, &header)?;
    let mut r = Reader::new(frag, 0);
    r.take(HEADER_LEN, "header")?;
    r.u16("provider_reject_reason")
}

/// One protocol floor of a tower: left side (protocol id and data), right
/// side (address data).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Floor {
    lhs: Vec<u8>,
    rhs: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Tower {
    floors: Vec<Floor>,
}

impl Tower {
    /// The TCP port floor (big-endian u16), when the tower has one that is
    /// not 0 ("any").
    fn tcp_port(&self) -> Option<u16> {
        self.floors
            .iter()
            .find(|f| f.lhs.first() == Some(&FLOOR_TCP))
            .and_then(|f| match f.rhs.as_slice() {
                [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
                _ => None,
            })
            .filter(|&port| port != 0)
    }

    /// The interface UUID of the first floor, when it is a UUID floor.
    #[cfg(test)]
    fn interface(&self) -> Option<Uuid> {
        let lhs = self.floors.first()?.lhs.as_slice();
        match lhs.get(..17) {
            Some([FLOOR_UUID, rest @ ..]) => <&[u8; 16]>::try_from(rest).ok().map(Uuid::from_wire),
            _ => None,
        }
    }
}

/// Floors of a tower's octet string; `base` is its offset in the PDU.
fn parse_tower(octets: &[u8], base: usize) -> Result<Tower, Malformed> {
    let mut r = Reader::new(octets, base);
    let count = r.u16("tower floor count")?;
    // The loop is bounded by the data: each floor needs at least 4 bytes.
    let mut floors = Vec::with_capacity(usize::from(count).min(octets.len() / 4));
    for i in 0..count {
        let lhs_len = r.u16(&format!("floor {} lhs length", i + 1))?;
        let lhs = r.take(usize::from(lhs_len), &format!("floor {} lhs", i + 1))?.to_vec();
        let rhs_len = r.u16(&format!("floor {} rhs length", i + 1))?;
        let rhs = r.take(usize::from(rhs_len), &format!("floor {} rhs", i + 1))?.to_vec();
        floors.push(Floor { lhs, rhs });
    }
    Ok(Tower { floors })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct EptMapReply {
    num_towers: u32,
    towers: Vec<Tower>,
    status: u32,
}

/// NDR stub of the `ept_map` [out] parameters: entry_handle, num_towers,
/// towers (a conformant varying array of [ptr] twr_t pointers, referents
/// after the array), status.
fn parse_ept_map_stub(stub: &[u8]) -> Result<EptMapReply, Malformed> {
    let mut r = Reader::new(stub, STUB_OFFSET);
    r.take(20, "entry_handle")?;
    let num_towers = r.u32("num_towers")?;
    let max_count_at = r.offset();
    let max_count = r.u32("towers max_count")?;
    let offset = r.u32("towers offset")?;
    let actual_count_at = r.offset();
    let actual_count = r.u32("towers actual_count")?;
    if offset != 0 {
        return Err(Malformed::new(max_count_at + 4, format!("towers array offset {offset}, expected 0")));
    }
    if actual_count > max_count || actual_count > 500 {
        return Err(Malformed::new(
            actual_count_at,
            format!("towers actual_count {actual_count} exceeds max_count {max_count} or the IDL limit 500"),
        ));
    }
    let mut referents = Vec::with_capacity(actual_count.min(500) as usize);
    for i in 0..actual_count {
        referents.push(r.u32(&format!("tower {} pointer", i + 1))?);
    }
    let mut towers = Vec::new();
    let mut seen = Vec::new();
    for (i, &referent) in referents.iter().enumerate() {
        // Null pointers carry no data; a repeated full-pointer id refers to
        // a tower already sent, so nothing follows for it either.
        if referent == 0 || seen.contains(&referent) {
            continue;
        }
        seen.push(referent);
        let n = i + 1;
        r.align(4)?;
        let conformance_at = r.offset();
        let conformance = r.u32(&format!("tower {n} max_count"))?;
        let length = r.u32(&format!("tower {n} tower_length"))?;
        if conformance != length {
            return Err(Malformed::new(
                conformance_at,
                format!("tower {n} max_count {conformance} differs from tower_length {length}"),
            ));
        }
        let octets_at = r.offset();
        let octets = r.take(length as usize, &format!("tower {n} octets ({length} bytes)"))?;
        towers.push(parse_tower(octets, octets_at)?);
    }
    r.align(4)?;
    let status = r.u32("status")?;
    Ok(EptMapReply { num_towers, towers, status })
}

// ---------------------------------------------------------------------------
// Words for codes

fn ptype_name(ptype: u8) -> String {
    let name = match ptype {
        0 => "REQUEST",
        1 => "PING",
        2 => "RESPONSE",
        3 => "FAULT",
        11 => "BIND",
        12 => "BIND_ACK",
        13 => "BIND_NAK",
        14 => "ALTER_CONTEXT",
        15 => "ALTER_CONTEXT_RESP",
        16 => "AUTH3",
        17 => "SHUTDOWN",
        18 => "CO_CANCEL",
        19 => "ORPHANED",
        _ => return format!("type {ptype}"),
    };
    name.to_string()
}

fn context_result_name(result: u16) -> String {
    match result {
        0 => "acceptance".to_string(),
        1 => "user rejection".to_string(),
        2 => "provider rejection".to_string(),
        3 => "negotiate ack".to_string(),
        other => format!("result {other}"),
    }
}

/// `p_provider_reason_t` of a rejected context.
fn provider_reason_name(reason: u16) -> String {
    match reason {
        0 => "reason not specified".to_string(),
        1 => "abstract syntax not supported".to_string(),
        2 => "proposed transfer syntaxes not supported".to_string(),
        3 => "local limit exceeded".to_string(),
        other => format!("reason {other}"),
    }
}

/// `p_reject_reason_t` of a BIND_NAK.
fn reject_reason_name(reason: u16) -> String {
    match reason {
        0 => "reason not specified".to_string(),
        1 => "temporary congestion".to_string(),
        2 => "local limit exceeded".to_string(),
        3 => "called presentation address unknown".to_string(),
        4 => "protocol version not supported".to_string(),
        5 => "default context not supported".to_string(),
        6 => "user data not readable".to_string(),
        7 => "no PSAP available".to_string(),
        8 => "authentication type not recognized".to_string(),
        9 => "invalid checksum".to_string(),
        other => format!("reason {other}"),
    }
}

/// A FAULT status in hex, with its name when it is a well-known one.
fn fault_text(status: u32) -> String {
    let name = match status {
        0x0000_0005 => Some("access denied"),
        0x0000_06f7 => Some("nca_s_fault_ndr: the server could not read the request"),
        0x1c01_0002 => Some("nca_s_op_rng_error: operation number out of range"),
        0x1c01_0003 => Some("nca_s_unk_if: unknown interface"),
        0x1c01_000b => Some("nca_s_proto_error: protocol error"),
        _ => None,
    };
    match name {
        Some(name) => format!("status {status:#010x} ({name})"),
        None => format!("status {status:#010x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tokio::net::TcpListener;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn uuids_go_on_the_wire_little_endian_then_as_written() {
        assert_eq!(
            EPM.uuid.to_wire(),
            [0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa]
        );
        assert_eq!(DRSUAPI.uuid.to_string(), "e3514235-4b06-11d1-ab04-00c04fc2dcd2");
        assert_eq!(NDR.uuid.to_string(), "8a885d04-1ceb-11c9-9fe8-08002b104860");
        assert_eq!(Uuid::from_wire(&DRSUAPI.uuid.to_wire()), DRSUAPI.uuid);
    }

    #[test]
    fn bind_pdu_layout() {
        let pdu = encode_bind(7, EPM);
        assert_eq!(pdu.len(), 72);
        assert_eq!(&pdu[..4], &[5, 0, PTYPE_BIND, 0x03]);
        assert_eq!(&pdu[4..8], &[0x10, 0, 0, 0]);
        assert_eq!(u16_at(&pdu, 8), 72); // frag_length
        assert_eq!(u16_at(&pdu, 10), 0); // auth_length
        assert_eq!(u32_at(&pdu, 12), 7); // call_id
        assert_eq!(u16_at(&pdu, 16), 4280);
        assert_eq!(u16_at(&pdu, 18), 4280);
        assert_eq!(u32_at(&pdu, 20), 0); // assoc_group_id
        assert_eq!(pdu[24], 1); // n_context_elem
        assert_eq!(u16_at(&pdu, 28), 0); // p_cont_id
        assert_eq!(pdu[30], 1); // n_transfer_syn
        assert_eq!(&pdu[32..48], &EPM.uuid.to_wire());
        assert_eq!(&pdu[48..52], &[3, 0, 0, 0]); // v3.0
        assert_eq!(&pdu[52..68], &NDR.uuid.to_wire());
        assert_eq!(&pdu[68..72], &[2, 0, 0, 0]); // v2.0
        let header = parse_header(&pdu).expect("our own header parses");
        assert_eq!(header.ptype, PTYPE_BIND);
    }

    #[test]
    fn drsuapi_tower_layout() {
        let t = drsuapi_tower();
        assert_eq!(t.len(), 75);
        assert_eq!(u16_at(&t, 0), 5);
        assert_eq!(u16_at(&t, 2), 19);
        assert_eq!(t[4], FLOOR_UUID);
        assert_eq!(&t[5..21], &DRSUAPI.uuid.to_wire());
        assert_eq!(u16_at(&t, 21), 4); // major
        assert_eq!(u16_at(&t, 23), 2);
        assert_eq!(u16_at(&t, 25), 0); // minor
        let tower = parse_tower(&t, 0).expect("our own tower parses");
        assert_eq!(tower.floors.len(), 5);
        assert_eq!(tower.interface(), Some(DRSUAPI.uuid));
        assert_eq!(tower.floors[2].lhs, vec![FLOOR_NCACN]);
        assert_eq!(tower.floors[3], Floor { lhs: vec![FLOOR_TCP], rhs: vec![0, 0] });
        assert_eq!(tower.floors[4], Floor { lhs: vec![FLOOR_IP], rhs: vec![0, 0, 0, 0] });
        assert_eq!(tower.tcp_port(), None, "port 0 means any, not a port");
    }

    #[test]
    fn ept_map_request_layout() {
        let pdu = encode_ept_map_request(2);
        assert_eq!(pdu.len(), 140);
        assert_eq!(pdu[2], PTYPE_REQUEST);
        assert_eq!(u16_at(&pdu, 8), 140);
        assert_eq!(u32_at(&pdu, 12), 2);
        assert_eq!(u32_at(&pdu, 16), 116); // alloc_hint = stub length
        assert_eq!(u16_at(&pdu, 20), 0); // context id
        assert_eq!(u16_at(&pdu, 22), 3); // opnum ept_map
        let stub = &pdu[24..];
        assert_eq!(u32_at(stub, 0), 0, "object: null pointer");
        assert_ne!(u32_at(stub, 4), 0, "map_tower: a referent");
        assert_eq!(u32_at(stub, 8), 75, "conformance");
        assert_eq!(u32_at(stub, 12), 75, "tower_length");
        assert_eq!(&stub[16..91], drsuapi_tower().as_slice());
        assert_eq!(stub[91], 0, "pad to 4");
        assert_eq!(&stub[92..112], &[0u8; 20], "entry_handle");
        assert_eq!(u32_at(stub, 112), 4, "max_towers");
    }

    /// A tower as a DC returns it: DRSUAPI over NDR over ncacn_ip_tcp, port and IP set.
    fn answer_tower(port: u16) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&5u16.to_le_bytes());
        put_uuid_floor(&mut t, DRSUAPI);
        put_uuid_floor(&mut t, NDR);
        put_floor(&mut t, &[FLOOR_NCACN], &[0, 0]);
        put_floor(&mut t, &[FLOOR_TCP], &port.to_be_bytes());
        put_floor(&mut t, &[FLOOR_IP], &[127, 0, 0, 2]);
        t
    }

    fn ept_map_answer_stub(towers: &[Vec<u8>], status: u32) -> Vec<u8> {
        let mut s = vec![0u8; 20]; // entry_handle
        let n = towers.len() as u32;
        s.extend_from_slice(&n.to_le_bytes()); // num_towers
        s.extend_from_slice(&MAX_TOWERS.to_le_bytes()); // max_count
        s.extend_from_slice(&0u32.to_le_bytes()); // offset
        s.extend_from_slice(&n.to_le_bytes()); // actual_count
        for i in 0..n {
            s.extend_from_slice(&(i + 3).to_le_bytes());
        }
        for t in towers {
            s.extend_from_slice(&(t.len() as u32).to_le_bytes());
            s.extend_from_slice(&(t.len() as u32).to_le_bytes());
            s.extend_from_slice(t);
            while !s.len().is_multiple_of(4) {
                s.push(0);
            }
        }
        s.extend_from_slice(&status.to_le_bytes());
        s
    }

    fn response_pdu(call_id: u32, stub: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(stub.len() as u32).to_le_bytes());
        body.extend_from_slice(&[0, 0, 0, 0]); // p_cont_id, cancel_count, reserved
        body.extend_from_slice(stub);
        encode_pdu(PTYPE_RESPONSE, call_id, &body)
    }

    fn fault_pdu(call_id: u32, status: u32) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(&status.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        encode_pdu(PTYPE_FAULT, call_id, &body)
    }

    fn bind_ack_pdu(call_id: u32, port: &str, result: u16, reason: u16) -> Vec<u8> {
        let mut pdu = vec![0u8; HEADER_LEN];
        pdu.extend_from_slice(&MAX_FRAG.to_le_bytes());
        pdu.extend_from_slice(&MAX_FRAG.to_le_bytes());
        pdu.extend_from_slice(&0x1234u32.to_le_bytes());
        let sec_addr = format!("{port}\0");
        pdu.extend_from_slice(&(sec_addr.len() as u16).to_le_bytes());
        pdu.extend_from_slice(sec_addr.as_bytes());
        while !pdu.len().is_multiple_of(4) {
            pdu.push(0);
        }
        pdu.extend_from_slice(&[1, 0, 0, 0]);
        pdu.extend_from_slice(&result.to_le_bytes());
        pdu.extend_from_slice(&reason.to_le_bytes());
        put_syntax(&mut pdu, NDR);
        let body = pdu.split_off(HEADER_LEN);
        encode_pdu(PTYPE_BIND_ACK, call_id, &body)
    }

    #[test]
    fn a_server_conversation_replays_as_the_probe_reads_it() {
        let stub = ept_map_answer_stub(&[answer_tower(49152)], 0);
        let whole = [bind_ack_pdu(1, "135", 0, 0), response_pdu(2, &stub), bind_ack_pdu(1, "49152", 0, 0)].concat();
        let steps = replay_server_bytes(&whole);
        assert_eq!(steps[0], Ok("EPM bound".to_owned()));
        assert_eq!(steps[1], Ok(format!("{} stub bytes", stub.len())));
        assert_eq!(steps[2], Ok("DRSUAPI on 49152".to_owned()));
        assert_eq!(steps[4], Ok("bound".to_owned()));

        // The stub in two fragments: the first without PFC_LAST_FRAG.
        let (a, b) = stub.split_at(30);
        let mut first = response_pdu(2, a);
        first[3] = PFC_FIRST_FRAG;
        let split = [bind_ack_pdu(1, "135", 0, 0), first, response_pdu(2, b), bind_ack_pdu(1, "49152", 2, 1)].concat();
        let steps = replay_server_bytes(&split);
        assert_eq!(steps[1], Ok(format!("{} stub bytes", stub.len())));
        assert_eq!(steps[2], Ok("DRSUAPI on 49152".to_owned()));
        let rejected = steps[4].as_ref().unwrap_err();
        assert!(rejected.contains("rejected the DRSUAPI presentation context"), "{rejected}");

        // A FAULT instead of the ept_map answer, then nothing.
        let faulted = [bind_ack_pdu(1, "135", 0, 0), fault_pdu(2, 0x1c01_0002)].concat();
        let steps = replay_server_bytes(&faulted);
        assert!(steps[1].as_ref().unwrap_err().contains("answered ept_map with a FAULT"), "{:?}", steps[1]);
        assert!(steps[4].as_ref().unwrap_err().starts_with("malformed PDU header"), "{:?}", steps[4]);
    }

    #[test]
    fn response_with_one_tower() {
        let pdu = response_pdu(2, &ept_map_answer_stub(&[answer_tower(49152)], 0));
        let header = parse_header(&pdu).expect("header");
        assert_eq!(header.ptype, PTYPE_RESPONSE);
        let stub = response_stub(&pdu, &header).expect("stub");
        let reply = parse_ept_map_stub(stub).expect("ept_map reply");
        assert_eq!(reply.status, 0);
        assert_eq!(reply.num_towers, 1);
        assert_eq!(reply.towers.len(), 1);
        assert_eq!(reply.towers[0].interface(), Some(DRSUAPI.uuid));
        assert_eq!(reply.towers[0].tcp_port(), Some(49152));
    }

    #[test]
    fn response_not_registered() {
        let stub = ept_map_answer_stub(&[], EPT_S_NOT_REGISTERED);
        let reply = parse_ept_map_stub(&stub).expect("ept_map reply");
        assert_eq!(reply.status, EPT_S_NOT_REGISTERED);
        assert!(reply.towers.is_empty());
    }

    #[test]
    fn fault_status_is_read() {
        let pdu = fault_pdu(2, 0x1c01_0003);
        assert_eq!(parse_header(&pdu).expect("header").ptype, PTYPE_FAULT);
        assert_eq!(parse_fault(&pdu), Ok(0x1c01_0003));
        assert_eq!(fault_text(0x1c01_0003), "status 0x1c010003 (nca_s_unk_if: unknown interface)");
    }

    #[test]
    fn bind_ack_results() {
        assert_eq!(parse_bind_ack(&bind_ack_pdu(1, "135", 0, 0)), Ok(ContextResult::Accepted));
        assert_eq!(
            parse_bind_ack(&bind_ack_pdu(1, "49152", 2, 1)),
            Ok(ContextResult::Rejected { result: 2, reason: 1 })
        );
    }

    #[test]
    fn truncated_input_is_an_error_never_a_panic() {
        let full = response_pdu(2, &ept_map_answer_stub(&[answer_tower(49152), answer_tower(49153)], 0));
        let stub = &full[STUB_OFFSET..];
        for cut in 0..stub.len() {
            let err = parse_ept_map_stub(&stub[..cut]).expect_err("a cut stub must not parse");
            assert!(err.offset <= STUB_OFFSET + cut, "{err}");
        }
        for cut in 0..full.len() {
            let part = &full[..cut];
            if let Ok(header) = parse_header(part) {
                assert!(response_stub(part, &header).is_err(), "cut at {cut}");
            }
        }
        let ack = bind_ack_pdu(1, "135", 0, 0);
        for cut in 0..ack.len() {
            assert!(parse_bind_ack(&ack[..cut]).is_err(), "cut at {cut}");
        }
        let fault = fault_pdu(2, 5);
        for cut in 0..fault.len() {
            assert!(parse_fault(&fault[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn hostile_lengths_are_refused_with_offsets() {
        let mut stub = ept_map_answer_stub(&[answer_tower(49152)], 0);
        // tower 1 max_count and tower_length at stub offset 40 and 44.
        stub[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        stub[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = parse_ept_map_stub(&stub).expect_err("huge tower");
        assert_eq!(err.offset, STUB_OFFSET + 48);
        assert!(err.to_string().starts_with("at offset 72: tower 1 octets"), "{err}");

        let mut stub = ept_map_answer_stub(&[answer_tower(49152)], 0);
        stub[32..36].copy_from_slice(&1000u32.to_le_bytes()); // actual_count
        let err = parse_ept_map_stub(&stub).expect_err("too many towers");
        assert_eq!(err.offset, STUB_OFFSET + 32);

        let mut tower = answer_tower(49152);
        tower[2..4].copy_from_slice(&u16::MAX.to_le_bytes()); // floor 1 lhs length
        assert!(parse_tower(&tower, 0).is_err());

        let mut header = encode_bind(1, EPM);
        header[0] = 4;
        assert!(parse_header(&header).expect_err("version 4").to_string().contains("RPC version 4.0"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic generator is enough to walk many shapes.
        let mut x: u32 = 0x1234_5678;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = parse_ept_map_stub(&bytes);
            let _ = parse_tower(&bytes, 0);
            let _ = parse_bind_ack(&bytes);
            let _ = parse_fault(&bytes);
            if let Ok(h) = parse_header(&bytes) {
                let _ = response_stub(&bytes, &h);
            }
        }
    }

    /// A stand-in endpoint mapper: answers the BIND, then ept_map with `answer`.
    async fn fake_epm(answer: Vec<u8>) -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 72];
                if s.read_exact(&mut buf).await.is_err() {
                    return;
                }
                let _ = s.write_all(&bind_ack_pdu(1, "135", 0, 0)).await;
                let mut req = vec![0u8; 140];
                if s.read_exact(&mut req).await.is_err() {
                    return;
                }
                let _ = s.write_all(&answer).await;
                // Hold the connection until the client is done.
                let _ = s.read(&mut buf).await;
            }
        });
        port
    }

    /// A stand-in DRSUAPI port that accepts (or rejects) the BIND.
    async fn fake_drsuapi(result: u16) -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 72];
                if s.read_exact(&mut buf).await.is_ok() {
                    let _ = s.write_all(&bind_ack_pdu(1, &port.to_string(), result, 1)).await;
                    let _ = s.read(&mut buf).await;
                }
            }
        });
        port
    }

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn full_path_against_stand_ins() {
        let drs = fake_drsuapi(0).await;
        let epm = fake_epm(response_pdu(2, &ept_map_answer_stub(&[answer_tower(drs)], 0))).await;
        let probe = probe_drsuapi_at(LOCALHOST, epm, Duration::from_secs(2)).await;
        assert_eq!(probe.error, None);
        assert!(probe.endpoint_mapper_ok);
        assert_eq!(probe.drsuapi_port, Some(drs));
        assert!(probe.drsuapi_reachable);
    }

    #[tokio::test]
    async fn drsuapi_bind_rejected() {
        let drs = fake_drsuapi(2).await;
        let epm = fake_epm(response_pdu(2, &ept_map_answer_stub(&[answer_tower(drs)], 0))).await;
        let probe = probe_drsuapi_at(LOCALHOST, epm, Duration::from_secs(2)).await;
        assert!(probe.drsuapi_reachable);
        let error = probe.error.expect("an error");
        assert!(error.contains("rejected the DRSUAPI presentation context: provider rejection"), "{error}");
    }

    #[tokio::test]
    async fn not_registered_and_fault_and_garbage() {
        let epm = fake_epm(response_pdu(2, &ept_map_answer_stub(&[], EPT_S_NOT_REGISTERED))).await;
        let probe = probe_drsuapi_at(LOCALHOST, epm, Duration::from_secs(2)).await;
        assert!(probe.endpoint_mapper_ok);
        assert_eq!(probe.error.as_deref(), Some("endpoint mapper has no DRSUAPI endpoint (ept_map status 0x16c9a0d6)"));

        let epm = fake_epm(fault_pdu(2, 0x1c01_0002)).await;
        let probe = probe_drsuapi_at(LOCALHOST, epm, Duration::from_secs(2)).await;
        assert!(!probe.endpoint_mapper_ok);
        let error = probe.error.expect("an error");
        assert!(error.contains("FAULT: status 0x1c010002"), "{error}");

        let mut garbage = response_pdu(2, &ept_map_answer_stub(&[answer_tower(1)], 0));
        garbage.truncate(60);
        garbage[8..10].copy_from_slice(&60u16.to_le_bytes());
        let epm = fake_epm(garbage).await;
        let probe = probe_drsuapi_at(LOCALHOST, epm, Duration::from_secs(2)).await;
        let error = probe.error.expect("an error");
        assert!(error.starts_with("endpoint mapper sent a malformed ept_map response at offset"), "{error}");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 256];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            }
        });
        let started = Instant::now();
        let probe = probe_drsuapi_at(LOCALHOST, port, Duration::from_millis(300)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(probe.error.as_deref(), Some("endpoint mapper did not answer the BIND within 300 ms"));
    }
}
