//! The load generator's global allocator: mimalloc (as in the `accord` binary) with a count of
//! live heap bytes, so memory per session can be read without the noise of what the allocator
//! keeps, purges or returns (RSS). The count is sharded over cache-padded per-thread slots, so
//! counting costs no contended atomic on the allocation path.
//!
//! `unsafe` is allowed here alone: `GlobalAlloc` is an unsafe trait, and this forwards each call
//! to mimalloc unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// mimalloc, counting live bytes.
pub struct Counting;

const SLOTS: usize = 64;

#[repr(align(128))]
struct Slot(AtomicIsize);

static COUNTS: [Slot; SLOTS] = [const { Slot(AtomicIsize::new(0)) }; SLOTS];
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Live allocations by size (16-byte classes up to 4 KiB, then one class for everything
/// larger), counted only when `ACCORD_HEAP_HIST` is set: what a figure is made of.
static BY_SIZE: [AtomicIsize; 257] = [const { AtomicIsize::new(0) }; 257];
static HIST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts counting allocations by size (see [`histogram`]).
pub fn enable_histogram() {
    HIST.store(true, Ordering::Relaxed);
}

/// Live allocations per size class, `(class upper bound in bytes, count)`, non-zero only.
pub fn histogram() -> Vec<(usize, isize)> {
    BY_SIZE
        .iter()
        .enumerate()
        .map(|(i, c)| ((i + 1) * 16, c.load(Ordering::Relaxed)))
        .filter(|(_, c)| *c != 0)
        .collect()
}

fn count(size: usize, delta: isize) {
    if HIST.load(Ordering::Relaxed) {
        BY_SIZE[size.div_ceil(16).saturating_sub(1).min(256)].fetch_add(delta, Ordering::Relaxed);
    }
}

fn add(delta: isize) {
    let slot = MINE
        .try_with(|m| {
            if m.get() == usize::MAX {
                m.set(NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS);
            }
            m.get()
        })
        // A thread being torn down: any slot will do.
        .unwrap_or(0);
    COUNTS[slot].0.fetch_add(delta, Ordering::Relaxed);
}

/// Bytes allocated and not yet freed, over all threads.
pub fn live_bytes() -> i64 {
    COUNTS
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed) as i64)
        .sum()
}

// SAFETY: every call is forwarded to mimalloc unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { mimalloc::MiMalloc.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
            count(layout.size(), 1);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
            count(layout.size(), 1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
        count(layout.size(), -1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
            count(layout.size(), -1);
            count(new_size, 1);
        }
        p
    }
}

/// With `ACCORD_HEAP_HIST=<dir>`: writes the live allocations by size to
/// `<dir>/heap-<sessions>.txt` (one `size count` line per class), to diff two moments.
pub fn dump_histogram(sessions: usize) {
    let Ok(dir) = std::env::var("ACCORD_HEAP_HIST") else {
        return;
    };
    let text: String = histogram()
        .iter()
        .map(|(size, count)| format!("{size} {count}\n"))
        .collect();
    let path = std::path::Path::new(&dir).join(format!("heap-{sessions}.txt"));
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
