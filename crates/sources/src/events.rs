//! Placeholder: filled by the event log reader work.
