//! Differential test against Samba 4.17's own SDDL encoder, the reference our
//! renderer must match. Runs only where Debian's `python3-samba` is
//! importable (it is a system package, not something this crate can pull
//! in); elsewhere it says so and passes.

use std::io::Write;
use std::process::{Command, Stdio};

use phs_secdesc::{Ace, AceFlags, AceType, Acl, Guid, SecurityDescriptor, Sid};

const SCRIPT: &str = r#"
import sys
from samba.dcerpc import security
from samba.ndr import ndr_unpack
domain = security.dom_sid(sys.argv[1])
for line in sys.stdin:
    sd = ndr_unpack(security.descriptor, bytes.fromhex(line.strip()))
    print(sd.as_sddl(domain) + "\t" + sd.as_sddl(), flush=True)
"#;

/// A Python with Samba's bindings, if there is one.
fn samba_python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import samba.dcerpc.security, samba.ndr"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn domain() -> Sid {
    "S-1-5-21-738609754-2819869699-4189121830".parse().expect("valid")
}

fn sid(rng: &mut Rng) -> Sid {
    match rng.below(4) {
        0 => {
            let known = [
                Sid::EVERYONE,
                Sid::BUILTIN_ADMINISTRATORS,
                Sid::LOCAL_SYSTEM,
                Sid::AUTHENTICATED_USERS,
                Sid::ENTERPRISE_DOMAIN_CONTROLLERS,
                Sid::PRINCIPAL_SELF,
                Sid::CREATOR_OWNER,
                Sid::PRE_WINDOWS_2000_COMPATIBLE_ACCESS,
                Sid::THIS_ORGANIZATION,
            ];
            known[rng.below(known.len() as u64) as usize]
        }
        1 => {
            let rids =
                [498, 500, 501, 502, 512, 513, 514, 515, 516, 517, 518, 519, 520, 521, 522, 525, 526, 527, 553, 1121];
            domain().domain_relative(rids[rng.below(rids.len() as u64) as usize]).expect("room")
        }
        2 => Sid::new(1, 5, &[32, 540 + rng.below(45) as u32]).expect("valid"),
        _ => {
            let subs: Vec<u32> = (0..rng.below(16)).map(|_| rng.next() as u32).collect();
            let authority = if rng.chance(70) { rng.below(20) } else { rng.next() >> 16 };
            Sid::new(if rng.chance(90) { 1 } else { rng.below(256) as u8 }, authority, &subs).expect("in range")
        }
    }
}

fn ace(rng: &mut Rng) -> Ace {
    // The types and flag bits Samba 4.17 can render (others crash its encoder).
    let kinds = [
        AceType::AccessAllowed,
        AceType::AccessDenied,
        AceType::SystemAudit,
        AceType::AccessAllowedObject,
        AceType::AccessDeniedObject,
        AceType::SystemAuditObject,
    ];
    let kind = kinds[rng.below(6) as usize];
    let mask = match rng.below(4) {
        0 => 0x100,
        1 => rng.next() as u32 & 0xF00F_01FF,
        2 => 0x000F_01FF,
        _ => rng.next() as u32,
    };
    let guid = |rng: &mut Rng| {
        if rng.chance(50) {
            None
        } else if rng.chance(50) {
            Some(Guid::DS_REPLICATION_GET_CHANGES_ALL)
        } else {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
            bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
            Some(Guid::from_wire_bytes(bytes))
        }
    };
    let (object_type, inherited) = if kind.has_object_layout() { (guid(rng), guid(rng)) } else { (None, None) };
    Ace {
        kind,
        flags: AceFlags(rng.next() as u8 & AceFlags::KNOWN.0),
        mask,
        object_type,
        inherited_object_type: inherited,
        sid: sid(rng),
        raw_body: None,
    }
}

fn descriptor(rng: &mut Rng) -> SecurityDescriptor {
    let acl = |rng: &mut Rng| {
        (!rng.chance(20)).then(|| {
            let aces = (0..rng.below(6)).map(|_| ace(rng)).collect();
            Acl { revision: if rng.chance(50) { 2 } else { 4 }, aces }
        })
    };
    SecurityDescriptor {
        revision: 1,
        control: rng.next() as u16,
        owner: rng.chance(80).then(|| sid(rng)),
        group: rng.chance(80).then(|| sid(rng)),
        sacl: acl(rng),
        dacl: acl(rng),
    }
}

#[test]
fn our_sddl_matches_samba_as_sddl() {
    let Some(python) = samba_python() else {
        // scripts/test.sh installs Samba first, so in CI this must not skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "no Python with Samba's bindings (python3-samba); lab/lab.sh install"
        );
        eprintln!("skipped: no Python with Samba's bindings (Debian package python3-samba)");
        return;
    };
    let mut rng = Rng(0x0005_ECDE_5C0F_F1CE);
    let descriptors: Vec<SecurityDescriptor> = (0..400).map(|_| descriptor(&mut rng)).collect();
    let input: String = descriptors
        .iter()
        .map(|sd| sd.to_bytes().expect("encodes").iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    let mut child = Command::new(python)
        .args(["-c", SCRIPT, &domain().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    // Feed stdin from another thread: Python answers line by line, and with
    // both pipes full a single thread would deadlock.
    let mut stdin = child.stdin.take().expect("piped");
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python finishes");
    feeder.join().expect("feeder thread").expect("python reads its input");
    assert!(output.status.success(), "Samba failed: {:?}", output.status);
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), descriptors.len());
    let d = domain();
    for (sd, line) in descriptors.iter().zip(lines) {
        let (with_domain, without) = line.split_once('\t').expect("two columns");
        assert_eq!(sd.to_sddl(Some(&d)), with_domain, "{sd:?}");
        assert_eq!(sd.to_sddl(None), without, "{sd:?}");
    }
}
