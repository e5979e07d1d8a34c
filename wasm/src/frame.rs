//! The call frame: how the host passes lengths and params in one block of linear memory.
//!
//! A frame is `FRAME_BYTES` of header, then the input, then the output:
//!
//! | bytes                    | content                                            |
//! |--------------------------|----------------------------------------------------|
//! | 0..8                     | `in_len`, little-endian u64                        |
//! | 8..16                    | `out_len`, little-endian u64                       |
//! | 16..128                  | up to 14 params, little-endian u64 (i64 as two's complement) |
//! | 128..128+in_len          | the input, written by the host                     |
//! | 128+in_len..+out_len     | the output, read back by the host                  |
//!
//! One pointer argument keeps each call cheap for the host: wasmtime-py spends ~5 µs per
//! argument converting Python values.

use core::arch::wasm32::memory_size;

use crate::Refusal;

/// Header size in bytes.
pub const FRAME_BYTES: usize = 128;
/// Param words after `in_len` and `out_len`.
pub const FRAME_PARAMS: usize = 14;

/// A decoded frame: its params and the input/output regions.
pub(crate) struct Frame<'a> {
    /// Param words, in the order each preprocessor documents.
    params: [u64; FRAME_PARAMS],
    /// The host-written input.
    pub inp: &'a [u8],
    /// The region the preprocessor fills.
    pub out: &'a mut [u8],
}

impl<'a> Frame<'a> {
    /// Decode the frame at `ptr`, refusing one that does not lie inside linear memory.
    ///
    /// # Safety
    /// The frame must not be aliased for `'a` (the host does not touch it during the call).
    pub(crate) unsafe fn read(ptr: *mut u8) -> Result<Self, Refusal> {
        let memory = memory_size(0) as u64 * 65536;
        let base = ptr as usize as u64;
        if base + FRAME_BYTES as u64 > memory {
            return Err(Refusal::BadLength);
        }
        let head = core::slice::from_raw_parts(ptr, FRAME_BYTES);
        let mut words = [0u64; 2 + FRAME_PARAMS];
        for (w, b) in words.iter_mut().zip(head.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(b);
            *w = u64::from_le_bytes(le);
        }
        let (in_len, out_len) = (words[0], words[1]);
        let end = (base + FRAME_BYTES as u64)
            .checked_add(in_len)
            .and_then(|e| e.checked_add(out_len));
        if end.map_or(true, |e| e > memory) {
            return Err(Refusal::BadLength);
        }
        let inp = ptr.add(FRAME_BYTES);
        let mut params = [0u64; FRAME_PARAMS];
        params.copy_from_slice(&words[2..]);
        Ok(Frame {
            params,
            inp: core::slice::from_raw_parts(inp, in_len as usize),
            out: core::slice::from_raw_parts_mut(inp.add(in_len as usize), out_len as usize),
        })
    }

    /// Param `i` as u32, refusing larger values.
    pub(crate) fn u32(&self, i: usize) -> Result<u32, Refusal> {
        u32::try_from(self.params[i]).map_err(|_| Refusal::BadParam)
    }

    /// Param `i` as u64.
    pub(crate) fn u64(&self, i: usize) -> u64 {
        self.params[i]
    }

    /// Param `i` as i64 (two's complement).
    pub(crate) fn i64(&self, i: usize) -> i64 {
        self.params[i] as i64
    }
}
