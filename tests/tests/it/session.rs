//! Sessions end to end (work in progress).
