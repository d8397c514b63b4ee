//! The server-wide budget of bytes held in buffered request bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Bytes held in buffered request bodies, against a cap. Shared by every
/// connection of a server.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    held: AtomicU64,
    /// The cap; `u64::MAX` when there is none.
    max: AtomicU64,
    /// How long a body may wait for room before it is refused.
    wait_millis: AtomicU64,
    freed: Notify,
}

/// Waited too long for room in the budget: answer 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetExhausted;

impl BodyBudget {
    pub(crate) fn new(max: Option<u64>, wait: Duration) -> Arc<BodyBudget> {
        let budget = Arc::new(BodyBudget {
            held: AtomicU64::new(0),
            max: AtomicU64::new(u64::MAX),
            wait_millis: AtomicU64::new(0),
            freed: Notify::new(),
        });
        budget.set(max, wait);
        budget
    }

    /// A new cap and wait, for the reservations made from now on.
    pub(crate) fn set(&self, max: Option<u64>, wait: Duration) {
        self.max.store(max.unwrap_or(u64::MAX), Ordering::Relaxed);
        let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.wait_millis.store(millis, Ordering::Relaxed);
        self.freed.notify_waiters();
    }

    /// Bytes held now.
    pub(crate) fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Take `bytes` if, after that, at least as much is still free: a body
    /// may hold at most half of what is free when it comes, so large
    /// uploads can never take the last of the budget from small bodies (a
    /// flood of 30 MiB uploads leaves a quarter of 256 MiB free for the
    /// rest). A body alone is always let in.
    fn try_take(&self, bytes: u64) -> bool {
        let max = self.max.load(Ordering::Relaxed);
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |held| {
                let after = held.checked_add(bytes)?;
                let free_after = max.saturating_sub(after);
                (held == 0 || (after <= max && free_after >= bytes)).then_some(after)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: u64) {
        if bytes > 0 {
            self.held.fetch_sub(bytes, Ordering::AcqRel);
            self.freed.notify_waiters();
        }
    }
}

/// Bytes one request holds in the budget; given back when dropped (with the
/// request's body).
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: u64,
}

impl Reservation {
    pub(crate) fn new(budget: &Arc<BodyBudget>) -> Reservation {
        Reservation {
            budget: Arc::clone(budget),
            bytes: 0,
        }
    }

    /// Hold `bytes` more, waiting for room while other bodies give theirs
    /// back (the body is not read meanwhile, so its client is held back by
    /// flow control) up to the budget's wait. A body alone is always let in,
    /// so a body that fits the body-size limit is never refused by an idle
    /// server.
    pub(crate) async fn grow(&mut self, bytes: u64) -> Result<(), BudgetExhausted> {
        if bytes == 0 {
            return Ok(());
        }
        let budget = &*self.budget;
        // Room at once (always, without a cap): no timer is touched, so an
        // unbounded budget works on a runtime without one.
        if budget.try_take(bytes) {
            self.bytes += bytes;
            return Ok(());
        }
        let wait = Duration::from_millis(budget.wait_millis.load(Ordering::Relaxed));
        let taken = tokio::time::timeout(wait, async {
            loop {
                let freed = budget.freed.notified();
                if budget.try_take(bytes) {
                    return;
                }
                freed.await;
            }
        })
        .await;
        match taken {
            Ok(()) => {
                self.bytes += bytes;
                Ok(())
            }
            // One last look: room may have been freed as the deadline passed.
            Err(_) if budget.try_take(bytes) => {
                self.bytes += bytes;
                Ok(())
            }
            Err(_) => Err(BudgetExhausted),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bodies_wait_for_room_then_give_up() {
        let budget = BodyBudget::new(Some(100), Duration::from_millis(500));
        let mut first = Reservation::new(&budget);
        first.grow(40).await.unwrap();
        let mut second = Reservation::new(&budget);
        second.grow(30).await.unwrap();
        assert_eq!(budget.held(), 70);

        // Not half of what is free (30): waits, then gives up.
        let mut third = Reservation::new(&budget);
        assert_eq!(third.grow(20).await, Err(BudgetExhausted));
        // A small one still fits.
        third.grow(15).await.unwrap();
        assert_eq!(budget.held(), 85);

        // Room freed while waiting: let in.
        let waiter = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move {
                let mut fourth = Reservation::new(&budget);
                fourth.grow(25).await.map(|()| fourth)
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(first);
        let fourth = waiter.await.unwrap().unwrap();
        assert_eq!(budget.held(), 70);
        drop((second, fourth, third));
        assert_eq!(budget.held(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_alone_is_always_let_in_and_none_means_no_cap() {
        let budget = BodyBudget::new(Some(10), Duration::from_millis(1));
        let mut big = Reservation::new(&budget);
        big.grow(1_000).await.unwrap();
        assert_eq!(budget.held(), 1_000);
        drop(big);
        budget.set(None, Duration::from_millis(1));
        let mut a = Reservation::new(&budget);
        a.grow(u64::MAX / 2).await.unwrap();
        let mut b = Reservation::new(&budget);
        b.grow(u64::MAX / 4).await.unwrap();
    }
}
