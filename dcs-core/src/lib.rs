//! DCS event model (work in progress).
