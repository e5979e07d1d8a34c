//! Shardy's preprocessors, compiled to `wasm32-unknown-unknown` and run by `workers/wasm.py`.
//!
//! ABI: the host calls `alloc_bytes(in_len + out_len)`, writes the payload at the returned
//! pointer, then calls one preprocessor `f(in_ptr, in_len, out_ptr, out_len, params...) -> i32`.
//! The host computes `out_len` from the params; every preprocessor recomputes it and refuses a
//! mismatch. Status codes are the `STATUS_*` constants. Floats are passed as their f32 bits.
//! Every computation is integer or single IEEE operations (no fused multiply-add, no NaN
//! results), so the output bits are the same on every platform and equal the Python fallback's.
#![no_std]
#![deny(missing_docs)]

mod alloc;
mod dtype;
mod ema;
mod order;
mod slicing;

pub use alloc::{alloc_bytes, dealloc_bytes};

/// The call succeeded and `out` holds the result.
pub const STATUS_OK: i32 = 0;
/// A parameter is out of range (the host validates first; this is the module's own check).
pub const STATUS_BAD_PARAM: i32 = 1;
/// `in_len` does not fit the params, or `out_len` is not the length the params produce.
pub const STATUS_BAD_LENGTH: i32 = 2;
/// Scratch memory could not be allocated (the store's memory limit was reached).
pub const STATUS_NO_MEMORY: i32 = 3;

/// Borrow the host-written input and the output region as slices.
///
/// # Safety
/// The host guarantees both ranges lie inside linear memory and do not overlap.
unsafe fn buffers<'a>(
    inp: *const u8,
    in_len: usize,
    out: *mut u8,
    out_len: usize,
) -> (&'a [u8], &'a mut [u8]) {
    (
        core::slice::from_raw_parts(inp, in_len),
        core::slice::from_raw_parts_mut(out, out_len),
    )
}

/// Shards of `size` items every `stride` items from `offset`; see `slicing::chunks`.
#[no_mangle]
pub unsafe extern "C" fn chunks(
    inp: *const u8,
    in_len: usize,
    out: *mut u8,
    out_len: usize,
    itemsize: u32,
    size: u32,
    stride: u32,
    offset: u32,
    pad: u32,
    count: u32,
    shuffle: u32,
    seed: u64,
) -> i32 {
    let (inp, out) = buffers(inp, in_len, out, out_len);
    let p = slicing::ChunkParams { itemsize, size, stride, offset, pad, count, shuffle, seed };
    status(slicing::chunks(inp, out, &p))
}

/// Image tiles with a halo; see `slicing::tiles`.
#[no_mangle]
pub unsafe extern "C" fn tiles(
    inp: *const u8,
    in_len: usize,
    out: *mut u8,
    out_len: usize,
    width: u32,
    height: u32,
    pixel: u32,
    tile_w: u32,
    tile_h: u32,
    halo: u32,
    mode: u32,
    pad: u32,
    count: u32,
    shuffle: u32,
    seed: u64,
) -> i32 {
    let (inp, out) = buffers(inp, in_len, out, out_len);
    let p = slicing::TileParams {
        width,
        height,
        pixel,
        tile_w,
        tile_h,
        halo,
        mode,
        pad,
        count,
        shuffle,
        seed,
    };
    status(slicing::tiles(inp, out, &p))
}

/// Little-endian integers to f32: `y = f32(x) * scale + bias`; see `dtype::decode`.
#[no_mangle]
pub unsafe extern "C" fn decode(
    inp: *const u8,
    in_len: usize,
    out: *mut u8,
    out_len: usize,
    dtype: u32,
    scale_bits: u32,
    bias_bits: u32,
) -> i32 {
    let (inp, out) = buffers(inp, in_len, out, out_len);
    let (scale, bias) = (f32::from_bits(scale_bits), f32::from_bits(bias_bits));
    status(dtype::decode(inp, out, dtype, scale, bias))
}

/// f32 to clamped, round-half-even integers; see `dtype::quantize`.
#[no_mangle]
pub unsafe extern "C" fn quantize(
    inp: *const u8,
    in_len: usize,
    out: *mut u8,
    out_len: usize,
    dtype: u32,
    scale_bits: u32,
    zero_point: i64,
) -> i32 {
    let (inp, out) = buffers(inp, in_len, out, out_len);
    status(dtype::quantize(inp, out, dtype, f32::from_bits(scale_bits), zero_point))
}

/// Fixed-point exponential moving average; see `ema::ema`.
#[no_mangle]
pub unsafe extern "C" fn ema(
    inp: *const u8,
    in_len: usize,
    out: *mut u8,
    out_len: usize,
    dtype: u32,
    channels: u32,
    alpha_q16: u32,
    frac_bits: u32,
) -> i32 {
    let (inp, out) = buffers(inp, in_len, out, out_len);
    status(ema::ema(inp, out, dtype, channels, alpha_q16, frac_bits))
}

/// Why a preprocessor refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A parameter is out of range.
    BadParam,
    /// A length does not match the params.
    BadLength,
    /// Scratch memory could not be allocated.
    NoMemory,
}

fn status(r: Result<(), Refusal>) -> i32 {
    match r {
        Ok(()) => STATUS_OK,
        Err(Refusal::BadParam) => STATUS_BAD_PARAM,
        Err(Refusal::BadLength) => STATUS_BAD_LENGTH,
        Err(Refusal::NoMemory) => STATUS_NO_MEMORY,
    }
}

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
