//! Shardy's preprocessors, compiled to `wasm32-unknown-unknown` and run by `workers/wasm.py`.
//!
//! ABI: the host calls `alloc_bytes(FRAME_BYTES + in_len + out_len)`, writes a call frame there
//! (header with lengths and params, then the payload; see `frame`), and calls one preprocessor
//! `f(frame_ptr) -> i32`, which fills the output region after the payload. The host computes
//! `out_len` from the params; every preprocessor recomputes it and refuses a mismatch. Status
//! codes are the `STATUS_*` constants. Every computation is integer or single IEEE operations
//! (no fused multiply-add, no NaN results), so the output bits are the same on every platform
//! and equal the Python fallback's.
#![no_std]
#![deny(missing_docs)]

mod alloc;
mod dtype;
mod ema;
mod frame;
mod order;
mod slicing;

pub use alloc::{alloc_bytes, dealloc_bytes};
use frame::Frame;

/// The call succeeded and the output region holds the result.
pub const STATUS_OK: i32 = 0;
/// A parameter is out of range (the host validates first; this is the module's own check).
pub const STATUS_BAD_PARAM: i32 = 1;
/// `in_len` does not fit the params, `out_len` is not the length the params produce, or the
/// frame does not lie inside linear memory.
pub const STATUS_BAD_LENGTH: i32 = 2;
/// Scratch memory could not be allocated (the store's memory limit was reached).
pub const STATUS_NO_MEMORY: i32 = 3;

/// Decode the frame at `ptr` and run `f` on it.
///
/// # Safety
/// The host owns linear memory between calls and does not touch the frame during one.
unsafe fn run(ptr: *mut u8, f: impl FnOnce(Frame) -> Result<(), Refusal>) -> i32 {
    status(Frame::read(ptr).and_then(f))
}

/// Params: itemsize, size, stride, offset, pad, count, shuffle, seed; see `slicing::chunks`.
#[no_mangle]
pub unsafe extern "C" fn chunks(frame: *mut u8) -> i32 {
    run(frame, |f| {
        let p = slicing::ChunkParams {
            itemsize: f.u32(0)?,
            size: f.u32(1)?,
            stride: f.u32(2)?,
            offset: f.u32(3)?,
            pad: f.u32(4)?,
            count: f.u32(5)?,
            shuffle: f.u32(6)?,
            seed: f.u64(7),
        };
        slicing::chunks(f.inp, f.out, &p)
    })
}

/// Params: width, height, pixel, tile_w, tile_h, halo, mode, pad, count, shuffle, seed; see
/// `slicing::tiles`.
#[no_mangle]
pub unsafe extern "C" fn tiles(frame: *mut u8) -> i32 {
    run(frame, |f| {
        let p = slicing::TileParams {
            width: f.u32(0)?,
            height: f.u32(1)?,
            pixel: f.u32(2)?,
            tile_w: f.u32(3)?,
            tile_h: f.u32(4)?,
            halo: f.u32(5)?,
            mode: f.u32(6)?,
            pad: f.u32(7)?,
            count: f.u32(8)?,
            shuffle: f.u32(9)?,
            seed: f.u64(10),
        };
        slicing::tiles(f.inp, f.out, &p)
    })
}

/// Params: dtype, scale (f32 bits), bias (f32 bits); see `dtype::decode`.
#[no_mangle]
pub unsafe extern "C" fn decode(frame: *mut u8) -> i32 {
    run(frame, |f| {
        let (scale, bias) = (f32::from_bits(f.u32(1)?), f32::from_bits(f.u32(2)?));
        dtype::decode(f.inp, f.out, f.u32(0)?, scale, bias)
    })
}

/// Params: dtype, scale (f32 bits), zero_point (i64); see `dtype::quantize`.
#[no_mangle]
pub unsafe extern "C" fn quantize(frame: *mut u8) -> i32 {
    run(frame, |f| {
        let scale = f32::from_bits(f.u32(1)?);
        dtype::quantize(f.inp, f.out, f.u32(0)?, scale, f.i64(2))
    })
}

/// Params: dtype, channels, alpha_q16, frac_bits; see `ema::ema`.
#[no_mangle]
pub unsafe extern "C" fn ema(frame: *mut u8) -> i32 {
    run(frame, |f| {
        ema::ema(f.inp, f.out, f.u32(0)?, f.u32(1)?, f.u32(2)?, f.u32(3)?)
    })
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
