//! A worker's open connections under one coarse clock: it cuts off clients that
//! stop making progress and tells every connection when to drain.
//!
//! hyper can time a request head itself, but it arms a timer per request, and
//! hyper-util's graceful shutdown has every connection poll one shared signal,
//! whose lock all cores take on every request. Here a connection only writes
//! the current tick into its own [`Slot`] when it makes progress, and once a
//! second the worker walks its slots: tens of thousands of connections cost one
//! short loop a second instead of a timer and a shared lock per request.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::task::{Context, Waker};
use std::time::Duration;

/// How long, in seconds, a connection may make no progress.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Waiting for a request head, the next one included (idle keep-alive).
    pub head: u64,
    /// Waiting for the client to take response bytes.
    pub send: u64,
}

/// A worker's connections and its clock, in seconds since the worker started.
#[derive(Default)]
pub struct Conns {
    now: Rc<Cell<u64>>,
    slots: RefCell<Vec<Weak<Slot>>>,
    draining: Cell<bool>,
}

/// One connection as the clock sees it.
pub struct Slot {
    now: Rc<Cell<u64>>,
    /// The tick of the last response byte written or request started.
    last: Cell<u64>,
    /// Requests being answered on the main runtime (the API); their own
    /// deadlines apply, not the clock's.
    busy: Cell<u32>,
    /// A write found the client's window full.
    stalled: Cell<bool>,
    cut: Cell<bool>,
    drain: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Conns {
    pub fn open(&self) -> Rc<Slot> {
        let slot = Rc::new(Slot {
            now: self.now.clone(),
            last: Cell::new(self.now.get()),
            busy: Cell::new(0),
            stalled: Cell::new(false),
            cut: Cell::new(false),
            drain: Cell::new(self.draining.get()),
            waker: RefCell::new(None),
        });
        self.slots.borrow_mut().push(Rc::downgrade(&slot));
        slot
    }

    /// Ticks once a second, cutting off connections past their limit.
    pub async fn run_clock(&self, limits: Limits) {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            self.tick(limits);
        }
    }

    fn tick(&self, limits: Limits) {
        let now = self.now.get() + 1;
        self.now.set(now);
        self.slots.borrow_mut().retain(|weak| {
            let Some(slot) = weak.upgrade() else {
                return false;
            };
            let limit = if slot.stalled.get() {
                limits.send
            } else {
                limits.head
            };
            // Strictly more: a limit of n seconds is never cut short by a tick.
            if slot.busy.get() == 0 && now - slot.last.get() > limit && !slot.cut.get() {
                slot.cut.set(true);
                slot.wake();
            }
            true
        });
    }

    /// Asks every connection, and any opened from now on, to finish its current
    /// request and close.
    pub fn drain(&self) {
        self.draining.set(true);
        for slot in self.slots.borrow().iter().filter_map(Weak::upgrade) {
            slot.drain.set(true);
            slot.wake();
        }
    }
}

impl Slot {
    /// A request head arrived or response bytes went out.
    pub fn progress(&self) {
        self.last.set(self.now.get());
        self.stalled.set(false);
    }

    /// A write is waiting for the client.
    pub fn stalled(&self) {
        self.stalled.set(true);
    }

    /// Holds the clock off while a request is answered elsewhere.
    pub fn busy(self: &Rc<Self>) -> Busy {
        self.busy.set(self.busy.get() + 1);
        Busy(self.clone())
    }

    /// Whether the clock has cut this connection off; also keeps the waker the
    /// clock uses to say so.
    pub fn is_cut(&self, cx: &Context<'_>) -> bool {
        let mut waker = self.waker.borrow_mut();
        match &*waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *waker = Some(cx.waker().clone()),
        }
        self.cut.get()
    }

    pub fn must_drain(&self) -> bool {
        self.drain.get()
    }

    fn wake(&self) {
        if let Some(w) = self.waker.borrow().as_ref() {
            w.wake_by_ref();
        }
    }
}

/// See [`Slot::busy`].
pub struct Busy(Rc<Slot>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.set(self.0.busy.get() - 1);
        self.0.progress();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { head: 2, send: 5 };

    fn ticks(conns: &Conns, n: usize) {
        for _ in 0..n {
            conns.tick(LIMITS);
        }
    }

    #[test]
    fn quiet_connections_are_cut_after_their_limit_and_not_before() {
        let conns = Conns::default();
        let idle = conns.open();
        let active = conns.open();
        let stalled = conns.open();
        stalled.stalled();
        let waiting = conns.open();
        let busy = waiting.busy();
        ticks(&conns, 2);
        active.progress();
        assert!(
            !idle.cut.get(),
            "a limit of 2 s is not cut at the second tick"
        );
        ticks(&conns, 1);
        assert!(idle.cut.get());
        assert!(!active.cut.get(), "progress restarts the count");
        ticks(&conns, 2);
        assert!(active.cut.get());
        assert!(!stalled.cut.get(), "a stalled write has the longer limit");
        ticks(&conns, 1);
        assert!(stalled.cut.get());
        assert!(
            !waiting.cut.get(),
            "a request answered elsewhere is not timed here"
        );
        drop(busy);
        ticks(&conns, 2);
        assert!(!waiting.cut.get(), "its answer counts as progress");
        ticks(&conns, 1);
        assert!(waiting.cut.get());
    }

    #[test]
    fn closed_connections_leave_and_draining_reaches_late_ones() {
        let conns = Conns::default();
        let early = conns.open();
        drop(conns.open());
        conns.tick(LIMITS);
        assert_eq!(conns.slots.borrow().len(), 1);
        conns.drain();
        assert!(early.must_drain());
        assert!(conns.open().must_drain());
    }
}
