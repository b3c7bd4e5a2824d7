//! Conflict-free replicated data types (work in progress).
#![cfg_attr(not(feature = "std"), no_std)]
