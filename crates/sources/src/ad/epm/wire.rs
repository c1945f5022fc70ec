//! The DCE/RPC wire format the probe speaks (C706 chapter 12, connection-
//! oriented PDUs; chapter 14, NDR; appendix L, `ept_map`): the PDU types,
//! what the probe sends (BIND, the `ept_map` REQUEST), and bounds-checked
//! parsers for what a server sends back, each error naming the byte offset.
//! No sockets here; [`super::probe`] does the talking.

use std::fmt;

use phs_secdesc::Guid;

/// `ept_map` status when nothing is registered for the requested interface
/// (`EPT_S_NOT_REGISTERED`, C706 appendix L / MS-RPCE).
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;

/// The PDU types of connection-oriented RPC (C706 §12.6.4) by their code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PduType {
    Request,
    Ping,
    Response,
    Fault,
    Bind,
    BindAck,
    BindNak,
    AlterContext,
    AlterContextResp,
    Auth3,
    Shutdown,
    CoCancel,
    Orphaned,
    /// A code C706 does not define: kept so the message can name it.
    Unknown(u8),
}

/// Code, type and name of every defined PDU type, in one table.
const PDU_TYPES: &[(u8, PduType, &str)] = &[
    (0, PduType::Request, "REQUEST"),
    (1, PduType::Ping, "PING"),
    (2, PduType::Response, "RESPONSE"),
    (3, PduType::Fault, "FAULT"),
    (11, PduType::Bind, "BIND"),
    (12, PduType::BindAck, "BIND_ACK"),
    (13, PduType::BindNak, "BIND_NAK"),
    (14, PduType::AlterContext, "ALTER_CONTEXT"),
    (15, PduType::AlterContextResp, "ALTER_CONTEXT_RESP"),
    (16, PduType::Auth3, "AUTH3"),
    (17, PduType::Shutdown, "SHUTDOWN"),
    (18, PduType::CoCancel, "CO_CANCEL"),
    (19, PduType::Orphaned, "ORPHANED"),
];

impl PduType {
    pub(super) fn from_code(code: u8) -> PduType {
        PDU_TYPES.iter().find(|(c, _, _)| *c == code).map_or(PduType::Unknown(code), |(_, t, _)| *t)
    }

    pub(super) fn code(self) -> u8 {
        match self {
            PduType::Unknown(code) => code,
            known => PDU_TYPES.iter().find(|(_, t, _)| *t == known).map_or(0, |(c, _, _)| *c),
        }
    }

    /// `BIND_ACK`, or `type 42` for a code C706 does not define.
    pub(super) fn name(self) -> String {
        match PDU_TYPES.iter().find(|(_, t, _)| *t == self) {
            Some((_, _, name)) => (*name).to_owned(),
            None => format!("type {}", self.code()),
        }
    }
}

// pfc_flags: every PDU we send is a single fragment.
pub(super) const PFC_FIRST_FRAG: u8 = 0x01;
pub(super) const PFC_LAST_FRAG: u8 = 0x02;

pub(super) const HEADER_LEN: usize = 16;
/// Offset of the stub data in REQUEST and RESPONSE PDUs.
pub(super) const STUB_OFFSET: usize = 24;
/// What Windows clients advertise on TCP; any server accepts it.
pub(super) const MAX_FRAG: u16 = 4280;
/// `ept_map` opnum in the endpoint mapper interface.
pub(super) const OPNUM_EPT_MAP: u16 = 3;
/// How many towers we ask for. The IDL caps the range at 500.
pub(super) const MAX_TOWERS: u32 = 4;

// Tower floor protocol identifiers (C706 appendix I / MS-RPCE §2.2.1.1).
pub(super) const FLOOR_UUID: u8 = 0x0d;
pub(super) const FLOOR_NCACN: u8 = 0x0b;
pub(super) const FLOOR_TCP: u8 = 0x07;
pub(super) const FLOOR_IP: u8 = 0x09;

/// An interface or transfer syntax with its version (`p_syntax_id_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SyntaxId {
    pub(super) uuid: Guid,
    pub(super) major: u16,
    pub(super) minor: u16,
    pub(super) name: &'static str,
}

/// The endpoint mapper, `e1af8308-5d1f-11c9-91a4-08002b14a0fa` v3.0.
pub(super) const EPM: SyntaxId = SyntaxId {
    uuid: Guid::from_fields(0xe1af_8308, 0x5d1f, 0x11c9, [0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa]),
    major: 3,
    minor: 0,
    name: "endpoint mapper",
};

