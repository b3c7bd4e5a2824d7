//! Which of `event_store`'s hash partitions an event id belongs to, computed as the server
//! computes it, so the ingest can send each partition's rows in a statement of their own.
//!
//! PostgreSQL places a row of a table `PARTITION BY HASH (event_id)` with `MODULUS 8` by
//! hashing the key with the type's extended hash function (for `uuid`: Bob Jenkins'
//! lookup3 over the 16 bytes, seeded with the partitioning seed), folding it into a 64-bit
//! row hash and taking that modulo 8. The server keeps these functions stable across
//! versions (the rows of a hash-partitioned table stay where they are through
//! `pg_upgrade`). A wrong answer here costs only speed: the server routes every row itself.

/// How many hash partitions `event_store` has (its `MODULUS`).
pub const PARTITIONS: usize = 8;

/// The seed PostgreSQL hands every hash-partitioning support function.
const HASH_PARTITION_SEED: u64 = 0x7A5B_2236_7996_DCFD;

/// The partition (`REMAINDER`) of `event_store` that holds the event with this id.
pub fn partition_of(event_id: &[u8; 16]) -> usize {
    let row_hash = hash_combine64(0, hash_bytes_extended(event_id, HASH_PARTITION_SEED));
    (row_hash % PARTITIONS as u64) as usize
}

/// PostgreSQL's `hash_combine64`: folds one column's hash into the row's hash.
fn hash_combine64(a: u64, b: u64) -> u64 {
    a ^ b.wrapping_add(0x49a0_f4dd_15e5_a8e3).wrapping_add(a << 54).wrapping_add(a >> 7)
}

/// lookup3's `mix` step.
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3's `final` step.
fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(14));
    *a = (*a ^ *c).wrapping_sub(c.rotate_left(11));
    *b = (*b ^ *a).wrapping_sub(a.rotate_left(25));
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(16));
    *a = (*a ^ *c).wrapping_sub(c.rotate_left(4));
    *b = (*b ^ *a).wrapping_sub(a.rotate_left(14));
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(24));
}

/// A little-endian word of `k` at `at`, `n` (1 to 4) bytes long.
fn word(k: &[u8], at: usize, n: usize) -> u32 {
    k[at..at + n].iter().rev().fold(0, |w, &byte| (w << 8) | u32::from(byte))
}

/// PostgreSQL's `hash_bytes_extended` (its little-endian reading, which the server uses
/// for the key bytes whatever its own byte order).
fn hash_bytes_extended(k: &[u8], seed: u64) -> u64 {
    let len = k.len() as u32;
    let init = 0x9e37_79b9_u32.wrapping_add(len).wrapping_add(3_923_095);
    let (mut a, mut b, mut c) = (init, init, init);
    if seed != 0 {
        a = a.wrapping_add((seed >> 32) as u32);
        b = b.wrapping_add(seed as u32);
        mix(&mut a, &mut b, &mut c);
    }
    let mut rest = k;
    while rest.len() >= 12 {
        a = a.wrapping_add(word(rest, 0, 4));
        b = b.wrapping_add(word(rest, 4, 4));
        c = c.wrapping_add(word(rest, 8, 4));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    // The last 0 to 11 bytes; the lowest byte of `c` is reserved for the length.
    let n = rest.len();
    if n > 8 {
        c = c.wrapping_add(word(rest, 8, n - 8) << 8);
    }
    if n > 4 {
        b = b.wrapping_add(word(rest, 4, (n - 4).min(4)));
    }
    if n > 0 {
        a = a.wrapping_add(word(rest, 0, n.min(4)));
    }
    finish(&mut a, &mut b, &mut c);
    (u64::from(b) << 32) | u64::from(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_is_reachable() {
        let mut seen = [0usize; PARTITIONS];
        for i in 0u32..4096 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&i.to_be_bytes());
            seen[partition_of(&id)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 400), "uneven spread: {seen:?}");
    }

    fn uuid(hex: &str) -> [u8; 16] {
        let digits: Vec<u8> = hex.bytes().filter(|b| *b != b'-').collect();
        core::array::from_fn(|i| {
            let pair = std::str::from_utf8(&digits[2 * i..2 * i + 2]).unwrap_or("00");
            u8::from_str_radix(pair, 16).unwrap_or(0)
        })
    }

    /// Values read from PostgreSQL 15: `uuid_hash_extended(u, 8816678312871386365)` and the
    /// partition the server put `u` in.
    #[test]
    fn matches_what_the_server_computes() {
        for (id, hash, partition) in [
            ("00000000-0000-7000-8000-000000000000", 6_861_917_055_096_258_594_u64, 5),
            ("00000000-0001-7000-8000-00009e3779b1", 9_156_635_196_172_779_287, 2),
            ("00000000-0002-7000-8000-00013c6ef362", 4_435_837_044_667_709_278, 1),
        ] {
            assert_eq!(hash_bytes_extended(&uuid(id), HASH_PARTITION_SEED), hash, "{id}");
            assert_eq!(partition_of(&uuid(id)), partition, "{id}");
        }
    }
}
