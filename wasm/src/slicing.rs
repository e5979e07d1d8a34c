//! Deterministic slicing: aligned array chunks (`chunks`) and image tiles with a halo (`tiles`).

use crate::order::{kept, Order};
use crate::Refusal;

/// Parameters of `chunks`; lengths are in items of `itemsize` bytes.
pub(crate) struct ChunkParams {
    /// Bytes per item (≥ 1); the payload length must be a multiple of it.
    pub itemsize: u32,
    /// Items per shard (≥ 1).
    pub size: u32,
    /// Items between shard starts (≥ 1); below `size` the shards overlap.
    pub stride: u32,
    /// Items skipped before the first shard.
    pub offset: u32,
    /// Byte (0..=255) that pads the tail of shards running past the end.
    pub pad: u32,
    /// Keep at most this many shards (0 keeps all).
    pub count: u32,
    /// 1 to emit shards in a seeded shuffled order, 0 for natural order.
    pub shuffle: u32,
    /// Seed of the shuffle.
    pub seed: u64,
}

/// Shard k starts at item `offset + order(k) * stride` and holds `size` items, padded with
/// `pad` past the end; there are ceil((n_items − offset) / stride) shards (0 if none start).
pub(crate) fn chunks(inp: &[u8], out: &mut [u8], p: &ChunkParams) -> Result<(), Refusal> {
    if p.itemsize == 0 || p.size == 0 || p.stride == 0 || p.pad > 255 {
        return Err(Refusal::BadParam);
    }
    let isz = p.itemsize as u64;
    if inp.len() as u64 % isz != 0 {
        return Err(Refusal::BadLength);
    }
    let items = inp.len() as u64 / isz;
    let (offset, stride, size) = (p.offset as u64, p.stride as u64, p.size as u64);
    let n = if items > offset {
        (items - offset + stride - 1) / stride
    } else {
        0
    };
    let m = kept(n, p.count);
    let shard = size * isz;
    if m.checked_mul(shard) != Some(out.len() as u64) {
        return Err(Refusal::BadLength);
    }
    if m == 0 {
        return Ok(());
    }
    let order = Order::new(n, p.shuffle, p.seed)?;
    for (k, dst) in out.chunks_exact_mut(shard as usize).enumerate() {
        let start = offset + order.get(k) * stride;
        let end = (start + size).min(items);
        let src = &inp[(start * isz) as usize..(end * isz) as usize];
        let (head, tail) = dst.split_at_mut(src.len());
        head.copy_from_slice(src);
        tail.fill(p.pad as u8);
    }
    Ok(())
}

/// Parameters of `tiles`; the payload is a row-major `height × width` image of `pixel`-byte
/// pixels.
pub(crate) struct TileParams {
    /// Image width in pixels (≥ 1).
    pub width: u32,
    /// Image height in pixels (≥ 1).
    pub height: u32,
    /// Bytes per pixel (channels × itemsize, ≥ 1).
    pub pixel: u32,
    /// Tile width in pixels, halo excluded (≥ 1).
    pub tile_w: u32,
    /// Tile height in pixels, halo excluded (≥ 1).
    pub tile_h: u32,
    /// Extra pixels on each side of a tile.
    pub halo: u32,
    /// Outside the image: 0 fills with `pad`, 1 repeats the nearest edge pixel.
    pub mode: u32,
    /// Byte (0..=255) for mode 0.
    pub pad: u32,
    /// Keep at most this many tiles (0 keeps all).
    pub count: u32,
    /// 1 to emit tiles in a seeded shuffled order, 0 for row-major order.
    pub shuffle: u32,
    /// Seed of the shuffle.
    pub seed: u64,
}

/// The grid has ceil(height / tile_h) × ceil(width / tile_w) tiles, numbered row-major; each
/// output tile is (tile_h + 2·halo) × (tile_w + 2·halo) pixels around its grid cell.
pub(crate) fn tiles(inp: &[u8], out: &mut [u8], p: &TileParams) -> Result<(), Refusal> {
    if p.width == 0 || p.height == 0 || p.pixel == 0 || p.tile_w == 0 || p.tile_h == 0 {
        return Err(Refusal::BadParam);
    }
    if p.mode > 1 || p.pad > 255 {
        return Err(Refusal::BadParam);
    }
    let (w, h, px) = (p.width as u64, p.height as u64, p.pixel as u64);
    if w.checked_mul(h).and_then(|a| a.checked_mul(px)) != Some(inp.len() as u64) {
        return Err(Refusal::BadLength);
    }
    let nx = (w + p.tile_w as u64 - 1) / p.tile_w as u64;
    let ny = (h + p.tile_h as u64 - 1) / p.tile_h as u64;
    let n = nx * ny;
    let m = kept(n, p.count);
    let halo = p.halo as i64;
    let tw2 = p.tile_w as u64 + 2 * p.halo as u64;
    let th2 = p.tile_h as u64 + 2 * p.halo as u64;
    let tile = tw2.checked_mul(th2).and_then(|a| a.checked_mul(px));
    let tile = match tile {
        Some(t) if t.checked_mul(m) == Some(out.len() as u64) => t,
        _ => return Err(Refusal::BadLength),
    };
    if m == 0 {
        return Ok(());
    }
    let order = Order::new(n, p.shuffle, p.seed)?;
    let (row_out, pxu) = ((tw2 * px) as usize, px as usize);
    let row_in = (w * px) as usize;
    for (k, dst) in out.chunks_exact_mut(tile as usize).enumerate() {
        let t = order.get(k);
        let (ty, tx) = ((t / nx) as i64, (t % nx) as i64);
        let x0 = tx * p.tile_w as i64 - halo;
        let x1 = x0 + tw2 as i64;
        let inner0 = x0.max(0);
        let inner1 = x1.min(w as i64);
        let left = (inner0 - x0) as usize;
        let inner = (inner1 - inner0) as usize;
        for (r, row) in dst.chunks_exact_mut(row_out).enumerate() {
            let mut y = ty * p.tile_h as i64 + r as i64 - halo;
            if y < 0 || y >= h as i64 {
                if p.mode == 0 {
                    row.fill(p.pad as u8);
                    continue;
                }
                y = y.clamp(0, h as i64 - 1);
            }
            let line = &inp[y as usize * row_in..(y as usize + 1) * row_in];
            let src = &line[inner0 as usize * pxu..inner1 as usize * pxu];
            let (l, rest) = row.split_at_mut(left * pxu);
            let (mid, r_) = rest.split_at_mut(inner * pxu);
            mid.copy_from_slice(src);
            if p.mode == 0 {
                l.fill(p.pad as u8);
                r_.fill(p.pad as u8);
            } else {
                let (first, last) = (&src[..pxu], &src[src.len() - pxu..]);
                for d in l.chunks_exact_mut(pxu) {
                    d.copy_from_slice(first);
                }
                for d in r_.chunks_exact_mut(pxu) {
                    d.copy_from_slice(last);
                }
            }
        }
    }
    Ok(())
}
