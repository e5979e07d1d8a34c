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
    let a = alpha_q16 as i64;
    let c = channels as usize;
    for i in 0..items {
        let x: i64 = match dtype {
            0 => inp[i] as i64,
            1 => inp[i] as i8 as i64,
            2 => u16::from_le_bytes([inp[2 * i], inp[2 * i + 1]]) as i64,
            _ => i16::from_le_bytes([inp[2 * i], inp[2 * i + 1]]) as i64,
        };
        let xq = x << frac_bits;
        let y = if i < c {
            xq
        } else {
            let p = &out[4 * (i - c)..4 * (i - c) + 4];
            let prev = i32::from_le_bytes([p[0], p[1], p[2], p[3]]) as i64;
            (a * xq + (ONE_Q16 - a) * prev + (1 << 15)) >> 16
        };
        out[4 * i..4 * i + 4].copy_from_slice(&(y as i32).to_le_bytes());
    }
    Ok(())
}
