//! The lines of events 656 (password change request) and 657 (password
//! change result) that are about one user: the agent writes one line per
//! user, `Anchor : <base64>, Dn : <DN>, ...`, up to 50 users an event, so a
//! line is the user's when it names their anchor or their DN.

use crate::context::Context;
use phs_model::{Event, SourceAnchor};

const REQUEST: u32 = 656;
const RESULT: u32 = 657;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Said {
    /// 656: the agent found a change and is about to send it.
    Requested,
    /// 657: the outcome; `ok` None when the line names no result.
    Result { ok: Option<bool>, extended_error: Option<String> },
}

#[derive(Debug)]
pub(crate) struct UserEvent<'a> {
    pub event: &'a Event,
    /// The line about the user, as the event wrote it.
    pub line: String,
    pub said: Said,
}

/// Every 656/657 line about the user up to the evaluation time, oldest first.
pub(crate) fn about_user<'a>(cx: &Context<'a>, dn: Option<&str>, anchor: Option<&SourceAnchor>) -> Vec<UserEvent<'a>> {
    let dn = dn.map(|d| format!("dn : {}", d.to_lowercase()));
    let anchor = anchor.map(|a| a.to_base64());
    if dn.is_none() && anchor.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for event in cx.up_to_now(&[REQUEST, RESULT]) {
        for line in event.text().lines() {
            let folded = fold(line);
            let by_dn = dn.as_ref().is_some_and(|d| names_dn(&folded, d));
            let by_anchor = anchor.as_ref().is_some_and(|a| anchor_of(line).is_some_and(|l| l == a));
            if !(by_dn || by_anchor) {
                continue;
            }
            let said = if event.event_id == REQUEST { Said::Requested } else { result_of(&folded, line) };
            out.push(UserEvent { event, line: line.trim().to_owned(), said });
        }
    }
    out
}

/// `dn : <the DN>` followed by the end of the line or the next field the
/// agent writes: a DN that only starts like the user's (one more RDN, a
/// longer last label) is another object.
fn names_dn(folded: &str, needle: &str) -> bool {
    const NEXT: [&str; 3] = [", pwdchangeonlogon", ", change date", ", result"];
    folded.match_indices(needle).any(|(i, m)| {
        let rest = folded[i + m.len()..].trim_end();
        rest.is_empty() || NEXT.iter().any(|n| rest.starts_with(n))
    })
}

/// Lower case, and one space around each colon, as the agent's spacing varies.
fn fold(line: &str) -> String {
    let mut s = String::with_capacity(line.len());
    for part in line.to_lowercase().split(':') {
        if !s.is_empty() {
            s.push_str(" : ");
        }
        s.push_str(part.trim());
    }
    s
}

/// The base64 after `Anchor :`, up to the comma.
fn anchor_of(line: &str) -> Option<&str> {
    let at = line.to_ascii_lowercase().find("anchor")?;
    let rest = line[at + "anchor".len()..].trim_start().strip_prefix(':')?;
    Some(rest.split(',').next()?.trim())
}

fn result_of(folded: &str, line: &str) -> Said {
    let ok = folded.split("result : ").nth(1).map(|r| r.starts_with("success"));
    let extended_error = line
        .to_ascii_lowercase()
        .find("extended error")
        .map(|i| line[i + "extended error".len()..].trim_start_matches([' ', ':']).trim().to_owned())
        .filter(|e| !e.is_empty());
    Said::Result { ok, extended_error }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::fixtures::{event, with_events};

    #[test]
    fn only_the_users_line_of_a_batch_counts() {
        let mut s = healthy();
        let b64 = anchor().to_base64();
        let batch = format!(
            "Password Change Result - Anchor : efiIyGYNExceq5t1ozdssA==, Dn : CN=Alex,OU=Staff,DC=fabrikam,DC=com, PwdChangeOnLogon=False, Result : Success.\r\n\
             Password Change Result - Anchor : {b64}, Dn : {DN}, PwdChangeOnLogon=False, Result : Failed, Extended Error: 0x80070005\r\n\
             <forest-info>"
        );
        with_events(
            &mut s,
            vec![
                event(656, 20, &format!("Password Change Request - Anchor : {b64}, Dn : {DN}, Change Date : x")),
                event(657, 19, &batch),
            ],
        );
        let settings = crate::Settings::default();
        let cx = crate::Context::new(&s, now(), &settings);
        let found = about_user(&cx, Some(DN), Some(&anchor()));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].said, Said::Requested);
        assert_eq!(found[1].said, Said::Result { ok: Some(false), extended_error: Some("0x80070005".into()) });
        // By anchor alone, with other spacing; by DN alone, in another case.
        let other = about_user(&cx, None, Some(&anchor()));
        assert_eq!(other.len(), 2);
        assert_eq!(about_user(&cx, Some(&DN.to_uppercase()), None).len(), 2);
        assert!(about_user(&cx, Some("CN=Nobody,DC=fabrikam,DC=com"), None).is_empty());
        assert!(
            about_user(&cx, Some("CN=Ann Lee,OU=Staff,DC=fabrikam"), None).is_empty(),
            "a DN's prefix is not the DN"
        );
    }
}
