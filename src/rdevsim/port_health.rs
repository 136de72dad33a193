// SPDX-License-Identifier: GPL-2.0

//! The health reporter of each port, `link`, with all the operations but `test`, and its
//! knobs under `ports/<index>/health/`. Its `test` operation makes a fake event that goes the
//! way of a real one: a work item reports it, as the operation itself runs with the instance
//! lock held, which a report takes. Knobs: `break_health` (as the instance's), `fail_recover`,
//! `recover_delay_ms`, which makes `recover` sleep (under the instance lock, as the core
//! calls it) so that reports, dumps and user requests meet, `recover_hold`, which makes
//! `recover` wait (10 s at most) until it is set to `N`, `recovering`, how many recoveries run
//! now (so that a test acts while one surely does), `fail_ops`, which makes `dump` (1),
//! `diagnose` (2) and `test` (4) fail, and `state`, which sets the state without a report
//! (`healthy` or `error`), or counts a recovery the driver made by itself (`recovered`).

use kernel::{
    debugfs::{Dir, File},
    devlink::{fmsg::Object, health, port::Port, Locked},
    net::netlink::ExtAck,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Relaxed},
        new_condvar, new_mutex, Arc, CondVar, CondVarTimeoutResult, Mutex,
    },
    time::{delay::fsleep, msecs_to_jiffies, Delta},
    uaccess::UserSliceReader,
    workqueue::{self, impl_has_work, Affinity, OwnedQueue, Work, WorkItem},
};

use crate::{
    health::{break_health, show_fail_recover, store_fail_recover, FailRecover},
    knobs,
    message::{Break, LastMessage},
};

/// The longest `recover_delay_ms`.
const RECOVER_DELAY_MAX_MS: u32 = 10_000;

/// The longest a recovery waits for `recover_hold` to be let go: a test that fails to let go
/// holds the instance lock no longer than this.
const RECOVER_HOLD_MAX_MS: u32 = 10_000;

/// Reports the fake events of `test` from a work item.
#[pin_data]
pub(crate) struct Trigger {
    #[pin]
    work: Work<Trigger>,
    queue: OwnedQueue,
    #[pin]
    state: Mutex<TriggerState>,
}

struct TriggerState {
    /// The reporter to report to; set once it exists, taken at teardown.
    reporter: Option<Arc<LinkReporter>>,
    /// Set at teardown: no more events.
    stopping: bool,
}

impl_has_work! {
    impl HasWork<Self> for Trigger { self.work }
}

impl Trigger {
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                work <- workqueue::new_work!("rdevsim::Trigger::work"),
                queue: OwnedQueue::new(c"rdevsim_test", Affinity::Unbound, 1)?,
                state <- new_mutex!(TriggerState {
                    reporter: None,
                    stopping: false,
                }),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Makes a fake event; a pending one covers a second request.
    fn fire(self: &Arc<Self>) -> Result {
        let state = self.state.lock();
        if state.stopping {
            return Err(ENODEV);
        }
        let _ = self.queue.enqueue(self.clone());
        Ok(())
    }

    /// Stops the events and waits for those in flight.
    fn stop(&self) {
        let reporter = {
            let mut state = self.state.lock();
            state.stopping = true;
            state.reporter.take()
        };
        drop(reporter);
        self.queue.drain();
    }
}

impl WorkItem for Trigger {
    type Pointer = Arc<Trigger>;

    fn run(this: Arc<Trigger>) {
        let reporter = this.state.lock().reporter.clone();
        if let Some(reporter) = reporter {
            if let Ok(ctx) = Break::new(c"test event") {
                // Cancelled within a graceful period, or failing to recover: as for a real
                // event, the reporter's counters tell.
                let _ = reporter.report(ctx.message(), &ctx);
            }
        }
    }
}

/// The `link` reporter of a port.
#[pin_data]
pub(crate) struct Link {
    index: u32,
    trigger: Arc<Trigger>,
    fail_recover: Atomic<bool>,
    recover_delay_ms: Atomic<u32>,
    recoveries: Atomic<u32>,
    /// The recoveries running now.
    recovering: Atomic<u32>,
    /// The operations made to fail: [`FAIL_DUMP`], [`FAIL_DIAGNOSE`], [`FAIL_TEST`].
    fail_ops: Atomic<u32>,
    /// Recoveries wait while this is set, until `let_go`.
    #[pin]
    hold: Mutex<bool>,
    #[pin]
    let_go: CondVar,
    /// The message of the last report recovered.
    #[pin]
    recovered: Mutex<LastMessage>,
}

