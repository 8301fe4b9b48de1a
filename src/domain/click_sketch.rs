//! How many different messages clicked, without keeping any of them: a HyperLogLog sketch
//! (Flajolet et al., 2007) of the messages' random tags.
//!
//! Written here rather than taken from a crate because its registers are stored and merged by
//! several nodes and releases: the format (4,096 one-byte registers, the tag's own bits as the
//! hash, since the tag is uniformly random already) must never change under us. The standard
//! error is 1.04 / sqrt(4096), about 1.6%; small counts use linear counting and are nearly exact.

/// log2 of the register count.
const PRECISION: u32 = 12;
pub const REGISTERS: usize = 1 << PRECISION;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketch {
    registers: Vec<u8>,
}

impl Default for Sketch {
    fn default() -> Self {
        Self {
            registers: vec![0; REGISTERS],
        }
    }
}

impl Sketch {
    /// Registers as stored; a blob of another length (damaged) is read as empty rather than
    /// failing the count.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        if bytes.len() == REGISTERS {
            Self { registers: bytes }
        } else {
            Self::default()
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.registers
    }

    /// Adds one uniformly random value (a message tag's nonce).
    pub fn add(&mut self, value: u64) {
        let index = (value >> (64 - PRECISION)) as usize;
        let rest = value << PRECISION;
        // The position of the first 1 bit in the remaining 52 bits, 1-based; all zeros counts
        // as one past the end.
        let rank = (rest.leading_zeros().min(64 - PRECISION) + 1) as u8;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    /// Both sketches' values: each register's maximum.
    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *mine = (*mine).max(*theirs);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.registers.iter().all(|register| *register == 0)
    }

    /// The estimated number of different values added.
    pub fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for register in &self.registers {
            sum += 2f64.powi(-i32::from(*register));
            if *register == 0 {
                zeros += 1;
            }
        }
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn sketch_of(count: usize, rng: &mut impl Rng) -> Sketch {
        let mut sketch = Sketch::default();
        for _ in 0..count {
            sketch.add(rng.random());
        }
        sketch
    }

    #[test]
    fn estimates_stay_within_a_few_percent() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(28);
        for count in [1usize, 10, 300, 5_000, 100_000] {
            let estimate = sketch_of(count, &mut rng).estimate() as f64;
            let error = (estimate - count as f64).abs() / count as f64;
            assert!(error < 0.05, "{count}: {estimate}");
        }
        assert_eq!(Sketch::default().estimate(), 0);
    }

    #[test]
    fn the_same_value_twice_counts_once_and_merges_add_up() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let values: Vec<u64> = (0..2_000).map(|_| rng.random()).collect();
        let (mut left, mut right) = (Sketch::default(), Sketch::default());
        for value in &values[..1_200] {
            left.add(*value);
            left.add(*value);
        }
        for value in &values[800..] {
            right.add(*value);
        }
        left.merge(&right);
        let estimate = left.estimate() as f64;
        assert!((estimate - 2_000.0).abs() / 2_000.0 < 0.05, "{estimate}");
        assert_eq!(
            Sketch::from_bytes(left.as_bytes().to_vec()).estimate(),
            left.estimate()
        );
        assert!(Sketch::from_bytes(vec![1, 2]).is_empty());
    }
}
