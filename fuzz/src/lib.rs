//! Mutation fuzzing on stable Rust, without cargo-fuzz: a seeded generator of hostile inputs
//! derived from a small corpus of valid files (`fuzz/seeds/<parser>/`).
//!
//! The harness itself is the integration test `tests/parsers.rs`: for every parser that reads
//! a user file it feeds [`Mutator`] outputs and asserts that the parser neither panics nor
//! allocates more than a small multiple of the input's size. This library holds the parts that
//! need no global state: the generator and the seed loader.
//!
//! Mutations, chosen at random and stacked 1–4 deep: bit flips, byte insertions and deletions,
//! truncation, splicing the head of one seed onto the tail of another, repeating a chunk,
//! overwriting bytes with huge binary numbers (u32/u64, both endians: the length and dimension
//! fields of IDX and safetensors headers) and inserting huge or special decimal numbers (the
//! sizes in JSON configs, the targets in CSV). Everything is driven by one `u64` seed, so a
//! failing input is reproduced by its parser name and index.

use std::path::{Path, PathBuf};

/// A small, fast, seeded generator (xorshift64*): reproducible, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Decimal strings that break naive number handling.
const NUMBERS: [&str; 12] = [
    "0",
    "-1",
    "4294967296",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "1e39",
    "1e400",
    "NaN",
    "inf",
    "-0",
    "99999999999999999999999999999999",
];

/// Binary values written over header fields.
const BIG: [u64; 6] = [
    u64::MAX,
    u32::MAX as u64,
    0x7FFF_FFFF,
    1 << 40,
    100_000_001,
    0x0001_0000_0000_0000,
];

/// Inputs grow at most to this many bytes, so that a run's cost stays predictable.
pub const MAX_INPUT: usize = 64 * 1024;

/// Produces mutated inputs from a corpus of seeds.
#[derive(Debug)]
pub struct Mutator {
    seeds: Vec<Vec<u8>>,
    rng: Rng,
}

impl Mutator {
    /// `seeds` must not be empty; `seed` fixes the whole sequence.
    pub fn new(seeds: Vec<Vec<u8>>, seed: u64) -> Self {
        assert!(!seeds.is_empty(), "a mutator needs at least one seed");
        Mutator {
            seeds,
            rng: Rng::new(seed),
        }
    }

    /// The next input: every 16th one a seed unchanged (the parser must accept valid input
    /// without tripping the memory bound either), the others 1–4 stacked mutations of one.
    pub fn next_input(&mut self) -> Vec<u8> {
        let pick = self.rng.below(self.seeds.len());
        let mut b = self.seeds[pick].clone();
        if self.rng.below(16) == 0 {
            return b;
        }
        for _ in 0..1 + self.rng.below(4) {
            self.mutate(&mut b);
        }
        b.truncate(MAX_INPUT);
        b
    }

    fn mutate(&mut self, b: &mut Vec<u8>) {
        let r = &mut self.rng;
        let at = r.below(b.len() + 1);
        match r.below(10) {
            0 | 1 => {
                if !b.is_empty() {
                    let i = r.below(b.len());
                    b[i] ^= 1 << r.below(8);
                }
            }
            2 => {
                let byte = match r.below(4) {
                    0 => b'"',
                    1 => b'\n',
                    2 => [b',', b'\t', b'{', b'}', b'[', b']', b':', 0xFF, 0][r.below(9)],
                    _ => r.next_u64() as u8,
                };
                b.insert(at, byte);
            }
            3 => {
                if !b.is_empty() {
                    let n = 1 + r.below(8.min(b.len()));
                    let i = r.below(b.len() - n + 1);
                    b.drain(i..i + n);
                }
            }
            4 => b.truncate(at),
            5 => {
                let other = &self.seeds[r.below(self.seeds.len())];
                let from = r.below(other.len() + 1);
                b.truncate(at);
                b.extend_from_slice(&other[from..]);
            }
            6 => {
                if !b.is_empty() {
                    let i = r.below(b.len());
                    let n = 1 + r.below(64.min(b.len() - i));
                    let chunk = b[i..i + n].to_vec();
                    let times = 1 + r.below(64);
                    let mut tail = b.split_off(i);
                    for _ in 0..times {
                        b.extend_from_slice(&chunk);
                    }
                    b.append(&mut tail);
                }
            }
            7 => {
                let v = BIG[r.below(BIG.len())];
                let bytes = match r.below(4) {
                    0 => v.to_le_bytes().to_vec(),
                    1 => v.to_be_bytes().to_vec(),
                    2 => (v as u32).to_le_bytes().to_vec(),
                    _ => (v as u32).to_be_bytes().to_vec(),
                };
                for (k, x) in bytes.into_iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + k) {
                        *slot = x;
                    }
                }
            }
            _ => {
                // Replace a run of ASCII digits (a size, a dimension) with a nasty number,
                // or insert one where there is none.
                let n = NUMBERS[r.below(NUMBERS.len())].as_bytes();
                match b.iter().skip(at).position(u8::is_ascii_digit) {
                    Some(off) => {
                        let start = at + off;
                        let end = start
                            + b[start..]
                                .iter()
                                .take_while(|c| c.is_ascii_digit() || **c == b'.')
                                .count();
                        b.splice(start..end, n.iter().copied()).for_each(drop);
                    }
                    None => {
                        b.splice(at..at, n.iter().copied()).for_each(drop);
                    }
                }
            }
        }
    }
}

/// The committed seed files of one parser: `fuzz/seeds/<name>/*`, sorted by name.
pub fn seeds(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(name);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed folder {}: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("readable seed folder").path();
            let bytes = std::fs::read(&p).expect("readable seed");
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_reproducible_and_varied() {
        let seeds = vec![b"text,label\nhello,1\n".to_vec(), b"{\"a\": 12}".to_vec()];
        let a: Vec<Vec<u8>> = {
            let mut m = Mutator::new(seeds.clone(), 7);
            (0..200).map(|_| m.next_input()).collect()
        };
        let mut m = Mutator::new(seeds.clone(), 7);
        let b: Vec<Vec<u8>> = (0..200).map(|_| m.next_input()).collect();
        assert_eq!(a, b);
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert!(distinct.len() > 150, "{}", distinct.len());
        assert!(a.iter().all(|x| x.len() <= MAX_INPUT));
        assert!(
            a.iter().any(|x| seeds.contains(x)),
            "some seeds pass unchanged"
        );
    }
}
