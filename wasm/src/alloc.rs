//! A bump allocator over linear memory, exported to the host as `alloc_bytes`/`dealloc_bytes`.
//!
//! The host creates a fresh instance per call, so memory is never reused across calls; within a
//! call only the most recent allocation can be freed (LIFO), which is all the preprocessors need.

use core::arch::wasm32::{memory_grow, memory_size};

const PAGE: u64 = 65536;
const ALIGN: u64 = 8;

/// First free byte of the heap; 0 until the first allocation (the heap starts at the end of the
/// module's initial memory, above its stack and data).
static mut TOP: u64 = 0;

/// Reserve `len` bytes, 8-byte aligned; returns 0 (null) when memory cannot grow that far.
#[no_mangle]
pub extern "C" fn alloc_bytes(len: usize) -> *mut u8 {
    // Safety: wasm32-unknown-unknown is single-threaded; TOP is only touched here.
    unsafe {
        let end = memory_size(0) as u64 * PAGE;
        if TOP == 0 {
            TOP = end;
        }
        let ptr = (TOP + ALIGN - 1) & !(ALIGN - 1);
        let new_top = ptr + len as u64;
        if new_top > u32::MAX as u64 {
            return core::ptr::null_mut();
        }
        if new_top > end {
            let pages = (new_top - end + PAGE - 1) / PAGE;
            if memory_grow(0, pages as usize) == usize::MAX {
                return core::ptr::null_mut();
            }
        }
        TOP = new_top;
        ptr as usize as *mut u8
    }
}

/// Free `len` bytes at `ptr` if they are the most recent allocation; otherwise a no-op.
#[no_mangle]
pub extern "C" fn dealloc_bytes(ptr: *mut u8, len: usize) {
    // Safety: as in `alloc_bytes`.
    unsafe {
        if !ptr.is_null() && ptr as usize as u64 + len as u64 == TOP {
            TOP = ptr as usize as u64;
        }
    }
}

/// Scratch space of `n` u32 words, or `None` when memory is exhausted.
pub(crate) fn scratch_u32<'a>(n: usize) -> Option<&'a mut [u32]> {
    let bytes = n.checked_mul(4)?;
    let ptr = alloc_bytes(bytes);
    if ptr.is_null() {
        return None;
    }
    // Safety: the range was just reserved, is 8-aligned and is not aliased.
    Some(unsafe { core::slice::from_raw_parts_mut(ptr as *mut u32, n) })
}