/// The NDR transfer syntax, `8a885d04-1ceb-11c9-9fe8-08002b104860` v2.
pub(super) const NDR: SyntaxId = SyntaxId {
    uuid: Guid::from_fields(0x8a88_5d04, 0x1ceb, 0x11c9, [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60]),
    major: 2,
    minor: 0,
    name: "NDR",
};

/// Directory replication (MS-DRSR), `e3514235-4b06-11d1-ab04-00c04fc2dcd2` v4.0.
pub(super) const DRSUAPI: SyntaxId = SyntaxId {
    uuid: Guid::from_fields(0xe351_4235, 0x4b06, 0x11d1, [0xab, 0x04, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2]),
    major: 4,
    minor: 0,
    name: "DRSUAPI",
};

// ---------------------------------------------------------------------------
// Encoding

/// Common header + body, as one fragment, little-endian drep.
pub(super) fn encode_pdu(ptype: PduType, call_id: u32, body: &[u8]) -> Vec<u8> {
    // Our PDUs are well under 200 bytes; the cap only keeps the cast honest.
    let frag_length = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(5); // rpc_vers
    out.push(0); // rpc_vers_minor
    out.push(ptype.code());
    out.push(PFC_FIRST_FRAG | PFC_LAST_FRAG);
    out.extend_from_slice(&[0x10, 0, 0, 0]); // packed_drep: little-endian, ASCII, IEEE float
    out.extend_from_slice(&frag_length.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // auth_length: no authentication
    out.extend_from_slice(&call_id.to_le_bytes());
    out.extend_from_slice(body);
    out
}

pub(super) fn put_syntax(out: &mut Vec<u8>, syntax: SyntaxId) {
    out.extend_from_slice(&syntax.uuid.to_wire_bytes());
    // p_syntax_id_t.if_version is one u32: major in the low half, minor in the high.
    out.extend_from_slice(&syntax.major.to_le_bytes());
    out.extend_from_slice(&syntax.minor.to_le_bytes());
}

/// BIND with one presentation context: `syntax` over NDR, context id 0.
pub(super) fn encode_bind(call_id: u32, syntax: SyntaxId) -> Vec<u8> {
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
    encode_pdu(PduType::Bind, call_id, &body)
}

/// REQUEST on context 0 with no object UUID.
pub(super) fn encode_request(call_id: u32, opnum: u16, stub: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(8 + stub.len());
    body.extend_from_slice(&u32::try_from(stub.len()).unwrap_or(u32::MAX).to_le_bytes()); // alloc_hint
    body.extend_from_slice(&0u16.to_le_bytes()); // p_cont_id
    body.extend_from_slice(&opnum.to_le_bytes());
    body.extend_from_slice(stub);
    encode_pdu(PduType::Request, call_id, &body)
}

pub(super) fn put_floor(out: &mut Vec<u8>, lhs: &[u8], rhs: &[u8]) {
    // Floor parts are at most 19 bytes here.
    out.extend_from_slice(&u16::try_from(lhs.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(lhs);
    out.extend_from_slice(&u16::try_from(rhs.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(rhs);
}

pub(super) fn put_uuid_floor(out: &mut Vec<u8>, syntax: SyntaxId) {
    let mut lhs = Vec::with_capacity(19);
    lhs.push(FLOOR_UUID);
    lhs.extend_from_slice(&syntax.uuid.to_wire_bytes());
    lhs.extend_from_slice(&syntax.major.to_le_bytes());
    put_floor(out, &lhs, &syntax.minor.to_le_bytes());
}

/// The tower we ask about: DRSUAPI v4.0, NDR v2, connection-oriented RPC
/// over TCP (port 0: any) over IP (0.0.0.0: any). Integers inside floors are
/// little-endian except the TCP port and IP address, which are in network order.
pub(super) fn drsuapi_tower() -> Vec<u8> {
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
pub(super) fn ept_map_stub() -> Vec<u8> {
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

pub(super) fn encode_ept_map_request(call_id: u32) -> Vec<u8> {
    encode_request(call_id, OPNUM_EPT_MAP, &ept_map_stub())
}
// ---------------------------------------------------------------------------
// Parsing (bounds-checked; offsets are from the start of the PDU)

/// Where and why a server's bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Malformed {
    pub(super) offset: usize,
    pub(super) what: String,
}

impl Malformed {
    pub(super) fn new(offset: usize, what: impl Into<String>) -> Malformed {
        Malformed { offset, what: what.into() }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.what)
    }
}

/// A cursor that refuses to read past the end.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the PDU, for messages.
    base: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8], base: usize) -> Reader<'a> {
        Reader { buf, pos: 0, base }
    }

    pub(super) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Malformed> {
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

    pub(super) fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }

    pub(super) fn u16(&mut self, what: &str) -> Result<u16, Malformed> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(super) fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Skip to the next multiple of `n` from the start of `buf` (NDR aligns
    /// relative to the start of the stub, which is itself 8-aligned in the PDU).
    pub(super) fn align(&mut self, n: usize) -> Result<(), Malformed> {
        let pad = (n - self.pos % n) % n;
        self.take(pad, "alignment padding").map(|_| ())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) ptype: PduType,
    pub(super) flags: u8,
    pub(super) frag_length: u16,
    pub(super) auth_length: u16,
    pub(super) call_id: u32,
}

pub(super) fn parse_header(pdu: &[u8]) -> Result<Header, Malformed> {
    let mut r = Reader::new(pdu, 0);
    let version = r.u8("rpc_vers")?;
    let minor = r.u8("rpc_vers_minor")?;
    if version != 5 || minor > 1 {
        return Err(Malformed::new(0, format!("RPC version {version}.{minor}, expected 5.0 (not a DCE/RPC server?)")));
    }
    let ptype = PduType::from_code(r.u8("PDU type")?);
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
pub(super) fn fragment<'a>(pdu: &'a [u8], header: &Header) -> Result<&'a [u8], Malformed> {
    let len = usize::from(header.frag_length);
    pdu.get(..len).ok_or_else(|| Malformed::new(pdu.len(), format!("frag_length {len} but only {} bytes", pdu.len())))
}

/// Stub data of a RESPONSE fragment: after the 24-byte header, before any
/// authentication trailer (8-byte sec_trailer + auth_length).
pub(super) fn response_stub<'a>(pdu: &'a [u8], header: &Header) -> Result<&'a [u8], Malformed> {
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
pub(super) fn parse_fault(pdu: &[u8]) -> Result<u32, Malformed> {
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
pub(super) enum ContextResult {
    Accepted,
    Rejected { result: u16, reason: u16 },
}

/// The first presentation-context result of a BIND_ACK (we offer exactly one).
pub(super) fn parse_bind_ack(pdu: &[u8]) -> Result<ContextResult, Malformed> {
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
pub(super) fn parse_bind_nak(pdu: &[u8]) -> Result<u16, Malformed> {
    let header = parse_header(pdu)?;
    let frag = fragment(pdu, &header)?;
    let mut r = Reader::new(frag, 0);
    r.take(HEADER_LEN, "header")?;
    r.u16("provider_reject_reason")
}

/// One protocol floor of a tower: left side (protocol id and data), right
/// side (address data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Floor {
    pub(super) lhs: Vec<u8>,
    pub(super) rhs: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Tower {
    pub(super) floors: Vec<Floor>,
}

impl Tower {
    /// The TCP port floor (big-endian u16), when the tower has one that is
    /// not 0 ("any").
    pub(super) fn tcp_port(&self) -> Option<u16> {
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
    pub(super) fn interface(&self) -> Option<Guid> {
        let lhs = self.floors.first()?.lhs.as_slice();
        match lhs.get(..17) {
            Some([FLOOR_UUID, rest @ ..]) => <[u8; 16]>::try_from(rest).ok().map(Guid::from_wire_bytes),
            _ => None,
        }
    }
}

/// Floors of a tower's octet string; `base` is its offset in the PDU.
pub(super) fn parse_tower(octets: &[u8], base: usize) -> Result<Tower, Malformed> {
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
pub(super) struct EptMapReply {
    pub(super) num_towers: u32,
    pub(super) towers: Vec<Tower>,
    pub(super) status: u32,
}

/// NDR stub of the `ept_map` [out] parameters: entry_handle, num_towers,
/// towers (a conformant varying array of [ptr] twr_t pointers, referents
/// after the array), status.
pub(super) fn parse_ept_map_stub(stub: &[u8]) -> Result<EptMapReply, Malformed> {
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

pub(super) fn context_result_name(result: u16) -> String {
    match result {
        0 => "acceptance".to_string(),
        1 => "user rejection".to_string(),
        2 => "provider rejection".to_string(),
        3 => "negotiate ack".to_string(),
        other => format!("result {other}"),
    }
}

/// `p_provider_reason_t` of a rejected context.
pub(super) fn provider_reason_name(reason: u16) -> String {
    match reason {
        0 => "reason not specified".to_string(),
        1 => "abstract syntax not supported".to_string(),
        2 => "proposed transfer syntaxes not supported".to_string(),
        3 => "local limit exceeded".to_string(),
        other => format!("reason {other}"),
    }
}

/// `p_reject_reason_t` of a BIND_NAK.
pub(super) fn reject_reason_name(reason: u16) -> String {
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
pub(super) fn fault_text(status: u32) -> String {
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
