use super::requires;
use super::view::UserView;
use crate::context::{filetime, Context};
use crate::registry::Rule;
use phs_model::user::uac;
use phs_model::{AdUser, Finding, ScopeKind, Status, Timestamp};

pub const RULE: Rule = Rule {
    code: "PHS018",
    name: "user-account-usable",
    scope: ScopeKind::User,
    title: "The user's AD account is enabled, not expired and not locked",
    doc: "\
## What it checks
The user's userAccountControl (disabled, smart card required), the DC's
computed msDS-User-Account-Control-Computed (locked out, password expired),
accountExpires and lockoutTime.

## Why it matters
Many \"my new password does not work\" complaints are not password sync at
all. Each state acts differently, as Microsoft documents it:
- **Disabled**: Entra Connect syncs the disabled state (accountEnabled =
  false), so the cloud sign-in is blocked too: a failure, and the real cause.
- **Expired** (accountExpires in the past): accountExpires is not synced; the
  cloud account stays enabled and a synced password still works there, while
  on-premises sign-ins fail.
- **Locked out**: an on-premises lockout is not synced; cloud sign-in with
  a synced password is not affected (Entra smart lockout is separate).
- **Password expired**: with password hash sync the cloud password does not
  expire by default, so the old password may still work in the cloud.
- **Smart card required**: AD sets a random password, which is what gets
  synced; password sign-in to the cloud cannot work.

## How to fix
Enable, unexpire or unlock the account in AD (the commands are printed), or
explain to the user which sign-ins are affected.

## Evidence
The attributes read and what each says.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-password-hash-synchronization",
        "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties",
    ],
    needs: &[],
    check,
};

/// One state of the account that explains a failed sign-in.
#[derive(Debug, PartialEq)]
pub(crate) enum State {
    Disabled,
    Expired(Option<Timestamp>),
    Locked {
        since: Option<Timestamp>,
        confirmed: bool,
    },
    /// `cloud_policy`: the tenant's cloudPasswordPolicyForPasswordSyncedUsersEnabled.
    PasswordExpired {
        cloud_policy: Option<bool>,
    },
    SmartcardRequired,
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let user = match requires::ad_user(&v) {
        Ok(u) => u,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    let cloud_policy = cx
        .snapshot
        .tenant
        .as_ref()
        .and_then(|t| t.sync.as_ref())
        .and_then(|s| s.cloud_password_policy_for_password_synced_users_enabled);
    if user.user_account_control.is_none() {
        return vec![RULE
            .finding(
                Status::Error,
                v.scope(),
                "userAccountControl was not read for the user: whether the account is enabled cannot be told.",
            )
            .done()];
    }
    let states = decide(user, cx.now, cloud_policy);
    vec![words(&v, user, &states)]
}

pub(crate) fn decide(u: &AdUser, now: Timestamp, cloud_policy: Option<bool>) -> Vec<State> {
    let flags = u.user_account_control.unwrap_or(0);
    let computed = u.user_account_control_computed;
    let mut out = Vec::new();
    if flags & uac::ACCOUNTDISABLE != 0 {
        out.push(State::Disabled);
    }
    if let Some(expires) = u.account_expires.filter(|e| *e != 0 && *e != i64::MAX) {
        match filetime(expires) {
            Some(t) if t <= now => out.push(State::Expired(Some(t))),
            Some(_) => {}
            None => out.push(State::Expired(None)),
        }
    }
    let locked_bit = computed.map(|c| c & uac::LOCKOUT != 0);
    let lockout = u.lockout_time.filter(|t| *t > 0);
    match (locked_bit, lockout) {
        (Some(true), t) => out.push(State::Locked { since: t.and_then(filetime), confirmed: true }),
        // Without the computed bit, lockoutTime alone may outlive an ended lockout.
        (None, Some(t)) => out.push(State::Locked { since: filetime(t), confirmed: false }),
        _ => {}
    }
    // pwdLastSet 0 sets the computed PASSWORD_EXPIRED bit too (Windows and
    // Samba alike): that is "must change at next logon", PHS023's case.
    if computed.is_some_and(|c| c & uac::PASSWORD_EXPIRED != 0) && u.pwd_last_set != Some(0) {
        out.push(State::PasswordExpired { cloud_policy });
    }
    if flags & uac::SMARTCARD_REQUIRED != 0 {
        out.push(State::SmartcardRequired);
    }
    out
}

impl State {
    fn status(&self) -> Status {
        match self {
            State::Disabled | State::SmartcardRequired => Status::Fail,
            _ => Status::Warn,
        }
    }

