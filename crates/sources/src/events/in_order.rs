//! A map run on worker threads whose results come back in input order, with
//! a fixed number of items in flight.
//!
//! Used for `.evtx` chunks: building a chunk's records is most of a scan's
//! time and chunks are independent, but records must reach the handler in
//! the order of the log, and a 4 GB log must not be read ahead into memory.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

/// Items each worker may hold (queued, being mapped, or mapped and not yet
/// taken): two keeps a worker busy while the caller takes its last result.
const PER_WORKER: usize = 2;

/// How many workers to use for a map over large items: one per core, at
/// most four (a scan reads one file; more threads would only contend with
/// whatever else the machine runs). Zero (map on the calling thread) when
/// there is one core.
pub(crate) fn workers() -> usize {
    match thread::available_parallelism().map_or(1, |n| n.get()) {
        1 => 0,
        n => n.min(4),
    }
}

/// Calls `take(map(item))` for each item, in the order of `items`. With
/// `workers` above zero, `map` runs on that many threads while the caller
/// pulls `items` and runs `take`; at most `workers * 2` items are between
/// `items` and `take` at any time. With zero, everything runs here.
///
/// A panic in `map` is raised again here once the workers have stopped.
pub(crate) fn map_in_order<I, R, M, T>(items: impl Iterator<Item = I>, workers: usize, map: M, mut take: T)
where
    I: Send,
    R: Send,
    M: Fn(I) -> R + Sync,
    T: FnMut(R),
{
    if workers == 0 {
        items.for_each(|item| take(map(item)));
        return;
    }
    thread::scope(|scope| {
        // Item n goes to worker n % workers, which maps its items in the
        // order it gets them, so result n is the next on that worker's
        // result channel. Both channels of a worker hold PER_WORKER items, and
        // no worker is given more than that before its oldest result is taken,
        // so neither side ever waits on a full channel.
        let mut lanes: Vec<(SyncSender<I>, Receiver<R>)> = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (item_tx, item_rx) = sync_channel::<I>(PER_WORKER);
            let (result_tx, result_rx) = sync_channel::<R>(PER_WORKER);
            let map = &map;
            scope.spawn(move || {
                for item in item_rx {
                    if result_tx.send(map(item)).is_err() {
                        break;
                    }
                }
            });
            lanes.push((item_tx, result_rx));
        }
        let limit = workers * PER_WORKER;
        let (mut sent, mut taken) = (0usize, 0usize);
        let mut items = items.fuse();
        loop {
            while sent - taken < limit {
                let Some(item) = items.next() else { break };
                if lanes[sent % workers].0.send(item).is_err() {
                    // That worker is gone (it panicked): the scope raises it.
                    return;
                }
                sent += 1;
            }
            if taken == sent {
                return;
            }
            let Ok(result) = lanes[taken % workers].1.recv() else { return };
            taken += 1;
            take(result);
        }
        // Leaving the scope drops the senders, which ends the workers' loops.
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_come_in_input_order_whatever_the_number_of_workers() {
        for workers in 0..5 {
            let mut out = Vec::new();
            // Later items finish first on their worker's turn: uneven work.
            map_in_order(
                0..200u64,
                workers,
                |n| {
                    if n % 7 == 0 {
                        thread::sleep(std::time::Duration::from_micros(200));
                    }
                    n * 3
                },
                |r| out.push(r),
            );
            assert_eq!(out, (0..200).map(|n| n * 3).collect::<Vec<_>>(), "{workers} workers");
        }
    }

    #[test]
    fn no_more_than_two_items_per_worker_are_in_flight() {
        let pulled = AtomicUsize::new(0);
        let mut most = 0;
        let mut taken = 0;
        let items = (0..100).inspect(|_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        });
        map_in_order(
            items,
            3,
            |n| n,
            |_| {
                taken += 1;
                most = most.max(pulled.load(Ordering::SeqCst) - taken);
            },
        );
        assert_eq!(taken, 100);
        // Pulled but not yet taken, counted right after a take.
        assert!(most < 3 * PER_WORKER, "{most} in flight");
    }

    #[test]
    fn a_panic_in_the_map_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            map_in_order(0..10, 2, |n| assert_ne!(n, 5, "item five"), |_| {});
        });
        assert!(caught.is_err());
    }
}
