//! The session part of the demo (work in progress).
