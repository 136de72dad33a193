// SPDX-License-Identifier: GPL-2.0

//! The health reporter of each port, `link`, with all the operations but `test`, and its
//! knobs under `ports/<index>/health/`. Its `test` operation makes a fake event that goes the
//! way of a real one: a work item reports it, as the operation itself runs with the instance
//! lock held, which a report takes. Knobs: `break_health` (as the instance's), `fail_recover`,
//! `recover_delay_ms`, which makes `recover` sleep (under the instance lock, as the core
//! calls it) so that reports, dumps and user requests meet, and `state`, which sets the state
//! without a report (`healthy` or `error`; reading lists both).

use kernel::{
    debugfs::{Dir, File},
    devlink::{fmsg::Object, health, port::Port, Locked},
    net::netlink::ExtAck,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Relaxed},
        new_mutex, Arc, Mutex,
    },
    time::{delay::fsleep, Delta},
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
        let delay = self.recover_delay_ms.load(Relaxed);
        if delay != 0 {
            fsleep(Delta::from_millis(delay.into()));
        }
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

    fn dump(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        ctx: Option<&Break>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
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
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        fmsg.put_u32(c"port", self.index)
            .put_u32(c"recoveries", self.recoveries.load(Relaxed))
            .put_u32(c"recover_delay_ms", self.recover_delay_ms.load(Relaxed))
            .put_bool(c"fail_recover", self.fail_recover.load(Relaxed));
        if let Some(msg) = self.recovered.lock().get() {
            fmsg.put_str(c"recovered_break_message", msg);
        }
        Ok(())
    }

    fn test(&self, _devlink: &Locked<'_>, _extack: &mut ExtAck<'_>) -> Result {
        self.trigger.fire()
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

fn show_state(
    _reporter: &Arc<LinkReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    writeln!(f, "healthy error")
}

/// `state`: sets the state of the reporter without a report, as a driver does when an error
/// goes away by itself (`healthy`) or is found by other means (`error`).
fn store_state(reporter: &Arc<LinkReporter>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 16];
    let len = reader.len();
    if len > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..len])?;
    let state = match knobs::value(&buf[..len])? {
        "healthy" => health::State::Healthy,
        "error" => health::State::Error,
        _ => return Err(EINVAL),
    };
    reporter.state_update(state)
}

/// A port, its reporter and its knobs.
pub(crate) struct PortHealth {
    // Files first, then the folders, the reporter, the port.
    _files: [Pin<KBox<File<Arc<LinkReporter>>>>; 4],
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
