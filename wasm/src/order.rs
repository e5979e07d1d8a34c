//! Output order of shards and tiles: identity, or a Fisher–Yates shuffle driven by SplitMix64.

use crate::alloc::scratch_u32;
use crate::Refusal;

/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit counter through a fixed mixing function.
pub(crate) struct SplitMix64 {
    /// The counter; advanced by the golden-ratio increment on every draw.
    state: u64,
}

impl SplitMix64 {
    /// Next 64-bit output.
    pub(crate) fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Which of the `n` shards goes to each output slot.
pub(crate) enum Order<'a> {
    /// Slot k holds shard k.
    Identity,
    /// Slot k holds shard `perm[k]`.
    Shuffled(&'a [u32]),
}

impl<'a> Order<'a> {
    /// Identity when `shuffle` is 0, else the Fisher–Yates permutation of `0..n` for `seed`:
    /// for i from n−1 down to 1, swap i with `next() % (i + 1)`.
    pub(crate) fn new(n: u64, shuffle: u32, seed: u64) -> Result<Self, Refusal> {
        match shuffle {
            0 => Ok(Order::Identity),
            1 => {
                let n = usize::try_from(n).map_err(|_| Refusal::NoMemory)?;
                let perm = scratch_u32(n).ok_or(Refusal::NoMemory)?;
                for (i, p) in perm.iter_mut().enumerate() {
                    *p = i as u32;
                }
                let mut rng = SplitMix64 { state: seed };
                let mut i = n;
                while i > 1 {
                    i -= 1;
                    let j = (rng.next() % (i as u64 + 1)) as usize;
                    perm.swap(i, j);
                }
                Ok(Order::Shuffled(perm))
            }
            _ => Err(Refusal::BadParam),
        }
    }

    /// The shard in output slot `k`.
    pub(crate) fn get(&self, k: usize) -> u64 {
        match self {
            Order::Identity => k as u64,
            Order::Shuffled(perm) => perm[k] as u64,
        }
    }
}

/// Number of output slots: all `n` shards when `count` is 0, else at most `count`.
pub(crate) fn kept(n: u64, count: u32) -> u64 {
    if count == 0 {
        n
    } else {
        n.min(count as u64)
    }
}
