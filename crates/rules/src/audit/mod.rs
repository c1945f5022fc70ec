//! The class of each user of an audit (`phs-doctor audit`), from the same
//! decisions the single-user checks make: scope (PHS019), account state
//! (PHS018), temporary password (PHS023), anchor (PHS026) and whether the
//! latest change reached the cloud (PHS027). Pure: one AD user and the
//! cloud user joined to it (or one cloud user alone) in, one row out.

pub mod tenant;

use crate::checks::user::{account_state, anchor, password_arrived, sync_scope, view};
use crate::context::filetime;
use jiff::SignedDuration;
use phs_model::audit::{AuditClass, AuditRow};
use phs_model::{AdUser, CloudUser, ServerConfig, Timestamp};

/// What every row is judged by.
pub struct AuditSettings<'a> {
    pub export: Option<&'a ServerConfig>,
    pub now: Timestamp,
    /// How much of the tenant was read, and when.
    pub tenant: TenantRead,
    /// How long an AD change may wait for the cloud (PHS027's lag).
    pub lag: SignedDuration,
}

/// How much of the tenant's synced users an audit holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRead {
    /// Not configured, or the sign-in failed.
    NotRead,
    /// The paging broke off: a user without a match may be in the pages missing.
    Partial(Timestamp),
    /// Every page, read at this time.
    Whole(Timestamp),
}

/// One AD user, with the cloud user the join found for it (by anchor, or
/// by SID as a fallback: then the anchors may differ).
pub fn classify_ad_user(s: &AuditSettings, ad: &AdUser, cloud: Option<&CloudUser>) -> AuditRow {
    let mut row = AuditRow {
        domain: Some(ad.domain.clone()),
        dn: Some(ad.dn.clone()),
        sam_account_name: ad.sam_account_name.clone(),
        user_principal_name: ad.user_principal_name.clone(),
        anchor: ad.anchor().map(|a| a.to_base64()),
        cloud_id: cloud.map(|c| c.id.clone()),
        ad_password_changed: ad.pwd_last_set.and_then(filetime),
        cloud_password_changed: cloud.and_then(|c| c.last_password_change),
        ..AuditRow::default()
    };
    let (class, reason) = decide(s, ad, cloud, &mut row);
    row.class = Some(class);
    row.reason = reason;
    row
}

fn decide(s: &AuditSettings, ad: &AdUser, cloud: Option<&CloudUser>, row: &mut AuditRow) -> (AuditClass, String) {
    if s.export.is_some() {
        let (connector, partition) = view::home(s.export, ad);
        if let Some(why) = sync_scope::decide(s.export, connector, partition, ad).dropped_by() {
            return (AuditClass::OutOfScope, why);
        }
    }
    for state in account_state::decide(ad, s.now, None) {
        match state {
            account_state::State::Disabled => return (AuditClass::Disabled, "disabled in AD".into()),
            account_state::State::Expired(t) => {
                return (AuditClass::Expired, t.map_or("account expired".into(), |t| format!("account expired at {t}")))
            }
            _ => {}
        }
    }
    if ad.pwd_last_set == Some(0) {
        return (AuditClass::MustChange, "must change password at next logon (pwdLastSet 0)".into());
    }
    let (cloud, read_at) = match (cloud, s.tenant) {
        (_, TenantRead::NotRead) => return (AuditClass::Unjudged, "the tenant was not read".into()),
        (Some(cloud), TenantRead::Partial(t) | TenantRead::Whole(t)) => (cloud, t),
        (None, TenantRead::Whole(_)) => return (AuditClass::NotInTenant, "no cloud user has the user's anchor".into()),
        (None, TenantRead::Partial(_)) => {
            let why = "no cloud user with its anchor in the part of the tenant read (the paging broke off)";
            return (AuditClass::Unjudged, why.into());
        }
    };
    if let anchor::Outcome::Differs { .. } | anchor::Outcome::NotAnchored = anchor::decide(ad, cloud) {
        // Both anchors, so the row alone says which object the cloud user is joined to.
        let theirs = cloud.on_premises_immutable_id.as_deref().unwrap_or("none");
        let ours = row.anchor.as_deref().unwrap_or("none");
        let why = format!("the cloud user with this user's SID carries immutableId {theirs}; AD's anchor is {ours}");
        return (AuditClass::AnchorMismatch, why);
    }
    let Some(changed) = row.ad_password_changed else {
        return (AuditClass::Unjudged, "pwdLastSet was not read".into());
    };
    match password_arrived::decide(changed, cloud.last_password_change, cloud.on_premises_last_sync, read_at, s.lag) {
        password_arrived::Outcome::Arrived { .. } => (AuditClass::InSync, String::new()),
        password_arrived::Outcome::OnItsWay { .. } => {
            row.lag_seconds = Some(read_at.duration_since(changed).as_secs());
            (AuditClass::OnItsWay, "changed within the lag allowed".into())
        }
        password_arrived::Outcome::NeverArrived { object_synced_after, .. } => {
            let lag = read_at.duration_since(changed);
            row.lag_seconds = Some(lag.as_secs());
            let why = match object_synced_after {
                Some(_) => "the object synced after the change, its password did not",
                None => "neither the object nor its password synced since the change",
            };
            (AuditClass::PasswordNotArrived, format!("{} waiting: {why}", crate::context::human_duration(lag)))
        }
        password_arrived::Outcome::Temporary | password_arrived::Outcome::Unknown(_) => {
            (AuditClass::Unjudged, "the password times cannot be compared".into())
        }
    }
}

