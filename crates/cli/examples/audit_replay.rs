//! `audit_replay N`: the audit's in-memory work for N synthetic synced
//! cloud users and N synthetic AD users, with no network: the tenant index
//! the audit builds, the join, the classification and the CSV writer (to
//! nowhere), in the order `phs-doctor audit` calls them. benches/audit.sh
//! runs it at 1 000 000 users for the memory figure a lab DC cannot reach.
//! Every tenth AD user has no cloud user and every tenth cloud user no AD
//! user, so both "not in tenant" and "gone from AD" rows are written.
//! Prints the counts, the time taken and this process's peak RSS.

use phs_model::audit::AuditSummary;
use phs_model::{AdUser, CloudUser, SourceAnchor, Timestamp};
use phs_report::audit::RowWriter;
use phs_rules::audit::tenant::TenantIndex;
use phs_rules::audit::{classify_ad_user, classify_cloud_only, AuditSettings, TenantRead};
use std::time::Instant;

/// The anchor of user `i`: 16 bytes from its index, as the bench DC's.
fn anchor(i: u64) -> SourceAnchor {
    let mut bytes = [0x5au8; 16];
    bytes[8..].copy_from_slice(&i.to_be_bytes());
    SourceAnchor::from_bytes(bytes.to_vec())
}

fn sid(i: u64) -> String {
    format!("S-1-5-21-1004336348-1177238915-682003330-{}", 10_000 + i)
}

fn cloud_user(i: u64, changed: Timestamp) -> CloudUser {
    CloudUser {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        user_principal_name: Some(format!("bench{i:07}@bench.example.test")),
        account_enabled: Some(true),
        on_premises_sync_enabled: Some(true),
        on_premises_immutable_id: Some(anchor(i).to_base64()),
        on_premises_last_sync: Some(changed),
        last_password_change: Some(changed),
        on_premises_sam_account_name: Some(format!("bench{i:07}")),
        on_premises_distinguished_name: Some(format!("CN=bench{i:07},OU=Bench,DC=bench,DC=example,DC=test")),
        on_premises_domain_name: Some("bench.example.test".into()),
        on_premises_security_identifier: Some(sid(i)),
        on_premises_user_principal_name: Some(format!("bench{i:07}@bench.example.test")),
        ..CloudUser::default()
    }
}

fn ad_user(i: u64, pwd_last_set: i64) -> AdUser {
    AdUser {
        connector: "bench.example.test".into(),
        domain: "bench.example.test".into(),
        dn: format!("CN=bench{i:07},OU=Bench,DC=bench,DC=example,DC=test"),
        consistency_guid: Some(anchor(i)),
        object_sid: Some(sid(i)),
        sam_account_name: Some(format!("bench{i:07}")),
        user_principal_name: Some(format!("bench{i:07}@bench.example.test")),
        object_classes: vec!["top".into(), "person".into(), "organizationalPerson".into(), "user".into()],
        user_account_control: Some(phs_model::user::uac::NORMAL_ACCOUNT),
        pwd_last_set: Some(pwd_last_set),
        account_expires: Some(i64::MAX),
        ..AdUser::default()
    }
}

/// Peak resident set size in kB (VmHWM), Linux only.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let n: u64 = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("usage: audit_replay N");
            std::process::exit(2);
        }
    };
    let now = Timestamp::now();
    // AD's change a day ago, the cloud's an hour ago: in sync.
    let cloud_changed = now - jiff::SignedDuration::from_hours(1);
    let day_ago = now - jiff::SignedDuration::from_hours(24);
    let filetime = (day_ago.as_second() + 11_644_473_600) * 10_000_000;
    let started = Instant::now();
    let mut tenant = TenantIndex::new();
    for i in (0..n).filter(|i| i % 10 != 9) {
        tenant.add(&cloud_user(i, cloud_changed));
    }
    // AD skips users ending in 4, the tenant those ending in 9: each side
    // has a tenth the other lacks.
    let settings =
        AuditSettings { export: None, now, tenant: TenantRead::Whole(now), lag: jiff::SignedDuration::from_hours(2) };
    let mut out = RowWriter::csv(std::io::BufWriter::new(std::io::sink())).expect("the header");
    let mut summary = AuditSummary::default();
    let mut emit = |row: phs_model::audit::AuditRow, summary: &mut AuditSummary| {
        summary.add(&row);
        out.write(&row).expect("writing to nowhere");
    };
    for i in (0..n).filter(|i| i % 10 != 4) {
        let ad = ad_user(i, filetime);
        let joined = tenant.join(&ad);
        emit(classify_ad_user(&settings, &ad, joined.as_ref().map(|(c, _)| c)), &mut summary);
    }
    for c in tenant.unjoined() {
        if let Some(row) = classify_cloud_only(&c, true) {
            emit(row, &mut summary);
        }
    }
    let took = started.elapsed();
    println!("users: {n} synthetic tenant and AD users (a tenth of each unmatched)");
    for (class, count) in &summary.per_class {
        println!("  {:<22} {count}", class.as_str());
    }
    println!("time: {:.2} s", took.as_secs_f64());
    match peak_rss_kb() {
        Some(kb) => println!("peak RSS: {kb} kB"),
        None => println!("peak RSS: unknown (no /proc/self/status)"),
    }
}
