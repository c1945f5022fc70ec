use super::requires;
use super::view::UserView;
use crate::context::{filetime, human_duration, Context};
use crate::registry::Rule;
use crate::tenant_view::CLOCK_SKEW_TOLERANCE;
use phs_model::{Finding, ScopeKind, Status, Timestamp};

pub const RULE: Rule = Rule {
    code: "PHS027",
    name: "user-password-reached-cloud",
    scope: ScopeKind::User,
    title: "The user's latest AD password change has reached the cloud",
    doc: "\
## What it checks
The AD password change time (pwdLastSet) against the cloud user's
lastPasswordChangeDateTime, and the cloud user's last directory sync
(onPremisesLastSyncDateTime), judged when the tenant was read:
- the cloud's change is at or after AD's (within 5 minutes of clock skew):
  the password arrived, with the lag;
- it is older, and AD's change is older than the lag allowed
  (`[evaluation] user_password_lag`, default 2 h): the password never
  arrived. When the user's directory sync is newer than the change, the
  object syncs but its password does not: a password hash sync problem, not
  an object sync one;
- it is older, within the lag: still on its way (password hash sync
  normally delivers within minutes).

## Why it matters
It is the question the user asks: \"I changed my password at 9:00 and the
new one does not work in the cloud\". The answer is a time and a lag.

## How to fix
The other user checks name the break (PHS020 to PHS024); the server-wide
checklist (`phs-doctor diagnose`) finds agent and permission problems.

## Evidence
Both times, the lag, and the last directory sync.",
    references: &[
        "https://learn.microsoft.com/graph/api/resources/user",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
    ],
    needs: &[],
    check,
};

