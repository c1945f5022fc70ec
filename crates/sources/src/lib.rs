//! Sources: each reads one kind of evidence and reports facts, or an error that
//! names the file and the element or offset. None of them judges anything.
