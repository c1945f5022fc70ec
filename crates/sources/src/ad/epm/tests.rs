//! The wire format and the probe, against bytes and stand-in servers.

use super::probe::*;
use super::wire::*;
use phs_secdesc::Guid;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
        EPM.uuid.to_wire_bytes(),
        [0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa]
    );
    assert_eq!(DRSUAPI.uuid.to_string(), "e3514235-4b06-11d1-ab04-00c04fc2dcd2");
    assert_eq!(NDR.uuid.to_string(), "8a885d04-1ceb-11c9-9fe8-08002b104860");
    assert_eq!(Guid::from_wire_bytes(DRSUAPI.uuid.to_wire_bytes()), DRSUAPI.uuid);
}

#[test]
fn bind_pdu_layout() {
    let pdu = encode_bind(7, EPM);
    assert_eq!(pdu.len(), 72);
    assert_eq!(&pdu[..4], &[5, 0, PduType::Bind.code(), 0x03]);
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
    assert_eq!(&pdu[32..48], &EPM.uuid.to_wire_bytes());
    assert_eq!(&pdu[48..52], &[3, 0, 0, 0]); // v3.0
    assert_eq!(&pdu[52..68], &NDR.uuid.to_wire_bytes());
    assert_eq!(&pdu[68..72], &[2, 0, 0, 0]); // v2.0
    let header = parse_header(&pdu).expect("our own header parses");
    assert_eq!(header.ptype, PduType::Bind);
}

#[test]
fn drsuapi_tower_layout() {
    let t = drsuapi_tower();
    assert_eq!(t.len(), 75);
    assert_eq!(u16_at(&t, 0), 5);
    assert_eq!(u16_at(&t, 2), 19);
    assert_eq!(t[4], FLOOR_UUID);
    assert_eq!(&t[5..21], &DRSUAPI.uuid.to_wire_bytes());
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
    assert_eq!(pdu[2], PduType::Request.code());
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
    encode_pdu(PduType::Response, call_id, &body)
}

fn fault_pdu(call_id: u32, status: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&[0, 0, 0, 0]);
    body.extend_from_slice(&status.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    encode_pdu(PduType::Fault, call_id, &body)
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
    encode_pdu(PduType::BindAck, call_id, &body)
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
    assert_eq!(header.ptype, PduType::Response);
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
    assert_eq!(parse_header(&pdu).expect("header").ptype, PduType::Fault);
    assert_eq!(parse_fault(&pdu), Ok(0x1c01_0003));
    assert_eq!(fault_text(0x1c01_0003), "status 0x1c010003 (nca_s_unk_if: unknown interface)");
}

#[test]
fn bind_ack_results() {
    assert_eq!(parse_bind_ack(&bind_ack_pdu(1, "135", 0, 0)), Ok(ContextResult::Accepted));
    assert_eq!(parse_bind_ack(&bind_ack_pdu(1, "49152", 2, 1)), Ok(ContextResult::Rejected { result: 2, reason: 1 }));
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