impl Link {
    fn new(index: u32, trigger: Arc<Trigger>) -> impl PinInit<Self> {
        pin_init!(Self {
            index,
            trigger,
            fail_recover: Atomic::new(false),
            recover_delay_ms: Atomic::new(0),
            recoveries: Atomic::new(0),
            recovering: Atomic::new(0),
            fail_ops: Atomic::new(0),
            hold <- new_mutex!(false),
            let_go <- new_condvar!(),
            recovered <- new_mutex!(LastMessage::new()),
        })
    }
}

#[vtable]
impl health::ReporterOps for Link {
    const NAME: &'static CStr = c"link";
    type Context = Break;

    fn recover(
        &self,
        _devlink: &Locked<'_>,
        ctx: Option<&Break>,
        extack: &mut ExtAck<'_>,
    ) -> Result {
        self.recovering.fetch_add(1, Relaxed);
        let ret = self.recover_slowly(ctx, extack);
        self.recovering.fetch_sub(1, Relaxed);
        ret
    }

    fn dump(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        ctx: Option<&Break>,
        extack: &mut ExtAck<'_>,
    ) -> Result {
        self.fail(FAIL_DUMP, extack, c"rdevsim: dump set to fail", EIO)?;
        fmsg.put_u32(c"port", self.index);
        if let Some(ctx) = ctx {
            fmsg.put_str(c"break_message", ctx.message());
        }
        fmsg.put_u32(c"recoveries", self.recoveries.load(Relaxed));
        Ok(())
    }

    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        extack: &mut ExtAck<'_>,
    ) -> Result {
        self.fail(
            FAIL_DIAGNOSE,
            extack,
            c"rdevsim: diagnose set to fail",
            ENODATA,
        )?;
        fmsg.put_u32(c"port", self.index)
            .put_u32(c"recoveries", self.recoveries.load(Relaxed))
            .put_u32(c"recover_delay_ms", self.recover_delay_ms.load(Relaxed))
            .put_bool(c"fail_recover", self.fail_recover.load(Relaxed));
        if let Some(msg) = self.recovered.lock().get() {
            fmsg.put_str(c"recovered_break_message", msg);
        }
        Ok(())
    }

    fn test(&self, _devlink: &Locked<'_>, extack: &mut ExtAck<'_>) -> Result {
        self.fail(FAIL_TEST, extack, c"rdevsim: test set to fail", EBUSY)?;
        self.trigger.fire()
    }
}

/// `fail_ops` bits: the operations that fail, each with an errno and a message of its own.
const FAIL_DUMP: u32 = 1;
const FAIL_DIAGNOSE: u32 = 2;
const FAIL_TEST: u32 = 4;

impl Link {
    /// Fails with `err` and `msg` if `fail_ops` has `bit`.
    fn fail(&self, bit: u32, extack: &mut ExtAck<'_>, msg: &'static CStr, err: Error) -> Result {
        if self.fail_ops.load(Relaxed) & bit != 0 {
            extack.set_message(msg);
            return Err(err);
        }
        Ok(())
    }

    /// Waits while `recover_hold` is set, for `RECOVER_HOLD_MAX_MS` at most, or until a signal.
    fn wait_while_held(&self) {
        let mut left = msecs_to_jiffies(RECOVER_HOLD_MAX_MS);
        let mut held = self.hold.lock();
        while *held {
            match self.let_go.wait_interruptible_timeout(&mut held, left) {
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                _ => break,
            }
        }
    }

    fn recover_slowly(&self, ctx: Option<&Break>, extack: &mut ExtAck<'_>) -> Result {
        let delay = self.recover_delay_ms.load(Relaxed);
        if delay != 0 {
            fsleep(Delta::from_millis(delay.into()));
        }
        self.wait_while_held();
        if self.fail_recover.load(Relaxed) {
            extack.set_message(c"rdevsim: User setup the recover to fail for testing purposes");
            return Err(EINVAL);
        }
        if let Some(ctx) = ctx {
            self.recovered.lock().set(ctx.message())?;
        }
        self.recoveries.fetch_add(1, Relaxed);
        Ok(())
    }
}

type LinkReporter = health::Reporter<Link>;

impl FailRecover for Link {
    fn fail_recover(&self) -> &Atomic<bool> {
        &self.fail_recover
    }
}

fn show_recover_delay(
    reporter: &Arc<LinkReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    writeln!(f, "{}", reporter.recover_delay_ms.load(Relaxed))
}

fn store_recover_delay(reporter: &Arc<LinkReporter>, reader: &mut UserSliceReader) -> Result {
    let ms = knobs::read_u32(reader)?;
    if ms > RECOVER_DELAY_MAX_MS {
        return Err(EINVAL);
    }
    reporter.recover_delay_ms.store(ms, Relaxed);
    Ok(())
}

