//! Mutexes that outlive a panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex whatever happened to a previous holder: the data behind our
/// mutexes (dirty sets, diagnostics, task states) stays consistent at every
/// point a panic could occur, so one panicking task must not take every later
/// lock down with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
