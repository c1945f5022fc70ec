//! Placeholder: filled by the cmdlet JSON reader work.
