//! The compile queue: compiles run on the blocking pool, a few at a time, so a flood of
//! uploads cannot take every core or the machine's memory. Uploads share their slots and wait
//! a bounded time for one (then they are busy); the compiles a seller's active policy needs
//! (claims, activations, warm-up) have a slot of their own, so uploads never delay them. A
//! compile whose request went away still holds its slot until it ends: what bounds memory is
//! the compiles running, not the requests waiting for them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Who is waiting for a compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An upload, a check or a dry run of raw bytes: refused when the queue is full.
    Upload,
    /// A claim, an activation or the warm-up of an active module: waits its turn whatever
    /// the queue holds, because a seller's active policy must be used.
    Needed,
}

/// The queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Compile slots and the uploads' compiles in flight (running or waiting).
pub struct Queue {
    slots: Arc<Semaphore>,
    needed: Arc<Semaphore>,
    in_flight: Arc<AtomicUsize>,
    capacity: usize,
    wait: Duration,
}

/// Counts a compile in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Queue {
    /// A queue of `slots` upload compiles at once, `waiting` more that may queue behind them
    /// for at most `wait`, and one slot for needed compiles.
    pub fn new(slots: usize, waiting: usize, wait: Duration) -> Queue {
        let slots = slots.max(1);
        Queue {
            slots: Arc::new(Semaphore::new(slots)),
            needed: Arc::new(Semaphore::new(1)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            capacity: slots + waiting,
            wait,
        }
    }

    /// Runs `job` on the blocking pool when a slot is free. `None` when the runtime dropped it.
    pub async fn run<T: Send + 'static>(
        &self,
        priority: Priority,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, Busy> {
        let (permit, in_flight) = match priority {
            Priority::Needed => match self.needed.clone().acquire_owned().await {
                Ok(permit) => (permit, None),
                Err(_) => return Ok(None),
            },
            Priority::Upload => {
                let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
                let in_flight = InFlight(self.in_flight.clone());
                if before >= self.capacity {
                    return Err(Busy);
                }
                match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
                    Ok(Ok(permit)) => (permit, Some(in_flight)),
                    Ok(Err(_)) => return Ok(None),
                    Err(_) => return Err(Busy),
                }
            }
        };
        let handle = tokio::task::spawn_blocking(move || {
            let _held = (permit, in_flight);
            job()
        });
        Ok(handle.await.ok())
    }

    /// Compiles in flight, running or waiting.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn uploads_past_the_capacity_are_busy_and_needed_compiles_wait() {
        let queue = Arc::new(Queue::new(1, 1, Duration::from_secs(60)));
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let blocked = {
            let (queue, gate) = (queue.clone(), gate.clone());
            tokio::spawn(async move {
                queue
                    .run(Priority::Upload, move || {
                        gate.lock().unwrap().recv().is_ok()
                    })
                    .await
            })
        };
        while queue.in_flight() < 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let waiting = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.run(Priority::Upload, || 2).await })
        };
        while queue.in_flight() < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(queue.run(Priority::Upload, || 3).await, Err(Busy));
        // A needed compile has its own slot: it runs while the uploads' slot is held.
        assert_eq!(queue.run(Priority::Needed, || 4).await, Ok(Some(4)));
        release.send(()).unwrap();
        assert_eq!(blocked.await.unwrap(), Ok(Some(true)));
        assert_eq!(waiting.await.unwrap(), Ok(Some(2)));
        assert_eq!(queue.in_flight(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upload_waits_a_bounded_time_for_its_slot() {
        let queue = Arc::new(Queue::new(1, 4, Duration::from_millis(50)));
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let blocked = {
            let (queue, gate) = (queue.clone(), gate.clone());
            tokio::spawn(async move {
                queue
                    .run(Priority::Upload, move || {
                        gate.lock().unwrap().recv().is_ok()
                    })
                    .await
            })
        };
        while queue.in_flight() < 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(queue.run(Priority::Upload, || 2).await, Err(Busy));
        release.send(()).unwrap();
        assert_eq!(blocked.await.unwrap(), Ok(Some(true)));
    }
}
