//! Envelope encryption, MACs and signatures (work in progress).
