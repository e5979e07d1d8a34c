//! Exponential moving average in fixed point, so every platform produces the same bits.

use crate::dtype::itemsize;
use crate::Refusal;

/// One in Q16: the scale of `alpha_q16`.
const ONE_Q16: i64 = 1 << 16;

/// Per channel: X_t = x_t · 2^frac_bits, Y_0 = X_0,
/// Y_t = (A·X_t + (2^16 − A)·Y_{t−1} + 2^15) >> 16 (floor shift), A = `alpha_q16` ≤ 2^16.
/// Samples are little-endian `dtype` (0 u8, 1 i8, 2 u16, 3 i16) interleaved over `channels`;
/// each Y_t is written as little-endian i32, so `frac_bits` ≤ 31 − 8·itemsize.
pub(crate) fn ema(
    inp: &[u8],
    out: &mut [u8],
    dtype: u32,
    channels: u32,
    alpha_q16: u32,
    frac_bits: u32,
) -> Result<(), Refusal> {
    let isz = match itemsize(dtype) {
        Some(s) if dtype <= 3 => s,
        _ => return Err(Refusal::BadParam),
    };
    if channels == 0 || alpha_q16 as i64 > ONE_Q16 || frac_bits as usize > 31 - 8 * isz {
        return Err(Refusal::BadParam);
    }
    let items = inp.len() / isz;
    if inp.len() % isz != 0
        || items % channels as usize != 0
        || items as u64 * 4 != out.len() as u64
    {
        return Err(Refusal::BadLength);
    }
    let (a, c) = (alpha_q16 as i64, channels as usize);
    match dtype {
        0 => smooth::<1>(inp, out, c, a, frac_bits, |b| b[0] as i64),
        1 => smooth::<1>(inp, out, c, a, frac_bits, |b| b[0] as i8 as i64),
        2 => smooth::<2>(inp, out, c, a, frac_bits, |b| u16::from_le_bytes(b) as i64),
        _ => smooth::<2>(inp, out, c, a, frac_bits, |b| i16::from_le_bytes(b) as i64),
    }
    Ok(())
}

/// The recurrence for `N`-byte samples, one channel at a time with the state in a register.
fn smooth<const N: usize>(
    inp: &[u8],
    out: &mut [u8],
    c: usize,
    a: i64,
    frac_bits: u32,
    load: impl Fn([u8; N]) -> i64,
) {
    let b = ONE_Q16 - a;
    for ch in 0..c {
        let samples = inp.chunks_exact(N).skip(ch).step_by(c);
        let slots = out.chunks_exact_mut(4).skip(ch).step_by(c);
        let mut y: Option<i64> = None;
        for (src, dst) in samples.zip(slots) {
            let mut raw = [0u8; N];
            raw.copy_from_slice(src);
            let x = load(raw) << frac_bits;
            let next = match y {
                None => x,
                Some(prev) => (a * x + b * prev + (1 << 15)) >> 16,
            };
            dst.copy_from_slice(&(next as i32).to_le_bytes());
            y = Some(next);
        }
    }
}