/// What a class means for the administrator and what to do about it: the
/// one home of this wording, shown beside the counts in every summary.
pub fn what_to_do(class: AuditClass) -> &'static str {
    match class {
        AuditClass::PasswordNotArrived => {
            "The password changed in AD and the cloud still has an older one. Many users in one domain point \
             at that domain's connector: run `phs-doctor diagnose` (heartbeats, the connector account's \
             replication rights). A few users among many in sync point at those users: `phs-doctor user NAME` \
             shows whether their object synced and what the server logged."
        }
        AuditClass::AnchorMismatch => {
            "The cloud user with this AD user's SID carries another immutableId, so it is joined to another AD \
             object (a deleted and recreated account, a restore, a soft or hard match) and takes its password \
             from that one. Compare the row's anchor with the cloud user's onPremisesImmutableId, then fix the \
             join in Entra Connect."
        }
        AuditClass::NotInTenant => {
            "In scope, and no cloud user has its anchor: either not provisioned yet (created since the last \
             cycle) or its export fails (a duplicate userPrincipalName or proxy address). The cloud's \
             provisioning errors and the server's export errors tell them apart; `phs-doctor user NAME` reads both."
        }
        AuditClass::GoneFromAd => {
            "Synced from AD, and no AD user in scope carries its anchor: deleted or moved out of scope in AD and \
             not yet deleted in the cloud, or AD was read with a narrower scope than the server's. Its password \
             no longer syncs."
        }
        AuditClass::MustChange => {
            "\"Must change password at next logon\" is set (pwdLastSet 0): password hash sync skips a temporary \
             password unless the ForcePasswordChangeOnLogOn feature is on (Set-ADSyncAADCompanyFeature \
             -ForcePasswordChangeOnLogOn $true). Until the user changes it, the cloud keeps the previous password."
        }
        AuditClass::Disabled => {
            "Disabled in AD; the cloud account is blocked by the sync. Nothing to fix unless it should sign in."
        }
        AuditClass::Expired => {
            "accountExpires is past: AD refuses the account, but the expiry does not sync, so the cloud account \
             still accepts its last synced password. Disable it in AD if it must not sign in."
        }
        AuditClass::OutOfScope => {
            "No connector's domain, OU or filter takes this user, so nothing about it syncs; the row's reason \
             names what drops it. Change the scope only if the user should sync."
        }
        AuditClass::OnItsWay => {
            "Changed in AD within the lag allowed (--lag): passwords sync every few minutes, so audit again later."
        }
        AuditClass::InSync => "The cloud's last password change is at or after AD's.",
        AuditClass::Unjudged => {
            "A source this user needs was not read whole (see what is incomplete): audit again once it is readable."
        }
    }
}