fn show_fail_ops(
    reporter: &Arc<LinkReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    writeln!(f, "{}", reporter.fail_ops.load(Relaxed))
}

fn store_fail_ops(reporter: &Arc<LinkReporter>, reader: &mut UserSliceReader) -> Result {
    let ops = knobs::read_u32(reader)?;
    if ops & !(FAIL_DUMP | FAIL_DIAGNOSE | FAIL_TEST) != 0 {
        return Err(EINVAL);
    }
    reporter.fail_ops.store(ops, Relaxed);
    Ok(())
}

fn show_recover_hold(
    reporter: &Arc<LinkReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    let held = *reporter.hold.lock();
    writeln!(f, "{}", if held { 'Y' } else { 'N' })
}

fn store_recover_hold(reporter: &Arc<LinkReporter>, reader: &mut UserSliceReader) -> Result {
    let hold = knobs::read_bool(reader)?;
    *reporter.hold.lock() = hold;
    if !hold {
        reporter.let_go.notify_all();
    }
    Ok(())
}

fn show_recovering(
    reporter: &Arc<LinkReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    writeln!(f, "{}", reporter.recovering.load(Relaxed))
}

fn show_state(
    _reporter: &Arc<LinkReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    writeln!(f, "healthy error recovered")
}

/// `state`: sets the state of the reporter without a report, as a driver does when an error
/// goes away by itself (`healthy`) or is found by other means (`error`); or counts a recovery
/// that the driver made by itself, which starts the graceful period, then sets the state
/// healthy (`recovered`).
fn store_state(reporter: &Arc<LinkReporter>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 16];
    let len = reader.len();
    if len > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..len])?;
    let state = match knobs::value(&buf[..len])? {
        "healthy" => health::State::Healthy,
        "recovered" => {
            reporter.recovery_done();
            health::State::Healthy
        }
        "error" => health::State::Error,
        _ => return Err(EINVAL),
    };
    reporter.state_update(state)
}

/// A port, its reporter and its knobs.
pub(crate) struct PortHealth {
    // Files first, then the folders, the reporter, the port.
    _files: [Pin<KBox<File<Arc<LinkReporter>>>>; 7],
    _health_dir: Dir,
    _dir: Dir,
    _reporter: Arc<LinkReporter>,
    _port: Port,
    trigger: Arc<Trigger>,
}

impl Drop for PortHealth {
    fn drop(&mut self) {
        // Before the reporter goes: no event is reported after this.
        self.trigger.stop();
    }
}

impl PortHealth {
    /// Adds a `link` reporter to `port`, with its knobs under `ports/<index>/health/` of
    /// `ports_dir`.
    pub(crate) fn new(port: Port, ports_dir: &Dir) -> Result<Self> {
        let index = port.index();
        let trigger = Trigger::new()?;
        let reporter = Arc::new(
            health::Reporter::new_on_port(&port, Link::new(index, trigger.clone()))?,
            GFP_KERNEL,
        )?;
        let name = CString::try_from_fmt(fmt!("{index}"))?;
        let dir = ports_dir.subdir(&name);
        let health_dir = dir.subdir(c"health");
        let files = [
            KBox::pin_init(
                health_dir.write_callback_file(
                    c"break_health",
                    reporter.clone(),
                    &break_health::<Link>,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                health_dir.read_write_callback_file(
                    c"fail_recover",
                    reporter.clone(),
                    &show_fail_recover::<Link>,
                    &store_fail_recover::<Link>,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                health_dir.read_write_callback_file(
                    c"recover_delay_ms",
                    reporter.clone(),
                    &show_recover_delay,
                    &store_recover_delay,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                health_dir.read_write_callback_file(
                    c"state",
                    reporter.clone(),
                    &show_state,
                    &store_state,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                health_dir.read_write_callback_file(
                    c"fail_ops",
                    reporter.clone(),
                    &show_fail_ops,
                    &store_fail_ops,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                health_dir.read_write_callback_file(
                    c"recover_hold",
                    reporter.clone(),
                    &show_recover_hold,
                    &store_recover_hold,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                health_dir.read_callback_file(c"recovering", reporter.clone(), &show_recovering),
                GFP_KERNEL,
            )?,
        ];
        // Last, when nothing can fail any more: the trigger and the reporter hold each other
        // until `PortHealth::drop` stops the trigger, so an error after this would leak both,
        // the port and the instance. A `devlink health test` before this finds no reporter and
        // makes no event.
        trigger.state.lock().reporter = Some(reporter.clone());
        Ok(Self {
            _files: files,
            _health_dir: health_dir,
            _dir: dir,
            _reporter: reporter,
            _port: port,
            trigger,
        })
    }
}
