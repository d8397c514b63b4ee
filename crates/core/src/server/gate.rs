//! [`Gate`]: the connection's watchers (the watchdog's tick, the shutdown
//! watch) polled only when one of them woke the task.
//!
//! A connection's task wakes several times per request (bytes to read, room
//! to write), and each wake polled every watcher beside hyper's connection:
//! the shutdown watch re-checks its registration under its lock, the timer
//! its entry. Polled with a waker of their own, they are polled again only
//! when that waker fires (a tick, a phase change) or a new watcher was made;
//! the other wakes cost a swap of one flag.
//!
//! ```ignore
//! let gate = Gate::new();
//! gate.arm(); // a new watcher future: poll it once to register it
//! let event = std::future::poll_fn(|cx| {
//!     // ... poll the connection with `cx` first ...
//!     gate.poll_watchers(cx, |cx| watcher.as_mut().poll(cx))
//! });
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use atomic_waker::AtomicWaker;

/// Whether the watchers need polling, and the waker that says so.
pub(crate) struct Gate {
    flag: Arc<Flag>,
    /// Made once per connection: a waker built per poll would cost a
    /// reference count each time.
    waker: Waker,
}

struct Flag {
    /// A watcher woke (or a new one waits for its first poll).
    woken: AtomicBool,
    /// The connection's task, woken on the watchers' behalf.
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Gate {
    /// A gate whose first [`poll_watchers`](Self::poll_watchers) polls.
    pub(crate) fn new() -> Gate {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Gate {
            waker: Waker::from(Arc::clone(&flag)),
            flag,
        }
    }

    /// Have the next [`poll_watchers`](Self::poll_watchers) poll: a new
    /// watcher future must be polled once to register its waker.
    pub(crate) fn arm(&self) {
        self.flag.woken.store(true, Ordering::Relaxed);
    }

    /// Run `poll` with the gate's waker if a watcher woke since the last
    /// time; `Pending` otherwise. The task's waker is registered first, so
    /// a watcher waking at any moment wakes the task.
    pub(crate) fn poll_watchers<T>(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        poll(&mut Context::from_waker(&self.waker))
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::time::Duration;

    use super::*;

    /// A watcher is polled on the first poll and again only after its own
    /// waker fired: a sleep behind the gate still completes, and a poll in
    /// between does not reach it.
    #[tokio::test(start_paused = true)]
    async fn watchers_are_polled_when_they_wake() {
        let gate = Gate::new();
        let mut sleep = pin!(tokio::time::sleep(Duration::from_secs(1)));
        let mut polls = 0;
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..2 {
            let poll = gate.poll_watchers(&mut cx, |cx| {
                polls += 1;
                sleep.as_mut().poll(cx)
            });
            assert!(poll.is_pending());
        }
        assert_eq!(polls, 1, "the second poll did not reach the sleep");
        let mut polls = 0;
        let done = std::future::poll_fn(|cx| {
            gate.poll_watchers(cx, |cx| {
                polls += 1;
                sleep.as_mut().poll(cx)
            })
        });
        tokio::time::timeout(Duration::from_secs(2), done)
            .await
            .expect("the sleep woke the task through the gate");
        assert_eq!(polls, 1, "polled once: when the sleep fired");
    }
}
