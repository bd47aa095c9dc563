//! API keys end to end (work in progress).