#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Temporary,
    Arrived { ad: Timestamp, cloud: Timestamp },
    OnItsWay { ad: Timestamp, cloud: Option<Timestamp> },
    NeverArrived { ad: Timestamp, cloud: Option<Timestamp>, object_synced_after: Option<Timestamp> },
    Unknown(&'static str),
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let (ad, cloud) = match requires::ad_and_cloud(&v) {
        Ok(pair) => pair,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    let read_at = cx.snapshot.user.as_ref().and_then(|u| u.cloud.as_ref()).and_then(|c| c.read_at).unwrap_or(cx.now);
    let outcome = match ad.pwd_last_set {
        None => Outcome::Unknown("pwdLastSet was not read"),
        Some(0) => Outcome::Temporary,
        Some(ft) => match filetime(ft) {
            None => Outcome::Unknown("pwdLastSet is not a time"),
            Some(t) => decide(
                t,
                cloud.last_password_change,
                cloud.on_premises_last_sync,
                read_at,
                cx.settings.user_password_lag,
            ),
        },
    };
    vec![words(&v, &outcome, read_at)]
}

pub(crate) fn decide(
    ad: Timestamp,
    cloud: Option<Timestamp>,
    last_sync: Option<Timestamp>,
    read_at: Timestamp,
    lag: jiff::SignedDuration,
) -> Outcome {
    if let Some(c) = cloud {
        if c >= ad - CLOCK_SKEW_TOLERANCE {
            return Outcome::Arrived { ad, cloud: c };
        }
    }
    if read_at.duration_since(ad) <= lag {
        return Outcome::OnItsWay { ad, cloud };
    }
    Outcome::NeverArrived { ad, cloud, object_synced_after: last_sync.filter(|s| *s > ad) }
}

fn words(v: &UserView, o: &Outcome, read_at: Timestamp) -> Finding {
    let who = &v.query.text;
    let since = |t: Timestamp| human_duration(read_at.duration_since(t));
    let (status, message) = match o {
        Outcome::Temporary => {
            (Status::Skipped, format!("{who} has a temporary password (must change at next logon): see PHS023."))
        }
        Outcome::Unknown(why) => (Status::Error, format!("Cannot compare {who}'s password times: {why}.")),
        Outcome::Arrived { ad, cloud } => (
            Status::Pass,
            format!(
                "{who}'s password changed in AD at {ad} and in the cloud at {cloud} ({}).",
                if cloud >= ad {
                    format!("{} later", human_duration(cloud.duration_since(*ad)))
                } else {
                    "within clock skew".to_owned()
                }
            ),
        ),
        Outcome::OnItsWay { ad, .. } => (
            Status::Warn,
            format!(
                "{who}'s password changed in AD at {ad}, {} before the tenant was read, and has not reached the cloud \
                 yet: password hash sync normally delivers within minutes; check again shortly.",
                since(*ad)
            ),
        ),
        Outcome::NeverArrived { ad, object_synced_after, .. } => (
            Status::Fail,
            format!(
                "{who}'s password changed in AD at {ad} and has not reached the cloud in the {} since.{}",
                since(*ad),
                match object_synced_after {
                    Some(s) => format!(
                        " The user's object synced at {s}, after the change: the object syncs but its password does \
                         not, a password hash sync problem (PHS020 to PHS024, and `phs-doctor diagnose`)."
                    ),
                    None => " Neither has the user's object synced since: see PHS020 to PHS022 for the object, and \
                             `phs-doctor diagnose` for the server."
                        .to_owned(),
                }
            ),
        ),
    };
    let mut f = RULE.finding(status, v.scope(), message);
    match o {
        Outcome::Arrived { ad, cloud } => {
            f = f
                .evidence("AD pwdLastSet", ad.to_string())
                .evidence("Cloud lastPasswordChangeDateTime", cloud.to_string());
        }
        Outcome::OnItsWay { ad, cloud } | Outcome::NeverArrived { ad, cloud, .. } => {
            f = f.evidence("AD pwdLastSet", ad.to_string()).evidence(
                "Cloud lastPasswordChangeDateTime",
                cloud.map_or_else(|| "none".to_owned(), |c| c.to_string()),
            );
            f = f.evidence("Tenant read at", read_at.to_string());
        }
        _ => {}
    }
    if let Some(s) = v.cloud_user().and_then(|u| u.on_premises_last_sync) {
        f = f.evidence("Cloud onPremisesLastSyncDateTime", s.to_string());
    }
    if matches!(o, Outcome::NeverArrived { .. }) {
        f = f.fix(
            "Follow the other user checks to the break; `phs-doctor diagnose` checks the server, its agent and its permissions. Once fixed, the next cycle (every 2 minutes) sends the hash, or a full password sync resends all.",
            &[],
        );
    }
    f.done()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use jiff::SignedDuration;

    const LAG: SignedDuration = SignedDuration::from_hours(2);

    #[test]
    fn arrived_on_its_way_and_never() {
        let n = now();
        assert!(matches!(decide(ago(180), Some(ago(178)), None, n, LAG), Outcome::Arrived { .. }));
        // A cloud time a little before AD's is clock skew, not a missing password.
        assert!(matches!(decide(ago(180), Some(ago(183)), None, n, LAG), Outcome::Arrived { .. }));
        assert!(matches!(decide(ago(30), Some(ago(600)), None, n, LAG), Outcome::OnItsWay { .. }));
        assert_eq!(
            decide(ago(180), Some(ago(600)), Some(ago(10)), n, LAG),
            Outcome::NeverArrived { ad: ago(180), cloud: Some(ago(600)), object_synced_after: Some(ago(10)) }
        );
        assert!(matches!(
            decide(ago(180), None, Some(ago(200)), n, LAG),
            Outcome::NeverArrived { object_synced_after: None, .. }
        ));
    }

    #[test]
    fn the_finding_tells_object_sync_from_password_sync() {
        let cloud = phs_model::CloudUser { last_password_change: Some(ago(60 * 24)), ..cloud_ann() };
        let f = judge(&user_snapshot(Some(found(ann())), Some(cloud_found(cloud))), check);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("the object syncs but its password does not"), "{}", f.message);
        assert_eq!(judge(&healthy(), check).status, Status::Pass);
        let temp = phs_model::AdUser { pwd_last_set: Some(0), ..ann() };
        assert_eq!(
            judge(&user_snapshot(Some(found(temp)), Some(cloud_found(cloud_ann()))), check).status,
            Status::Skipped
        );
    }
}
