//! Giving the system back what rare, large work leaves free in the heap.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Returns the free pages of every malloc arena to the system, off the
/// runtime: at every [`EVERY`]th call, and once calls have stopped for
/// [`QUIET`]. glibc serves blocks of a few hundred KiB from per-thread
/// arenas once a large one was freed (its threshold for pages of their own
/// rises up to 32 MiB), and keeps what they leave free: a cycle through
/// cold archive pages, each rendered and compressed on a blocking thread,
/// peaked at 99-169 MiB, 60-62 with a trim after each. Fixing the
/// threshold instead cost a tenth of the concurrent ingest (every large
/// buffer of the write path then a mapping of its own), and an arena per
/// core a sixth of a first poll's CPU.
///
/// Not after each call: the next piece of work faulted the pages back in,
/// zeroed, and a reader walking an archive page after page waited for it.
/// Nor only after a pause: a quick cycle through small pages then peaked
/// at 150-157 MiB (a pause of 250 ms, at most 1 s apart), and trims that
/// close together saved a walk nothing. Counted, a walk pays the refault
/// on one page in a few, whatever its pace, and a cycle holds about what a
/// trim after each left it.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return trim();
        };
        if CALLS.fetch_add(1, Ordering::AcqRel) + 1 >= EVERY {
            CALLS.store(0, Ordering::Release);
            drop(runtime.spawn_blocking(trim));
            return;
        }
        LAST_CALL.store(millis(), Ordering::Release);
        if PENDING.swap(true, Ordering::AcqRel) {
            return;
        }
        drop(runtime.spawn(async move {
            while let Some(wait) = wait(millis(), LAST_CALL.load(Ordering::Acquire)) {
                tokio::time::sleep(wait).await;
            }
            // Before the trim: a call from now on schedules the next one.
            PENDING.store(false, Ordering::Release);
            CALLS.store(0, Ordering::Release);
            drop(tokio::task::spawn_blocking(trim));
        }));
    }
}

/// Calls between two trims, at most.
const EVERY: u32 = 8;
/// How long after the last call the trim comes.
const QUIET: Duration = Duration::from_millis(250);

static CALLS: AtomicU32 = AtomicU32::new(0);
static PENDING: AtomicBool = AtomicBool::new(false);
static LAST_CALL: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the first call (monotonic).
fn millis() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// How much longer a trim last asked for at `last` waits at `now` (both in
/// [`millis`]); `None` when it is due.
fn wait(now: u64, last: u64) -> Option<Duration> {
    let quiet = u64::try_from(QUIET.as_millis()).unwrap_or(u64::MAX);
    let due = last.saturating_add(quiet);
    (now < due).then(|| Duration::from_millis(due - now))
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only hands free pages back; any thread may call
    // it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trim_waits_for_quiet() {
        // Asked once: due a quiet interval later.
        assert_eq!(wait(1_000, 1_000), Some(QUIET));
        assert_eq!(wait(1_100, 1_000), Some(QUIET - Duration::from_millis(100)));
        assert_eq!(wait(1_250, 1_000), None);
        // Asked again meanwhile: the quiet interval starts again.
        assert_eq!(wait(1_250, 1_200), Some(Duration::from_millis(200)));
        assert_eq!(wait(9_000, 1_200), None);
    }
}
