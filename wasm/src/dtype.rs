//! Little-endian dtype decoding with f32 normalisation (`decode`) and fixed-point
//! quantisation of f32 (`quantize`). Dtype codes: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32.

use crate::Refusal;

/// Bytes per item of a dtype code, or `None` for an unknown code.
pub(crate) fn itemsize(dtype: u32) -> Option<usize> {
    match dtype {
        0 | 1 => Some(1),
        2 | 3 => Some(2),
        4 | 5 => Some(4),
        _ => None,
    }
}

/// Apply `$body` to every little-endian item of `$inp` (as `$t`) and its output slot.
macro_rules! each_item {
    ($inp:expr, $out:expr, $t:ty, $n:expr, $osz:expr, |$x:ident, $dst:ident| $body:block) => {
        for (src, $dst) in $inp.chunks_exact($n).zip($out.chunks_exact_mut($osz)) {
            let mut b = [0u8; $n];
            b.copy_from_slice(src);
            let $x = <$t>::from_le_bytes(b);
            $body
        }
    };
}

/// `y = f32(x) * scale + bias`, each operation rounded to f32 (round-to-nearest-even), written
/// as little-endian f32. `scale` and `bias` must be finite.
pub(crate) fn decode(
    inp: &[u8],
    out: &mut [u8],
    dtype: u32,
    scale: f32,
    bias: f32,
) -> Result<(), Refusal> {
    let isz = itemsize(dtype).ok_or(Refusal::BadParam)?;
    if !scale.is_finite() || !bias.is_finite() {
        return Err(Refusal::BadParam);
    }
    if inp.len() % isz != 0 || (inp.len() / isz) as u64 * 4 != out.len() as u64 {
        return Err(Refusal::BadLength);
    }
    let f = |v: f32, dst: &mut [u8]| dst.copy_from_slice(&(v * scale + bias).to_le_bytes());
    match dtype {
        0 => each_item!(inp, out, u8, 1, 4, |x, d| { f(x as f32, d) }),
        1 => each_item!(inp, out, i8, 1, 4, |x, d| { f(x as f32, d) }),
        2 => each_item!(inp, out, u16, 2, 4, |x, d| { f(x as f32, d) }),
        3 => each_item!(inp, out, i16, 2, 4, |x, d| { f(x as f32, d) }),
        4 => each_item!(inp, out, u32, 4, 4, |x, d| { f(x as f32, d) }),
        _ => each_item!(inp, out, i32, 4, 4, |x, d| { f(x as f32, d) }),
    }
    Ok(())
}

/// Smallest and largest value of an integer dtype code.
fn bounds(dtype: u32) -> (i64, i64) {
    match dtype {
        0 => (0, u8::MAX as i64),
        1 => (i8::MIN as i64, i8::MAX as i64),
        2 => (0, u16::MAX as i64),
        3 => (i16::MIN as i64, i16::MAX as i64),
        4 => (0, u32::MAX as i64),
        _ => (i32::MIN as i64, i32::MAX as i64),
    }
}

/// 1.5 · 2^52: adding and subtracting it rounds an f64 of magnitude below 2^51 to an integer,
/// half to even (the default IEEE rounding), without branches.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// Round half to even; `v` must lie within ±2^51.
fn round_half_even(v: f64) -> f64 {
    (v + ROUNDER) - ROUNDER
}

/// Little-endian f32 to `dtype`: `q = clamp(round_half_even(f32(x * scale)) + zero_point)`;
/// NaN becomes `zero_point`, ±inf saturates. `zero_point` must lie in the dtype's range.
pub(crate) fn quantize(
    inp: &[u8],
    out: &mut [u8],
    dtype: u32,
    scale: f32,
    zero_point: i64,
) -> Result<(), Refusal> {
    let osz = itemsize(dtype).ok_or(Refusal::BadParam)?;
    let (lo, hi) = bounds(dtype);
    if !scale.is_finite() || zero_point < lo || zero_point > hi {
        return Err(Refusal::BadParam);
    }
    if inp.len() % 4 != 0 || (inp.len() / 4) as u64 * osz as u64 != out.len() as u64 {
        return Err(Refusal::BadLength);
    }
    // Clamping to one step beyond the range before rounding keeps the integer small and
    // gives the same result as rounding first.
    let (vlo, vhi) = ((lo - zero_point - 1) as f64, (hi - zero_point + 1) as f64);
    let q = |x: f32| -> i64 {
        let v = x * scale;
        // f64::max/min return the other operand for NaN, so NaN clamps to vlo; replaced below.
        let r = round_half_even((v as f64).max(vlo).min(vhi)) as i64 + zero_point;
        if v.is_nan() {
            zero_point
        } else {
            r.max(lo).min(hi)
        }
    };
    match dtype {
        0 => each_item!(inp, out, f32, 4, 1, |x, d| { d[0] = q(x) as u8 }),
        1 => each_item!(inp, out, f32, 4, 1, |x, d| { d[0] = q(x) as i8 as u8 }),
        2 => each_item!(inp, out, f32, 4, 2, |x, d| {
            d.copy_from_slice(&(q(x) as u16).to_le_bytes())
        }),
        3 => each_item!(inp, out, f32, 4, 2, |x, d| {
            d.copy_from_slice(&(q(x) as i16).to_le_bytes())
        }),
        4 => each_item!(inp, out, f32, 4, 4, |x, d| {
            d.copy_from_slice(&(q(x) as u32).to_le_bytes())
        }),
        _ => each_item!(inp, out, f32, 4, 4, |x, d| {
            d.copy_from_slice(&(q(x) as i32).to_le_bytes())
        }),
    }
    Ok(())
}
