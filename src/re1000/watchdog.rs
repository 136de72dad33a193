// SPDX-License-Identifier: GPL-2.0

//! The health watchdog: every [`PERIOD_MS`], a work item polls the device and the transmit
//! ring and reports what is wrong to the `hw` and `tx` reporters.
//!
//! A periodic timer queues the work item (reporting sleeps, so it cannot be done from the
//! timer); the work item runs on a queue of the device's own, which stopping drains.
//!
//! - `hw`: registers reading all ones (the device left the bus), bus mastering found off,
//!   reception found off on a running interface (the MAC reset behind the driver's back), or
//!   a test event asked by `devlink health test`;
//! - `tx`: descriptors pending while neither the device's head register nor the driver's
//!   clean-up moved for [`STALL_MS`], or a transmit timeout seen by the stack.
//!
//! Each run on a sound, running device also raises a receive interrupt, as the C driver's
//! watchdog does, so that a receive ring that failed allocations left empty is refilled.
//!
//! An error is reported once: the watchdog reports again only after the condition went away
//! (or the ring was reset) and came back.

use kernel::{
    devlink::health::Reporter,
    impl_has_hr_timer,
    net::dev::Device,
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc, ArcBorrow, Mutex,
    },
    time::{
        hrtimer::{
            ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerHandle,
            HrTimerPointer, HrTimerRestart, RelativeMode,
        },
        Delta, Instant, Monotonic,
    },
    workqueue::{self, impl_has_work, Affinity, OwnedQueue, Work, WorkItem},
};

use crate::{
    health::{HwCause, HwFault, HwReporter, Registers, TxCause, TxReporter, TxRingState, TxStall},
    nic::Nic,
    regs::*,
};

/// How often the device is polled.
pub(crate) const PERIOD_MS: i64 = 500;

/// How long a transmit ring may hold descriptors without progress.
pub(crate) const STALL_MS: i64 = 1000;

/// What the watchdog remembers from one run to the next.
struct Track {
    /// The device's head, the driver's next descriptor to clean and the ring resets when the
    /// transmit ring was last seen moving.
    progress: (u32, u32, u64),
    /// When it was last seen moving (or empty).
    since: Instant<Monotonic>,
    /// The current stall was reported.
    tx_reported: bool,
    /// The current device fault was reported.
    hw_reported: bool,
}