    fn says(&self) -> String {
        match self {
            State::Disabled => "the account is disabled in AD; Entra Connect syncs that, so the cloud sign-in is \
                                blocked too: this, not password sync, is why sign-in fails"
                .into(),
            State::Expired(t) => format!(
                "the account expired{} (accountExpires); that is not synced, so on-premises sign-ins fail while the \
                 cloud account stays enabled with the synced password",
                t.map_or(String::new(), |t| format!(" at {t}"))
            ),
            State::Locked { since, confirmed } => format!(
                "the account {} locked out on-premises{}; an on-premises lockout is not synced and does not stop a \
                 cloud sign-in with the synced password",
                if *confirmed { "is" } else { "may be (lockoutTime is set; the DC did not say whether it ended)" },
                since.map_or(String::new(), |t| format!(" since {t}"))
            ),
            State::PasswordExpired { cloud_policy: Some(true) } => {
                "the password has expired in AD; the tenant applies \
                its cloud password policy to synced users (cloudPasswordPolicyForPasswordSyncedUsersEnabled), so the \
                cloud password may have expired too"
                    .into()
            }
            State::PasswordExpired { .. } => "the password has expired in AD; with password hash sync the cloud \
                password does not expire by default (unless the tenant applies its cloud password policy to synced \
                users), so the old password may still work in the cloud"
                .into(),
            State::SmartcardRequired => "a smart card is required for interactive logon: AD keeps a random password, \
                                         which is what gets synced, so a password sign-in to the cloud cannot work"
                .into(),
        }
    }
}

fn words(v: &UserView, u: &AdUser, states: &[State]) -> Finding {
    let who = &v.query.text;
    let status = states.iter().map(State::status).max().unwrap_or(Status::Pass);
    let message = if states.is_empty() {
        format!("{who}'s account is enabled, not expired and not locked out.")
    } else {
        let says: Vec<String> = states.iter().map(State::says).collect();
        format!("{who}: {}.", says.join("; "))
    };
    let mut f = RULE.finding(status, v.scope(), message);
    if let Some(flags) = u.user_account_control {
        f = f.evidence("userAccountControl", format!("0x{flags:08X}"));
    }
    if let Some(c) = u.user_account_control_computed {
        f = f.evidence("msDS-User-Account-Control-Computed", format!("0x{c:08X}"));
    }
    for (label, value) in [("accountExpires", u.account_expires), ("lockoutTime", u.lockout_time)] {
        if let Some(ft) = value {
            f = f.evidence(label, filetime(ft).map_or_else(|| format!("{ft} (never)"), |t| t.to_string()));
        }
    }
    let sam = u.sam_account_name.clone().unwrap_or_else(|| u.dn.clone());
    let mut commands: Vec<&str> = Vec::new();
    for s in states {
        commands.push(match s {
            State::Disabled => "Enable-ADAccount -Identity '<account>'",
            State::Expired(_) => "Clear-ADAccountExpiration -Identity '<account>'",
            State::Locked { .. } => "Unlock-ADAccount -Identity '<account>'",
            State::PasswordExpired { .. } => "Set-ADAccountPassword -Identity '<account>' -Reset",
            State::SmartcardRequired => "Get-ADUser '<account>' -Properties SmartcardLogonRequired",
        });
    }
    if commands.is_empty() {
        return f.done();
    }
    let (commands, note) = crate::command::fill_all(&commands, &[("<account>", &sam)]);
    f.fix_commands(
        "Change the account's state in AD if it is wrong (each command acts on one state), or tell the user which \
         sign-ins it affects.",
        (commands, note),
    )
    .done()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn with(change: impl FnOnce(&mut AdUser)) -> Finding {
        let mut u = ann();
        change(&mut u);
        judge(&user_snapshot(Some(found(u)), None), check)
    }

    #[test]
    fn a_usable_account_passes() {
        assert_eq!(with(|_| {}).status, Status::Pass);
    }

    #[test]
    fn disabled_is_the_real_cause_and_fails() {
        let f = with(|u| u.user_account_control = Some(uac::NORMAL_ACCOUNT | uac::ACCOUNTDISABLE));
        assert_eq!(f.status, Status::Fail);
        assert!(f.remediation.unwrap().commands[0].contains("Enable-ADAccount"));
    }

    #[test]
    fn expired_locked_and_password_expired_warn_as_what_they_are() {
        assert_eq!(decide(&AdUser { account_expires: Some(filetime_ago(60)), ..ann() }, now(), None).len(), 1);
        assert!(decide(&AdUser { account_expires: Some(filetime_ago(-60)), ..ann() }, now(), None).is_empty());
        let f = with(|u| u.account_expires = Some(filetime_ago(60 * 24)));
        assert_eq!(f.status, Status::Warn);
        let locked = decide(&AdUser { user_account_control_computed: Some(uac::LOCKOUT), ..ann() }, now(), None);
        assert_eq!(locked, [State::Locked { since: None, confirmed: true }]);
        // lockoutTime without the computed bit: maybe, never a firm "locked".
        let maybe = decide(
            &AdUser { lockout_time: Some(filetime_ago(5)), user_account_control_computed: None, ..ann() },
            now(),
            None,
        );
        assert!(matches!(maybe[..], [State::Locked { confirmed: false, .. }]));
        // The computed bit says the lockout ended: lockoutTime alone is not a lockout.
        assert!(decide(&AdUser { lockout_time: Some(filetime_ago(5)), ..ann() }, now(), None).is_empty());
        let pe = decide(&AdUser { user_account_control_computed: Some(uac::PASSWORD_EXPIRED), ..ann() }, now(), None);
        assert_eq!(pe, [State::PasswordExpired { cloud_policy: None }]);
        // Must change at next logon sets the bit too: PHS023's case, not an expiry.
        let must_change =
            AdUser { user_account_control_computed: Some(uac::PASSWORD_EXPIRED), pwd_last_set: Some(0), ..ann() };
        assert!(decide(&must_change, now(), None).is_empty());
        // With the tenant's cloud policy on, the cloud password may expire too.
        let with_policy =
            decide(&AdUser { user_account_control_computed: Some(uac::PASSWORD_EXPIRED), ..ann() }, now(), Some(true));
        assert!(with_policy[0].says().contains("may have expired too"));
    }

    #[test]
    fn the_account_name_is_quoted_in_the_commands() {
        let f = with(|u| {
            u.user_account_control = Some(uac::ACCOUNTDISABLE);
            u.sam_account_name = Some("o'neil; Remove-Item C:\\".into());
        });
        let cmd = &f.remediation.unwrap().commands[0];
        assert!(cmd.contains("'o''neil; Remove-Item C:\\'"), "{cmd}");
    }

    #[test]
    fn an_unread_user_account_control_is_not_an_enabled_account() {
        assert_eq!(with(|u| u.user_account_control = None).status, Status::Error);
    }

    #[test]
    fn without_the_ad_user_it_does_not_judge() {
        assert_eq!(judge(&user_snapshot(Some(searched_nothing()), None), check).status, Status::Skipped);
    }
}
