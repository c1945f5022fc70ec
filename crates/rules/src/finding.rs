//! A small builder so checks state status, scope, message, evidence and fix
//! without repeating the rule's code and name.

use crate::registry::Rule;
use phs_model::{Evidence, Finding, Remediation, Scope, Status};

pub(crate) struct Draft(Finding);

impl Rule {
    pub(crate) fn finding(&self, status: Status, scope: Scope, message: impl Into<String>) -> Draft {
        Draft(Finding {
            code: self.code.to_owned(),
            name: self.name.to_owned(),
            status,
            scope,
            message: message.into(),
            evidence: Vec::new(),
            remediation: None,
        })
    }
}

impl Draft {
    pub(crate) fn evidence(mut self, label: &str, value: impl Into<String>) -> Draft {
        self.0.evidence.push(Evidence::new(label, value));
        self
    }

    pub(crate) fn evidence_from(mut self, label: &str, value: impl Into<String>, source: impl Into<String>) -> Draft {
        self.0.evidence.push(Evidence::new(label, value).from_source(source));
        self
    }

    pub(crate) fn fix(mut self, summary: impl Into<String>, commands: &[&str]) -> Draft {
        self.0.remediation =
            Some(Remediation { summary: summary.into(), commands: commands.iter().map(|c| (*c).to_owned()).collect() });
        self
    }

    /// A fix whose commands were filled by [`crate::command::fill_all`]: the
    /// note on left-out commands joins the summary.
    pub(crate) fn fix_commands(self, summary: &str, (commands, note): (Vec<String>, Option<String>)) -> Draft {
        self.fix_owned(format!("{summary}{}", note.unwrap_or_default()), commands)
    }

    pub(crate) fn fix_owned(mut self, summary: String, commands: Vec<String>) -> Draft {
        self.0.remediation = Some(Remediation { summary, commands });
        self
    }

    /// The finding, its evidence capped: a label repeated more than
    /// [`EVIDENCE_PER_LABEL`] times keeps its first entries and one more that
    /// counts the rest (1,500 trustees or DCs would drown the report), at most
    /// [`EVIDENCE_TOTAL`] entries are kept in all (1,500 trustees each under
    /// its own name), and a value longer than [`EVIDENCE_VALUE_CHARS`] is cut
    /// with a count.
    pub(crate) fn done(mut self) -> Finding {
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut kept = Vec::with_capacity(self.0.evidence.len());
        let mut left_out: Vec<(String, usize)> = Vec::new();
        for mut e in std::mem::take(&mut self.0.evidence) {
            let n = seen.entry(e.label.clone()).or_insert(0);
            *n += 1;
            if *n > EVIDENCE_PER_LABEL {
                match left_out.iter_mut().find(|(label, _)| *label == e.label) {
                    Some((_, count)) => *count += 1,
                    None => left_out.push((e.label.clone(), 1)),
                }
                continue;
            }
            let chars = e.value.chars().count();
            if chars > EVIDENCE_VALUE_CHARS {
                let cut: String = e.value.chars().take(EVIDENCE_VALUE_CHARS).collect();
                e.value = format!("{cut}... ({} more characters)", chars - EVIDENCE_VALUE_CHARS);
            }
            kept.push(e);
        }
        if kept.len() > EVIDENCE_TOTAL {
            let rest = kept.len() - EVIDENCE_TOTAL;
            kept.truncate(EVIDENCE_TOTAL);
            kept.push(Evidence::new(
                "More evidence",
                format!("... and {rest} more entries (the first {EVIDENCE_TOTAL} are shown)"),
            ));
        }
        for (label, count) in left_out {
            kept.push(Evidence::new(
                &label,
                format!("... and {count} more \"{label}\" entries (the first {EVIDENCE_PER_LABEL} are shown)"),
            ));
        }
        self.0.evidence = kept;
        self.0
    }
}

/// Entries of one evidence label kept in a finding.
pub(crate) const EVIDENCE_PER_LABEL: usize = 20;
/// Evidence entries kept in a finding, all labels together.
pub(crate) const EVIDENCE_TOTAL: usize = 60;
/// Characters of one evidence value kept in a finding.
pub(crate) const EVIDENCE_VALUE_CHARS: usize = 4_000;