/// The watchdog of a device.
#[pin_data]
pub(crate) struct Watchdog {
    #[pin]
    timer: HrTimer<Watchdog>,
    #[pin]
    work: Work<Watchdog>,
    queue: OwnedQueue,
    /// Set by [`Watchdog::stop`]: the work item is no longer queued.
    stopping: Atomic<bool>,
    netdev: ARef<Device<Nic>>,
    tx: Arc<Reporter<TxReporter>>,
    hw: Arc<Reporter<HwReporter>>,
    #[pin]
    track: Mutex<Track>,
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Watchdog {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl_has_work! {
    impl HasWork<Self> for Watchdog { self.work }
}

/// A running watchdog; dropping it stops the watchdog.
pub(crate) struct Running {
    watchdog: Arc<Watchdog>,
    timer: ArcHrTimerHandle<Watchdog>,
}

impl Running {
    /// Stops the watchdog: no run starts after this returns, and the one in flight (with the
    /// report and recovery it makes) is over.
    pub(crate) fn stop(&mut self) {
        self.watchdog.stopping.store(true, Relaxed);
        // Waits for the timer callback, which may still queue the work item, then for that.
        self.timer.cancel();
        self.watchdog.queue.drain();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Watchdog {
    /// Starts watching `netdev` for the reporters `tx` and `hw`.
    pub(crate) fn start(
        netdev: ARef<Device<Nic>>,
        tx: Arc<Reporter<TxReporter>>,
        hw: Arc<Reporter<HwReporter>>,
    ) -> Result<Running> {
        let watchdog = Arc::pin_init(
            try_pin_init!(Self {
                timer <- HrTimer::new(),
                work <- workqueue::new_work!("re1000::Watchdog::work"),
                queue: OwnedQueue::new(c"re1000_health", Affinity::Unbound, 1)?,
                stopping: Atomic::new(false),
                netdev,
                tx,
                hw,
                track <- new_mutex!(Track {
                    progress: (0, 0, 0),
                    since: Instant::now(),
                    tx_reported: false,
                    hw_reported: false,
                }),
            }? Error),
            GFP_KERNEL,
        )?;
        let timer = watchdog.clone().start(Delta::from_millis(PERIOD_MS));
        Ok(Running { watchdog, timer })
    }

    /// Looks at the device, then at the transmit ring.
    fn check(&self) {
        let nic = self.netdev.data();
        // Looked at under the state lock, so that a recovery, `open` or `stop` is not seen
        // half done.
        let (up, fault) = {
            let state = nic.state().lock();
            if state.removing {
                return;
            }
            let fault = self.hw_fault(&nic, state.up);
            if matches!(fault, Some(None)) {
                nic.kick_rx(&state);
                // The device's error counters clear when read: gathered every period, as the
                // C driver's watchdog gathers its statistics, they reach `get_stats64`
                // (missed frames, CRC errors) whether or not anyone asks for a diagnosis.
                let _ = nic.update_error_counters();
            }
            (state.up, fault)
        };
        let mut track = self.track.lock();
        match fault {
            Some(None) => track.hw_reported = false,
            Some(Some(fault)) => {
                if !track.hw_reported || fault.cause == HwCause::Test {
                    track.hw_reported = fault.cause != HwCause::Test;
                    drop(track);
                    // Cancelled within the graceful period, or the recovery failed: the
                    // reporter's state and counters tell.
                    let _ = self.hw.report(fault.cause.message(), &fault);
                }
                return;
            }
            // Unbound: nothing to watch.
            None => return,
        }
        let timed_out = nic.take_tx_timed_out();
        if !up {
            return;
        }
        let Some(ring) = TxRingState::read(&self.netdev) else {
            return;
        };
        let resets = nic.health_counters().tx_resets;
        let progress = (ring.head, ring.next_to_clean, resets);
        if ring.pending == 0 || progress != track.progress {
            track.progress = progress;
            track.since = Instant::now();
            track.tx_reported = false;
            return;
        }
        let stuck = track.since.elapsed();
        if track.tx_reported || (stuck.as_millis() < STALL_MS && !timed_out) {
            return;
        }
        track.tx_reported = true;
        drop(track);
        let stall = TxStall {
            cause: if timed_out {
                TxCause::Timeout
            } else {
                TxCause::NoProgress
            },
            queue: 0,
            stuck_ms: stuck.as_millis() as u64,
            ring,
        };
        let _ = self.tx.report(c"TX ring stalled", &stall);
    }

    /// What is wrong with the device, running (`up`) or not: `Some(None)` if nothing, `None`
    /// if it is gone (unbound).
    fn hw_fault(&self, nic: &Nic, up: bool) -> Option<Option<HwFault>> {
        let hw = nic.hw();
        let status = hw.read(STATUS)?;
        let bus_master = hw.bus_master()?;
        let cause = if status == u32::MAX {
            HwCause::NotResponding
        } else if !bus_master {
            HwCause::BusMasterOff
        } else if up && hw.read(RCTL)? & RCTL_EN == 0 {
            HwCause::LostSetup
        } else if nic.take_test_event() {
            HwCause::Test
        } else {
            return Some(None);
        };
        Some(Some(HwFault {
            cause,
            registers: Registers::read(nic)?,
            bus_master,
        }))
    }
}

impl HrTimerCallback for Watchdog {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, mut ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        if this.stopping.load(Relaxed) {
            return HrTimerRestart::NoRestart;
        }
        // Already queued: that run covers this period too.
        let _ = this.queue.enqueue(Arc::<Self>::from(this));
        ctx.forward_now(Delta::from_millis(PERIOD_MS));
        HrTimerRestart::Restart
    }
}

impl WorkItem for Watchdog {
    type Pointer = Arc<Watchdog>;

    fn run(this: Arc<Watchdog>) {
        if !this.stopping.load(Relaxed) {
            this.check();
        }
    }
}