/// A cloud user no AD user in scope joined: gone from AD when it is synced
/// and AD was read whole, unjudged when AD was not; None for a cloud-only
/// user (not the audit's business).
pub fn classify_cloud_only(cloud: &CloudUser, ad_read_whole: bool) -> Option<AuditRow> {
    let (class, reason) = if ad_read_whole {
        (AuditClass::GoneFromAd, "synced from AD, and no AD user in scope has its anchor")
    } else {
        (AuditClass::Unjudged, "synced from AD; AD was not read whole, so whether it is still there is unknown")
    };
    (cloud.on_premises_sync_enabled == Some(true)).then(|| AuditRow {
        class: Some(class),
        reason: reason.into(),
        domain: cloud.on_premises_domain_name.clone(),
        dn: cloud.on_premises_distinguished_name.clone(),
        sam_account_name: cloud.on_premises_sam_account_name.clone(),
        user_principal_name: cloud.user_principal_name.clone(),
        anchor: cloud.on_premises_immutable_id.clone(),
        cloud_id: Some(cloud.id.clone()),
        cloud_password_changed: cloud.last_password_change,
        ..AuditRow::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::export;
    use crate::checks::user::fixtures::*;
    use phs_model::user::uac;

    fn settings(cfg: &ServerConfig) -> AuditSettings<'_> {
        AuditSettings {
            export: Some(cfg),
            now: now(),
            tenant: TenantRead::Whole(now()),
            lag: SignedDuration::from_hours(2),
        }
    }

    fn class(ad: AdUser, cloud: Option<CloudUser>) -> AuditClass {
        let cfg = export();
        classify_ad_user(&settings(&cfg), &ad, cloud.as_ref()).class.unwrap()
    }

    #[test]
    fn every_class_of_an_ad_user() {
        assert_eq!(class(ann(), Some(cloud_ann())), AuditClass::InSync);
        let old = CloudUser { last_password_change: Some(ago(60 * 24)), ..cloud_ann() };
        assert_eq!(class(ann(), Some(old.clone())), AuditClass::PasswordNotArrived);
        let recent = AdUser { pwd_last_set: Some(filetime_ago(30)), ..ann() };
        assert_eq!(class(recent, Some(old)), AuditClass::OnItsWay);
        assert_eq!(class(AdUser { pwd_last_set: Some(0), ..ann() }, Some(cloud_ann())), AuditClass::MustChange);
        let disabled = AdUser { user_account_control: Some(uac::NORMAL_ACCOUNT | uac::ACCOUNTDISABLE), ..ann() };
        assert_eq!(class(disabled, Some(cloud_ann())), AuditClass::Disabled);
        assert_eq!(class(AdUser { account_expires: Some(filetime_ago(60)), ..ann() }, None), AuditClass::Expired);
        assert_eq!(class(ann(), None), AuditClass::NotInTenant);
        let other = CloudUser { on_premises_immutable_id: Some("BwcHBwcHBwcHBwcHBwcHBw==".into()), ..cloud_ann() };
        assert_eq!(class(ann(), Some(other.clone())), AuditClass::AnchorMismatch);
        let cfg = export();
        let why = classify_ad_user(&settings(&cfg), &ann(), Some(&other)).reason;
        assert!(why.contains("BwcHBwcHBwcHBwcHBwcHBw==") && why.contains("AD's anchor is "), "{why}");
        let elsewhere = AdUser { dn: "CN=Ann,OU=Staff,DC=contoso,DC=com".into(), ..ann() };
        assert_eq!(class(elsewhere, Some(cloud_ann())), AuditClass::OutOfScope);
    }

    #[test]
    fn without_the_tenant_an_audit_still_says_what_ad_tells() {
        let cfg = export();
        let s = AuditSettings { tenant: TenantRead::NotRead, ..settings(&cfg) };
        let row = classify_ad_user(&s, &AdUser { pwd_last_set: Some(0), ..ann() }, None);
        assert_eq!(row.class, Some(AuditClass::MustChange));
        assert_eq!(classify_ad_user(&s, &ann(), None).class, Some(AuditClass::Unjudged));
    }

    #[test]
    fn a_tenant_read_in_part_judges_the_users_it_has_and_not_the_absent() {
        let cfg = export();
        let s = AuditSettings { tenant: TenantRead::Partial(now()), ..settings(&cfg) };
        assert_eq!(classify_ad_user(&s, &ann(), Some(&cloud_ann())).class, Some(AuditClass::InSync));
        let absent = classify_ad_user(&s, &ann(), None);
        assert_eq!(absent.class, Some(AuditClass::Unjudged), "not NotInTenant: {}", absent.reason);
    }

    #[test]
    fn a_synced_cloud_user_without_an_ad_user_is_gone_and_a_cloud_only_one_is_not_counted() {
        assert_eq!(classify_cloud_only(&cloud_ann(), true).and_then(|r| r.class), Some(AuditClass::GoneFromAd));
        assert_eq!(classify_cloud_only(&cloud_ann(), false).and_then(|r| r.class), Some(AuditClass::Unjudged));
        assert!(classify_cloud_only(&CloudUser { on_premises_sync_enabled: None, ..cloud_ann() }, true).is_none());
    }
}
