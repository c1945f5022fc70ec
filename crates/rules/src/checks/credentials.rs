use crate::context::{filetime, human_duration, Context};
use crate::knowledge::bind_codes;
use crate::registry::{Need, Rule};
use jiff::SignedDuration;
use phs_model::{AccountFacts, AccountName, DomainFacts, Finding, NetFailure, Scope, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS006",
    name: "connector-account-credentials",
    scope: ScopeKind::Domain,
    title: "The AD DS connector account's user name and password work",
    doc: "\
## What it checks
For every reachable domain, a bind as the AD DS connector account
(`forest-login-domain\\forest-login-user` from the export, or a UPN) over LDAPS
or StartTLS, with the password from the configured source (a hidden prompt, an
environment variable or an owner-only file; never the command line). A refused
bind is explained from Active Directory's sub-code: 52e wrong password, 525 no
such user, 530/531 logon hours or workstation restriction, 532 password
expired, 533 disabled, 701 account expired, 773 must change password, 775
locked out; TLS failures and strong-authentication or channel-binding refusals
are named as such. When the bind works, the account itself is read and what
will break synchronisation later is a warning: a password expiring within 14
days, an account expiring within 30 days, failed logons piling up.

## Which DC, which transport
The bind goes to the DC chosen as PHS005 describes: the first DC, in the
locator's order, that answered the LDAP ping (an anonymous rootDSE read); a
DC that accepts TCP but stays silent, or stops answering during TLS or the
bind, is passed over for the next one within the domain's deadline, and the
evidence names the DC used. A DC that answers with a refusal is not passed
over: its answer is the verdict.

Transport: LDAPS on 636, else StartTLS on 389, the DC's certificate checked
against its name (with `tls_ca_file` set, only that file's CAs are trusted).
Plain LDAP on 389 happens only when it is chosen (`allow_plain_ldap`), never
as a fallback after a refused StartTLS. A bind over plain LDAP, or over TLS
without certificate verification (`tls_verify = false`), is a warning with
the transport as evidence: the password crossed the network unprotected, or
to a DC that did not prove who it is.

A DC that refuses a simple bind for lack of signing or TLS (result 8,
strongerAuthRequired) says nothing about the password: that is an `error`
(could not test the credentials this way). After a bind refused with result
49 in one domain, the same credential is not tried in the connector's other
domains in the same run (each further try is one more bad password towards a
lockout); those domains are `skipped` and name the domain that refused it.

## Why it matters
The sync server stores this password; when someone resets it, disables the
account or lets it expire, every domain of the forest stops synchronising
passwords (event 611 with \"The user name or password is incorrect\").

## How to fix
Update the password in Synchronization Service Manager (Connectors > the AD
connector > Properties > Connect to Active Directory Forest) or through the
Entra Connect wizard; enable, unlock or un-expire the account as the sub-code
says.

## Evidence
The transport and the DC used (and any DC passed over, with why), the
identity used, the LDAP result code and the server's message with its
sub-code; the account's state after a good bind; the domain that refused the
credential when the bind was not tried.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/ldap-errors-and-meanings",
    ],
    needs: &[Need::LiveAd],
    check,
};

/// Warn when the password expires within this.
const PASSWORD_EXPIRY_WARNING: SignedDuration = SignedDuration::from_hours(14 * 24);
/// Warn when the account expires within this.
const ACCOUNT_EXPIRY_WARNING: SignedDuration = SignedDuration::from_hours(30 * 24);

fn check(cx: &Context) -> Vec<Finding> {
    cx.per_ad_domain(&RULE, |d| judge(cx, d))
}

fn judge(cx: &Context, d: &DomainFacts) -> Finding {
    let scope = Scope::domain(&d.connector, &d.domain);
    let Some(ldap) = &d.ldap else {
        let why = if d.ldap_skipped.is_empty() {
            format!("{} is unreachable (see PHS005), so the bind was not tried.", d.domain)
        } else {
            format!("No DC of {} answered LDAP (see PHS005), so the bind was not tried.", d.domain)
        };
        let mut f = RULE.finding(Status::Skipped, scope, why);
        for skip in &d.ldap_skipped {
            f = f.evidence("DC passed over", format!("{}: {}", skip.dc, skip.reason));
        }
        return f.done();
    };
    let b = &ldap.bind;
    if let Some(refused_in) = &b.refused_in {
        return RULE
            .finding(
                Status::Skipped,
                scope,
                format!(
                    "The bind as {} was not tried in {}: the same credential was refused (LDAP result 49) in {refused_in} \
                     earlier in this run, and another try would only count one more bad password. See PHS006 for \
                     that domain; this says nothing of its own about {}.",
                    b.identity, d.domain, d.domain
                ),
            )
            .evidence("Identity", b.identity.clone())
            .evidence("Refused in", refused_in.clone())
            .done();
    }
    let weak = weak_transport(b);
    let account = ldap.account.as_ref();
    let outcome = if !b.ok {
        match &b.error {
            Some(err) => {
                // Told by the failure's kind, not its words: "starttls" in a
                // refused TCP connect's text is no TLS failure.
                Bind::NotTried { error: err.clone(), tls: b.failure == Some(NetFailure::Tls) }
            }
            None => match b.sub_code.as_deref().and_then(bind_codes::lookup) {
                Some(code) => Bind::Refused(code),
                None if b.result_code == Some(8) => Bind::StrongerAuthRequired,
                None if b.server_message.as_deref().is_some_and(|m| m.contains("80090346")) => Bind::ChannelBinding,
                None => Bind::RefusedWithoutCause,
            },
        }
    } else {
        match account {
            None => Bind::AccountUnread { why: ldap.account_error.clone().unwrap_or_else(|| "not found".into()) },
            Some(a) => {
                let warnings = upcoming_trouble(cx, a);
                match weak {
                    Some(weak) => Bind::Weak { weak, warnings },
                    None if warnings.is_empty() => Bind::Bound,
                    None => Bind::Trouble { warnings },
                }
            }
        }
    };

    let (status, message) = outcome.words(d, ldap);
    let mut f = RULE.finding(status, scope, message).evidence("Identity", b.identity.clone()).evidence(
        "Transport",
        format!("{} to {}{}", b.transport, ldap.dc, weak.map_or(String::new(), |w| format!(" ({w})"))),
    );
    for skip in &d.ldap_skipped {
        f = f.evidence("DC passed over", format!("{}: {}", skip.dc, skip.reason));
    }
    if let Some(rc) = b.result_code {
        f = f.evidence(
            "LDAP result",
            format!("{rc}{}", b.sub_code.as_ref().map_or(String::new(), |s| format!(", sub-code {s}"))),
        );
    }
    if let Some(m) = &b.server_message {
        f = f.evidence("Server message", m.clone());
    }
    if let (true, Some(a)) = (b.ok, account) {
        f = f.evidence("Account", a.dn.clone());
    }
    if let Bind::Weak { warnings, .. } | Bind::Trouble { warnings } = &outcome {
        for w in warnings {
            f = f.evidence("Attention", w.clone());
        }
    }
    // `DOMAIN\user` loses its domain; a UPN stays whole (cmdlets take it as is).
    let account_name = match AccountName::parse(&d.account) {
        AccountName::DownLevel { user, .. } => user.to_owned(),
        _ => d.account.clone(),
    };
    match outcome.fix(&account_name) {
        Some((summary, commands)) => f.fix_owned(summary, commands).done(),
        None => f.done(),
    }
}

const TROUBLE_FIX: &str = "Act before synchronisation breaks: give the connector account a password that does not expire (or a managed rotation that also updates Entra Connect), remove its expiry, and find what is failing logons with it.";
pub(crate) const TROUBLE_COMMANDS: &[&str] =
    &["Get-ADUser '<account>' -Properties PasswordLastSet,PasswordNeverExpires,AccountExpirationDate,badPwdCount,LockedOut"];

/// What PHS006 decides from a bind that was tried, before
/// [`Bind::words`] and [`Bind::fix`] put it in words.
enum Bind {
    /// The connection failed before the DC judged the credential.
    NotTried { error: String, tls: bool },
    /// Refused with a sub-code AD documents.
    Refused(&'static bind_codes::BindCode),
    /// LDAP result 8: the DC wants signing or TLS before it looks at the password.
    StrongerAuthRequired,
    /// Refused because of channel binding (80090346).
    ChannelBinding,
    /// Refused, and the DC said nothing that names the cause.
    RefusedWithoutCause,
    /// Bound, but the account's object could not be read.
    AccountUnread { why: String },
    /// Bound over a transport that exposes the password or the DC's identity.
    Weak { weak: &'static str, warnings: Vec<String> },
    /// Bound, and nothing threatens it.
    Bound,
    /// Bound, but something will stop sync soon.
    Trouble { warnings: Vec<String> },
}

impl Bind {
    fn words(&self, d: &DomainFacts, ldap: &phs_model::LdapFacts) -> (Status, String) {
        let b = &ldap.bind;
        let (who, dc, domain) = (&b.identity, &ldap.dc, &d.domain);
        match self {
            Bind::NotTried { error, tls: true } => {
                (Status::Error, format!("Could not test the credentials: the TLS connection to {dc} failed: {error}"))
            }
            Bind::NotTried { error, tls: false } => {
                (Status::Error, format!("Could not test the credentials on {dc}: {error}"))
            }
            Bind::Refused(code) => (
                Status::Fail,
                format!(
                    "The connector account {who} cannot bind to {domain}: {} (AD sub-code {}).",
                    code.cause, code.code
                ),
            ),
            Bind::StrongerAuthRequired => (
                Status::Error,
                format!(
                    "Could not test the credentials this way: {dc} refused a {} simple bind because it requires \
                     stronger authentication (signing or TLS), before looking at the password.",
                    if b.transport == "ldap" { "plain LDAP" } else { "TLS" }
                ),
            ),
            Bind::ChannelBinding => {
                (Status::Fail, format!("{dc} refused the bind because of channel binding (80090346)."))
            }
            Bind::RefusedWithoutCause => (
                Status::Fail,
                format!(
                    "The connector account {who} cannot bind to {domain} (LDAP result {}).",
                    b.result_code.map_or("unknown".to_owned(), |c| c.to_string())
                ),
            ),
            Bind::AccountUnread { why } => {
                (Status::Warn, format!("The connector account {who} binds, but its object could not be read: {why}."))
            }
            Bind::Weak { weak, warnings } => {
                let later =
                    if warnings.is_empty() { String::new() } else { format!(" Also: {}.", warnings.join("; ")) };
                (Status::Warn, format!("The connector account {who} binds to {domain}, but over {weak}.{later}"))
            }
            Bind::Bound => (Status::Pass, format!("The connector account {who} binds to {domain}.")),
            Bind::Trouble { warnings } => {
                (Status::Warn, format!("The connector account {who} binds to {domain}, but {}.", warnings.join("; ")))
            }
        }
    }

    /// The fix's summary and commands; values are filled in quoted.
    fn fix(&self, account_name: &str) -> Option<(String, Vec<String>)> {
        let plain = |summary: &str| Some((summary.to_owned(), Vec::new()));
        match self {
            Bind::NotTried { .. } => plain("Trust the DCs' certificate authority (tls_ca_file in the [ad] section) or check the LDAPS/StartTLS path to the DC."),
            Bind::Refused(code) => {
                let (commands, note) = crate::command::fill_all(code.commands, &[("<account>", account_name)]);
                Some((format!("{}{}", code.fix, note.unwrap_or_default()), commands))
            }
            Bind::StrongerAuthRequired => plain(
                "Bind over LDAPS or StartTLS (the default: leave allow_plain_ldap off); the DC requires LDAP \
                 signing, which a simple bind can only meet inside TLS.",
            ),
            Bind::ChannelBinding => plain("The DC enforces LDAP channel binding; bind over TLS with a certificate whose signature algorithm supports channel binding tokens."),
            Bind::RefusedWithoutCause => plain("Check the connector account's user name and password in Synchronization Service Manager."),
            Bind::AccountUnread { .. } | Bind::Bound => None,
            Bind::Weak { .. } => plain(
                "Bind over verified TLS: trust the DCs' CA with tls_ca_file in the [ad] section, keep tls_verify on and \
                 allow_plain_ldap off.",
            ),
            Bind::Trouble { .. } => {
                // The name comes from the export: quoted like every value.
                let (commands, note) = crate::command::fill_all(TROUBLE_COMMANDS, &[("<account>", account_name)]);
                Some((format!("{TROUBLE_FIX}{}", note.unwrap_or_default()), commands))
            }
        }
    }
}

/// Why the transport of a working bind deserves a warning, if it does.
fn weak_transport(b: &phs_model::BindFacts) -> Option<&'static str> {
    if b.transport == "ldap" {
        Some("plain LDAP: the password crossed the network without TLS (allow_plain_ldap)")
    } else if !b.tls_verified && b.ok {
        Some("TLS without certificate verification (tls_verify = false): the DC did not prove who it is")
    } else {
        None
    }
}

/// Account states that do not stop the bind today but will stop sync.
fn upcoming_trouble(cx: &Context, a: &AccountFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = a.password_expiry.and_then(filetime) {
        if t <= cx.now + PASSWORD_EXPIRY_WARNING {
            out.push(format!("its password expires at {t} (in {})", human_duration(t.duration_since(cx.now))));
        }
    }
    if let Some(t) = a.account_expires.and_then(filetime) {
        if t <= cx.now + ACCOUNT_EXPIRY_WARNING {
            out.push(format!("the account expires at {t} (in {})", human_duration(t.duration_since(cx.now))));
        }
    }
    if let Some(n) = a.bad_pwd_count.filter(|n| *n > 0) {
        out.push(format!("{n} recent failed logons with a wrong password (something uses an old password)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use phs_model::BindFacts;

    fn refused(code: Option<&str>, rc: u32, message: &str) -> BindFacts {
        BindFacts {
            transport: "ldaps".into(),
            tls_verified: true,
            identity: "FABRIKAM\\MSOL_4f2a9c1b7e30".into(),
            ok: false,
            result_code: Some(rc),
            server_message: Some(message.into()),
            sub_code: code.map(Into::into),
            error: None,
            elapsed_ms: 4,
            refused_in: None,
            failure: None,
        }
    }

    fn judged(bind: BindFacts) -> Finding {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.ldap.as_mut().unwrap().bind = bind;
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(f.len(), 1);
        f.into_iter().next().unwrap()
    }

    #[test]
    fn pass_on_a_good_bind() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.ldap.as_mut().unwrap().account =
            Some(AccountFacts { dn: "CN=MSOL,DC=fabrikam,DC=com".into(), ..Default::default() });
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Pass]);
    }

    #[test]
    fn each_sub_code_is_explained() {
        for (code, words) in [
            ("52e", "password is wrong"),
            ("533", "disabled"),
            ("701", "expired"),
            ("773", "must be changed"),
            ("775", "locked out"),
        ] {
            let text =
                format!("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {code}, v4563");
            let f = judged(refused(Some(code), 49, &text));
            assert_eq!(f.status, Status::Fail, "{code}");
            assert!(f.message.contains(words) && f.message.contains(code), "{code}: {}", f.message);
            assert!(f.evidence.iter().any(|e| e.value.contains(&format!("sub-code {code}"))));
        }
        let f = judged(refused(Some("775"), 49, "data 775"));
        assert!(f.remediation.unwrap().commands[0].starts_with("Unlock-ADAccount 'MSOL_4f2a9c1b7e30'"));
    }

    #[test]
    fn strong_auth_and_tls_failures_are_named() {
        // Result 8 is the DC refusing this kind of bind, not the password.
        for (transport, text) in [
            ("ldap", "00002028: LdapErr: DSID-0C090259, comment: The server requires binds to turn on integrity checking if SSL\\TLS are not already active on the connection, data 0, v4563"),
            ("ldap", "BindSimple: Transport encryption required."),
            ("starttls", "00002028: LdapErr: DSID-0C090259, comment: The server requires binds to turn on integrity checking, data 0, v4563"),
        ] {
            let mut b = refused(None, 8, text);
            b.transport = transport.into();
            let f = judged(b);
            assert_eq!(f.status, Status::Error, "{transport}: {}", f.message);
            assert!(f.message.starts_with("Could not test the credentials this way"), "{}", f.message);
            assert!(f.message.contains("stronger authentication"), "{}", f.message);
            assert!(!f.message.contains("password is wrong"));
        }
        let mut b = refused(None, 0, "");
        b.result_code = None;
        b.error = Some("TLS handshake failed: invalid peer certificate: UnknownIssuer".into());
        let f = judged(b);
        assert_eq!(f.status, Status::Error);
        assert!(f.message.contains("TLS"));
    }

    fn good(transport: &str, verified: bool) -> BindFacts {
        BindFacts {
            transport: transport.into(),
            tls_verified: verified,
            identity: "FABRIKAM\\MSOL_4f2a9c1b7e30".into(),
            ok: true,
            result_code: Some(0),
            elapsed_ms: 12,
            ..Default::default()
        }
    }

    fn judged_with_account(bind: BindFacts) -> Finding {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        let ldap = d.ldap.as_mut().unwrap();
        ldap.bind = bind;
        ldap.account = Some(AccountFacts { dn: "CN=MSOL,DC=fabrikam,DC=com".into(), ..Default::default() });
        let f = run(&snapshot_with_ad(vec![d]), check);
        f.into_iter().next().unwrap()
    }

    #[test]
    fn weak_transports_are_a_warning_not_a_bare_pass() {
        for (transport, verified, words) in [
            ("ldap", false, "plain LDAP"),
            ("ldaps", false, "without certificate verification"),
            ("starttls", false, "without certificate verification"),
        ] {
            let f = judged_with_account(good(transport, verified));
            assert_eq!(f.status, Status::Warn, "{transport}: {}", f.message);
            assert!(f.message.contains(words), "{transport}: {}", f.message);
            let t = f.evidence.iter().find(|e| e.label == "Transport").expect("transport evidence");
            assert!(
                t.value.starts_with(&format!("{transport} to dc1.fabrikam.com")) && t.value.contains(words),
                "{}",
                t.value
            );
        }
        for transport in ["ldaps", "starttls"] {
            let f = judged_with_account(good(transport, true));
            assert_eq!(f.status, Status::Pass, "{transport}: {}", f.message);
        }
    }

    #[test]
    fn a_credential_refused_elsewhere_is_not_judged_here() {
        for refused_in in ["fabrikam.com (by dc1.fabrikam.com (10.0.0.10))", "corp.fabrikam.com (by 10.1.0.5)"] {
            let mut d = domain_facts("fabrikam.com", "emea.fabrikam.com", "DC=emea,DC=fabrikam,DC=com");
            let ldap = d.ldap.as_mut().unwrap();
            ldap.bind = BindFacts {
                transport: "ldaps".into(),
                identity: "FABRIKAM\\MSOL_4f2a9c1b7e30".into(),
                refused_in: Some(refused_in.into()),
                ..Default::default()
            };
            let f = run(&snapshot_with_ad(vec![d]), check);
            assert_eq!(statuses(&f), [Status::Skipped]);
            assert!(f[0].message.contains(refused_in) && f[0].message.contains("result 49"), "{}", f[0].message);
            assert!(f[0].message.contains("not tried in emea.fabrikam.com"), "{}", f[0].message);
            assert!(f[0].remediation.is_none(), "no fix for a domain that was not judged");
        }
    }

    #[test]
    fn silent_dcs_are_named_when_none_answered_ldap() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.ldap = None;
        d.ldap_skipped = vec![phs_model::DcSkip {
            dc: "dc1.fabrikam.com (10.0.0.10)".into(),
            reason: "accepts TCP but did not answer LDAP: rootDSE read over ldap from dc1.fabrikam.com (10.0.0.10): timed out after 10 s".into(),
        }];
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Skipped]);
        assert!(f[0].message.contains("No DC of fabrikam.com answered LDAP"), "{}", f[0].message);
        assert!(f[0].evidence.iter().any(|e| e.label == "DC passed over" && e.value.contains("timed out after 10 s")));
    }

    #[test]
    fn warns_about_what_breaks_later() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        // 2026-11-30: six days after the fixtures' evaluation time.
        let in_six_days = (1795996800 + 11_644_473_600) * 10_000_000;
        d.ldap.as_mut().unwrap().account = Some(AccountFacts {
            dn: "CN=MSOL,DC=fabrikam,DC=com".into(),
            password_expiry: Some(in_six_days),
            bad_pwd_count: Some(2),
            ..Default::default()
        });
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("password expires at 2026-11-30T00:00:00Z (in 5 days 12 h)"), "{}", f[0].message);
        assert!(f[0].message.contains("2 recent failed logons"));
    }

    /// The account name in the fix comes from the export: quoted, its
    /// quotes doubled, so it cannot end the string or add a command.
    #[test]
    fn the_fix_for_what_breaks_later_quotes_the_account() {
        for (account, shown) in [
            ("FABRIKAM\\MSOL_4f2a9c1b7e30", "'MSOL_4f2a9c1b7e30'"),
            ("FABRIKAM\\o'brien-sync", "'o''brien-sync'"),
            ("FABRIKAM\\x; Remove-ADUser y", "'x; Remove-ADUser y'"),
        ] {
            let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
            d.account = account.into();
            d.ldap.as_mut().unwrap().account = Some(AccountFacts {
                dn: "CN=MSOL,DC=fabrikam,DC=com".into(),
                bad_pwd_count: Some(3),
                ..Default::default()
            });
            let f = run(&snapshot_with_ad(vec![d]), check);
            let fix = f[0].remediation.as_ref().expect("a fix");
            assert_eq!(fix.commands.len(), 1, "{fix:?}");
            assert!(fix.commands[0].starts_with(&format!("Get-ADUser {shown} -Properties ")), "{}", fix.commands[0]);
        }
    }

    #[test]
    fn skipped_when_unreachable() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.ldap = None;
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Skipped]);
        assert!(f[0].message.contains("PHS005"));
    }
    #[test]
    fn a_connection_failure_is_told_by_its_kind_not_its_words() {
        // The transport's name holds "tls" but the TCP connect was refused:
        // no TLS was ever spoken, so the finding must not blame TLS.
        for (text, kind, tls) in [
            ("starttls dc1 (10.0.0.10:389): TCP connection refused", NetFailure::Refused, false),
            ("ldaps dc1 (10.0.0.10:636): TCP timed out after 3 s", NetFailure::TimedOut, false),
            ("starttls dc1 (10.0.0.10:389): StartTLS refused: rc 2 (protocolError)", NetFailure::Tls, true),
            ("ldaps dc1 (10.0.0.10:636): certificate not trusted: UnknownIssuer", NetFailure::Tls, true),
        ] {
            let mut b = refused(None, 0, "");
            b.result_code = None;
            b.error = Some(text.into());
            b.failure = Some(kind);
            let f = judged(b);
            assert_eq!(f.status, Status::Error, "{text}");
            assert_eq!(f.message.contains("the TLS connection to"), tls, "{text}: {}", f.message);
            assert!(f.message.contains(text), "{}", f.message);
        }
    }
}
