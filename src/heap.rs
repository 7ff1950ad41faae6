//! Giving the system back what rare, large work leaves free in the heap.

/// Returns the free pages of every malloc arena to the system, off the
/// runtime and without waiting. glibc serves blocks of a few hundred KiB
/// from per-thread arenas once a large one was freed (its threshold for
/// pages of their own rises up to 32 MiB), and keeps what they leave free:
/// a cycle through cold archive pages, each rendered and compressed on a
/// blocking thread, peaked at 99-169 MiB, 60-62 with this after each.
/// Fixing the threshold instead cost a tenth of the concurrent ingest
/// (every large buffer of the write path then a mapping of its own); this
/// runs only after on-demand renders, and costs a fraction of one (in that
/// cycle 0.33 ms median, 0.55 ms p90, on a blocking thread; a cold page
/// takes tens of milliseconds). Once every 250 ms instead let it peak at
/// 82-84 MiB.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    drop(tokio::task::spawn_blocking(|| {
        // SAFETY: malloc_trim only hands free pages back; any thread may
        // call it at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }));
}
