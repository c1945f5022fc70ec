//! Placeholder: filled by the export reader work.