/// `a, b, c and 37 more`: the first `shown` items and a count of the rest.
pub(crate) fn capped_list(items: &[String], shown: usize) -> String {
    if items.len() <= shown {
        return items.join(", ");
    }
    format!("{} and {} more", items[..shown].join(", "), items.len() - shown)
}

impl Draft {
    pub(crate) fn status(&self) -> Status {
        self.0.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.0.message
    }
}

impl Draft {
    /// Sets status and message once the evidence decided them.
    pub(crate) fn set(&mut self, status: Status, message: String) {
        self.0.status = status;
        self.0.message = message;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::ScopeKind;

    const RULE: Rule = Rule {
        code: "PHS999",
        name: "test",
        scope: ScopeKind::Server,
        title: "test",
        doc: "",
        references: &[],
        needs: &[],
        check: |_| Vec::new(),
    };

    #[test]
    fn many_entries_of_one_label_are_summarised() {
        let mut d = RULE.finding(Status::Fail, Scope::server(), "m").evidence("Account", "CORP\\MSOL_1");
        for i in 0..1_500 {
            d = d.evidence("Trustee", format!("S-1-5-21-1-2-3-{}", 1000 + i));
        }
        let f = d.evidence("Fix", "x").done();
        let trustees: Vec<&str> =
            f.evidence.iter().filter(|e| e.label == "Trustee").map(|e| e.value.as_str()).collect();
        assert_eq!(trustees.len(), EVIDENCE_PER_LABEL + 1);
        assert_eq!(trustees[0], "S-1-5-21-1-2-3-1000");
        assert_eq!(trustees[EVIDENCE_PER_LABEL - 1], "S-1-5-21-1-2-3-1019");
        assert!(trustees[EVIDENCE_PER_LABEL].contains("1480 more"), "{}", trustees[EVIDENCE_PER_LABEL]);
        assert_eq!(f.evidence.iter().filter(|e| e.label == "Account" || e.label == "Fix").count(), 2);
    }

    #[test]
    fn many_trustees_each_under_its_own_name_are_summarised() {
        let mut d = RULE.finding(Status::Warn, Scope::server(), "m");
        for i in 0..1_500 {
            d = d.evidence(
                &format!("CORP\\helpdesk-{i:04}"),
                format!("ACE #{i} (OA;;CR;1131f6ad-9c07-11d1-f79f-00c04fc2dcd2;;S-1-5-21-1-2-3-{})", 2000 + i),
            );
        }
        let f = d.done();
        assert_eq!(f.evidence.len(), EVIDENCE_TOTAL + 1);
        assert_eq!(f.evidence[0].label, "CORP\\helpdesk-0000");
        assert_eq!(f.evidence[EVIDENCE_TOTAL - 1].label, format!("CORP\\helpdesk-{:04}", EVIDENCE_TOTAL - 1));
        let last = &f.evidence[EVIDENCE_TOTAL];
        assert_eq!(last.label, "More evidence");
        assert!(last.value.contains(&format!("{} more entries", 1_500 - EVIDENCE_TOTAL)), "{}", last.value);

        // A handful stays whole.
        let mut d = RULE.finding(Status::Warn, Scope::server(), "m");
        for i in 0..5 {
            d = d.evidence(&format!("CORP\\helpdesk-{i}"), "ACE");
        }
        assert_eq!(d.done().evidence.len(), 5);
    }

    #[test]
    fn long_values_are_cut_with_a_count_and_short_lists_stay_whole() {
        let long = "dc.corp.example, ".repeat(500);
        let f = RULE.finding(Status::Warn, Scope::server(), "m").evidence("DCs", long.clone()).done();
        let v = &f.evidence[0].value;
        assert!(v.chars().count() < EVIDENCE_VALUE_CHARS + 40, "{}", v.len());
        assert!(v.ends_with(&format!("({} more characters)", long.chars().count() - EVIDENCE_VALUE_CHARS)), "{v}");
        let names: Vec<String> = (1..=12).map(|i| format!("dc{i}")).collect();
        assert_eq!(capped_list(&names, 10), "dc1, dc2, dc3, dc4, dc5, dc6, dc7, dc8, dc9, dc10 and 2 more");
        assert_eq!(capped_list(&names[..3], 10), "dc1, dc2, dc3");
    }
}
