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

    pub(crate) fn done(self) -> Finding {
        self.0
    }
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
