//! How much CPU-bound work may run at once: one task per core the process
//! may use (its CPU affinity and cgroup quota included), for the poller's
//! parse-and-gate turns, render and finishing turns, `build`'s pages, the
//! HTTP workers and a large body's gzip parts alike.

/// The cores this process may run on, at least one.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
