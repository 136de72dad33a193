// SPDX-License-Identifier: GPL-2.0

//! devlink health reporters.
//!
//! A driver creates one reporter per kind of error of its device (firmware, TX, RX ...), on the
//! devlink instance or on a port. When the driver detects an error it calls
//! [`Reporter::report`]; the devlink core counts the error, puts the reporter in the error
//! state, stores a dump made by the `dump` operation unless one is stored already, and recovers
//! with the `recover` operation, subject to the reporter's graceful and burst periods and to
//! `auto_recover`. User space drives the same operations with `devlink health`.
//!
//! # Context and locking
//!
//! - Every operation runs in process context with the instance lock held, and may sleep.
//! - [`Reporter::report`] and [`Reporter::state_update`] sleep: call them from process context
//!   (a work item, a threaded interrupt handler). When the error shows in atomic context, queue
//!   a work item that reports. Dropping a reporter, a port or a
//!   [`Registration`](super::Registration), or the last reference to an instance, sleeps too.
//! - A report takes the instance lock. The abstraction knows when the current task holds it:
//!   through a [`Guard`](super::Guard), and in every operation, which the core calls with it
//!   held. There a report, a second [`Devlink::lock`] and the constructors that take the lock
//!   fail with [`EDEADLK`] (and a warning, once per object) instead of deadlocking; ports and
//!   reporters dropped there are destroyed under the lock held (a reporter dropped in one of its
//!   own operations is leaked with a warning instead, and a registration dropped under the lock
//!   stays registered until unbind, as nothing else is sound there).
//! - What the abstraction cannot see, and lockdep reports: the instance lock taken by C code
//!   outside of an operation, a lock that the current task holds and that another path takes
//!   inside the instance lock (RTNL: the kernel's order is the instance lock, then RTNL), and
//!   waiting under the lock for a task that reports (flushing a work item that reports).
//! - Reporters of an instance that is no longer registered do not report: [`Reporter::report`]
//!   returns [`ENODEV`], as the core must not notify user space about them.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)
//!
//! Reference: <https://docs.kernel.org/networking/devlink/devlink-health.html>

use crate::{
    bindings,
    devlink::{
        fmsg::{Builder, Object},
        instance::{refuse, Held, InstanceRef},
        port::{Port, PortInner},
        Devlink, Locked, Operations,
    },
    error::{from_err_ptr, from_result, to_result, VTABLE_DEFAULT_ERROR},
    fmt,
    net::netlink::ExtAck,
    prelude::*,
    sync::{atomic::Atomic, Arc},
    task::might_sleep,
    time::Delta,
};
use core::{marker::PhantomData, mem::ManuallyDrop, ops::Deref, ptr::NonNull};

/// The default periods of a reporter, as user space sees them in `devlink health show` until it
/// sets others.
///
/// - The graceful period is the minimum time between two recoveries: an error reported within
///   it is counted, but not recovered ([`Reporter::report`] returns [`ECANCELED`], with
///   `auto_recover` on; with it off, nothing is recovered anyway).
/// - The burst period, which follows each recovery that starts it, lets errors be recovered
///   before the graceful period begins.
///
/// The core keeps them in whole milliseconds: a period is rounded up to the next millisecond.
///
/// A burst period needs a graceful period, and a graceful period needs a `recover` operation;
/// the C core refuses other reporters with a warning. Here a [`Periods`] cannot hold a burst
/// period without a graceful period, and a reporter whose [`ReporterOps::PERIODS`] has a
/// graceful period but that has no `recover` operation does not compile.
///
/// # Examples
///
/// ```
/// use kernel::{devlink::health::Periods, time::Delta};
///
/// const P: Periods = Periods::new(Delta::from_millis(500), Delta::from_millis(100)).unwrap();
/// assert_eq!(P.graceful(), Delta::from_millis(500));
/// assert_eq!(P.burst(), Delta::from_millis(100));
///
/// assert_eq!(Periods::new(Delta::ZERO, Delta::ZERO), Some(Periods::NONE));
/// // No burst period without a graceful period, no negative period.
/// assert_eq!(Periods::new(Delta::ZERO, Delta::from_millis(100)), None);
/// assert_eq!(Periods::new(Delta::from_millis(-1), Delta::ZERO), None);
/// // Rounded up to whole milliseconds.
/// let p = Periods::new(Delta::from_micros(1500), Delta::ZERO).unwrap();
/// assert_eq!(p.graceful(), Delta::from_millis(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periods {
    /// As the C ops table has them.
    graceful_ms: u64,
    burst_ms: u64,
}

impl Periods {
    /// No graceful period, no burst period: every error is recovered.
    pub const NONE: Self = Self {
        graceful_ms: 0,
        burst_ms: 0,
    };

    /// A graceful period and a burst period (either may be zero), or `None` for a negative
    /// period or a burst period without a graceful period.
    pub const fn new(graceful: Delta, burst: Delta) -> Option<Self> {
        let (graceful, burst) = (graceful.as_nanos(), burst.as_nanos());
        if graceful < 0 || burst < 0 || (burst != 0 && graceful == 0) {
            return None;
        }
        Some(Self {
            graceful_ms: ceil_millis(graceful),
            burst_ms: ceil_millis(burst),
        })
    }

    /// Returns the graceful period.
    pub const fn graceful(&self) -> Delta {
        // Not truncated: at most `i64::MAX` nanoseconds, in milliseconds.
        Delta::from_millis(self.graceful_ms as i64)
    }

    /// Returns the burst period.
    pub const fn burst(&self) -> Delta {
        // As above.
        Delta::from_millis(self.burst_ms as i64)
    }
}

/// Nanoseconds (not negative) in milliseconds, rounded up; `const`, which
/// [`Delta::as_millis_ceil`] is not.
const fn ceil_millis(nanos: i64) -> u64 {
    (nanos as u64).div_ceil(1_000_000)
}

/// The state of a reporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No error, or the last one was recovered.
    Healthy,
    /// An error was reported and not recovered yet.
    Error,
}

/// The operations of a health reporter, implemented by the driver's data of the reporter.
///
/// An operation that is not implemented is absent from the C ops table, and the devlink core
/// answers user space with `EOPNOTSUPP` as for a C driver (`recover` from a report then leaves
/// the reporter in the error state). An operation returns an error to fail the request; its
/// errno and the message set in the [`ExtAck`] reach user space.
///
/// `recover` and `dump` receive the context given to [`Reporter::report`] when a report calls
/// them, and `None` when user space does (`devlink health recover`, `devlink health dump show`
/// with no dump stored).
///
/// See the [module documentation](self) for the context operations run in.
///
/// The data is `'static`, as the instance's (see [`Operations`]): a reporter may be leaked, and
/// the core then calls its operations for as long as the instance is registered.
#[vtable]
pub trait ReporterOps: Sized + Send + Sync + 'static {
    /// The name of the reporter, unique in its instance (or port).
    const NAME: &'static CStr;

    /// The name of this reporter, for a driver that has several reporters of this type on one
    /// instance (one per queue ...); [`ReporterOps::NAME`] unless overridden.
    ///
    /// Called once, when the reporter is created; the core keeps the string, which the data
    /// owns (it is never moved nor changed: reporters only lend their data shared).
    fn name(&self) -> &CStr {
        Self::NAME
    }

    /// The default graceful and burst periods.
    const PERIODS: Periods = Periods::NONE;

    /// The default graceful and burst periods of this reporter, for a driver that chooses them
    /// at run time (per device, from a module parameter ...); [`ReporterOps::PERIODS`] unless
    /// overridden.
    ///
    /// Called once, when the reporter is created. Creation fails with [`EINVAL`] if the periods
    /// have a graceful period and the reporter has no `recover` operation.
    fn periods(&self) -> Periods {
        Self::PERIODS
    }

    /// What the driver knows about an error it reports, handed to `recover` and `dump`.
    type Context;

    /// Recovers from the error.
    ///
    /// Called by a report (with its context), or for `devlink health recover` (without), in
    /// process context with the instance lock held; may sleep. The core counts a recovery and
    /// puts the reporter back in the healthy state when it succeeds.
    fn recover(
        &self,
        _devlink: &Locked<'_>,
        _ctx: Option<&Self::Context>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Dumps the state of the device, for `devlink health dump show`.
    ///
    /// Called by a report (with its context) when no dump is stored and `auto_dump` is on, or
    /// for `devlink health dump show` when none is stored (without), in process context with
    /// the instance lock held; may sleep. The core keeps the dump it gets until user space
    /// clears it, and sends it as a netlink dump, in as many messages as it takes.
    fn dump(
        &self,
        _devlink: &Locked<'_>,
        _fmsg: &mut Object<'_>,
        _ctx: Option<&Self::Context>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Describes the current state, for `devlink health diagnose`.
    ///
    /// Called in process context with the instance lock held; may sleep. The answer is one
    /// netlink message: a diagnose that does not fit fails with [`EMSGSIZE`].
    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        _fmsg: &mut Object<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Triggers a test error, for `devlink health test`; it should go through the same path as
    /// a real error, up to [`Reporter::report`], which must then run from elsewhere (a work
    /// item): this operation runs in process context with the instance lock held, where a
    /// report fails with [`EDEADLK`].
    fn test(&self, _devlink: &Locked<'_>, _extack: &mut ExtAck<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// What keeps a reporter's parent alive.
enum Parent {
    Instance(InstanceRef),
    Port(Arc<PortInner>),
}

impl Parent {
    #[inline]
    fn instance(&self) -> &InstanceRef {
        match self {
            Parent::Instance(i) => i,
            Parent::Port(p) => p.instance(),
        }
    }
}

/// A health reporter with driver data of type `R`; dropping it destroys the reporter, and its
/// stored dump.
///
/// It keeps its instance (and port) alive: they are freed (unregistered) after it. Dropping it
/// sleeps (it takes the instance lock, and the last reference to the instance may go with it):
/// process context only, checked by `might_sleep()`.
///
/// # Examples
///
/// A reporter whose errors are recovered by resetting a counter, and whose dump carries the
/// context of the error:
///
/// ```
/// use kernel::{
///     c_str, device, devlink, devlink::fmsg::Object, devlink::health, faux, net::netlink::ExtAck,
///     prelude::*, sync::atomic::{Atomic, Relaxed}, time::Delta,
/// };
///
/// struct Board;
///
/// #[vtable]
/// impl devlink::Operations for Board {}
///
/// struct Fw {
///     resets: Atomic<u32>,
/// }
///
/// /// What the driver saw when the firmware stopped.
/// struct Crash {
///     pc: u64,
/// }
///
/// #[vtable]
/// impl health::ReporterOps for Fw {
///     const NAME: &'static CStr = c_str!("fw");
///     const PERIODS: health::Periods =
///         health::Periods::new(Delta::from_millis(500), Delta::ZERO).unwrap();
///     type Context = Crash;
///
///     fn recover(
///         &self,
///         _devlink: &devlink::Locked<'_>,
///         _ctx: Option<&Crash>,
///         _extack: &mut ExtAck<'_>,
///     ) -> Result {
///         self.resets.fetch_add(1, Relaxed);
///         Ok(())
///     }
///
///     fn dump(
///         &self,
///         _devlink: &devlink::Locked<'_>,
///         fmsg: &mut Object<'_>,
///         ctx: Option<&Crash>,
///         _extack: &mut ExtAck<'_>,
///     ) -> Result {
///         fmsg.put_u32(c_str!("resets"), self.resets.load(Relaxed));
///         if let Some(crash) = ctx {
///             fmsg.put_object(c_str!("crash"), |o| {
///                 o.put_u64(c_str!("pc"), crash.pc);
///                 Ok(())
///             })?;
///         }
///         Ok(())
///     }
/// }
///
/// let fdev = faux::Registration::new(c_str!("rust-devlink-health-doc"), None)?;
/// let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = devlink::Unregistered::new(dev, Board)?;
/// let reg = devlink::Registration::new(dev, reg)?;
/// let fw = health::Reporter::new(&reg, Fw { resets: Atomic::new(0) })?;
///
/// fw.report(c_str!("firmware stopped"), &Crash { pc: 0x1000 })?;
/// assert_eq!(fw.resets.load(Relaxed), 1);
///
/// // Within the graceful period, the error is counted but not recovered.
/// assert_eq!(fw.report(c_str!("firmware stopped again"), &Crash { pc: 0x2000 }), Err(ECANCELED));
/// assert_eq!(fw.resets.load(Relaxed), 1);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `raw` is a reporter created for `R` in the instance (or port) held by `inner.parent`, with
/// `inner` as its private data and `ops` (if any) as its ops table, and not destroyed yet.
pub struct Reporter<R: ReporterOps> {
    raw: NonNull<bindings::devlink_health_reporter>,
    /// The private data of the C reporter. Leaked with `ops` if the reporter cannot be
    /// destroyed (see `Drop`).
    inner: ManuallyDrop<Pin<KBox<Inner<R>>>>,
    /// The reporter's own C ops table, if it has one; the core keeps a pointer to it.
    ops: ManuallyDrop<OwnOps>,
}

/// What the private pointer of a C reporter created by [`Reporter`] points to.
#[pin_data]
struct Inner<R> {
    /// Found by the operations, which note in its header that they run.
    parent: Parent,
    /// Whether a refusal was warned about, see [`refuse`].
    warned: Atomic<bool>,
    #[pin]
    data: R,
}

// SAFETY: A C reporter may be used and destroyed from any thread (in process context), and the
// driver's data is `Send`.
unsafe impl<R: ReporterOps> Send for Reporter<R> {}

// SAFETY: The driver's data is `Sync`. The C functions that a shared reporter calls may run
// concurrently as they may for C callers: `devlink_health_report()` takes the instance lock for
// the dump and the recovery, and, like `devlink_health_reporter_state_update()` and
// `devlink_health_reporter_recovery_done()`, updates the reporter's counters, state and
// timestamps without it, which the core accepts for every caller, C drivers and its own
// netlink handlers alike (statistics and a state word, each written whole).
unsafe impl<R: ReporterOps> Sync for Reporter<R> {}

/// The signature of the C functions creating a reporter on an instance.
type CreateFn = unsafe extern "C" fn(
    *mut bindings::devlink,
    *const bindings::devlink_health_reporter_ops,
    *mut c_void,
) -> *mut bindings::devlink_health_reporter;

/// The signature of the C functions creating a reporter on a port.
type PortCreateFn = unsafe extern "C" fn(
    *mut bindings::devlink_port,
    *const bindings::devlink_health_reporter_ops,
    *mut c_void,
) -> *mut bindings::devlink_health_reporter;

impl<R: ReporterOps> Reporter<R> {
    /// Creates a reporter on `devlink`, taking the instance lock.
    ///
    /// Fails with [`EEXIST`] if the instance has a reporter of that name, and with [`EDEADLK`]
    /// if the current task holds the instance lock (use [`Reporter::new_locked`]).
    pub fn new<T: Operations, E>(devlink: &Devlink<T>, data: impl PinInit<R, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        devlink
            .header()
            .refuse_if_held(devlink.as_raw(), fmt!("Reporter::new()"))?;
        Self::on_instance(
            InstanceRef::new(devlink),
            data,
            bindings::devlink_health_reporter_create,
        )
    }

    /// Creates a reporter on the instance whose lock is held: from a [`Guard`](super::Guard), or
    /// in a reporter operation.
    pub fn new_locked<E>(lock: &Locked<'_>, data: impl PinInit<R, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        Self::on_instance(lock.instance(), data, bindings::devl_health_reporter_create)
    }

    /// Creates a reporter on `port`, taking the instance lock.
    ///
    /// Fails with [`EEXIST`] if the port has a reporter of that name, and with [`EDEADLK`] if
    /// the current task holds the instance lock (use [`Reporter::new_on_port_locked`]).
    pub fn new_on_port<E>(port: &Port, data: impl PinInit<R, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        let instance = port.inner().instance();
        instance
            .header()
            .refuse_if_held(instance.as_raw(), fmt!("Reporter::new_on_port()"))?;
        Self::on_port(port, data, bindings::devlink_port_health_reporter_create)
    }

    /// Creates a reporter on `port` of the instance whose lock is held.
    ///
    /// Fails with [`EINVAL`] if the port belongs to another instance.
    pub fn new_on_port_locked<E>(
        lock: &Locked<'_>,
        port: &Port,
        data: impl PinInit<R, E>,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        if !port.belongs_to_locked(lock) {
            return Err(EINVAL);
        }
        Self::on_port(port, data, bindings::devl_port_health_reporter_create)
    }

    fn on_instance<E>(
        instance: InstanceRef,
        data: impl PinInit<R, E>,
        create: CreateFn,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        let raw = instance.as_raw();
        Self::create(data, Parent::Instance(instance), |ops, priv_| {
            // SAFETY: `raw` is valid (the parent holds it); `ops` and `priv_` live as
            // long as the reporter; the caller passes a function whose locking needs are
            // met.
            unsafe { create(raw, ops, priv_) }
        })
    }

    fn on_port<E>(port: &Port, data: impl PinInit<R, E>, create: PortCreateFn) -> Result<Self>
    where
        Error: From<E>,
    {
        let raw = port.as_raw();
        Self::create(data, Parent::Port(port.inner().clone()), |ops, priv_| {
            // SAFETY: `raw` is registered (the parent holds it); `ops` and `priv_` live as long
            // as the reporter; the caller passes a function whose locking needs are met.
            unsafe { create(raw, ops, priv_) }
        })
    }

    /// Creates the reporter in `parent` with `create`, which gets the C ops table and the private
    /// data, both living as long as the reporter (see `Drop`).
    fn create<E>(
        data: impl PinInit<R, E>,
        parent: Parent,
        create: impl FnOnce(
            *const bindings::devlink_health_reporter_ops,
            *mut c_void,
        ) -> *mut bindings::devlink_health_reporter,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        let inner = try_pin_init!(Inner {
            parent,
            warned: Atomic::new(false),
            data <- data,
        }? E);
        let inner = <KBox<Inner<R>> as InPlaceInit<Inner<R>>>::pin_init(inner, GFP_KERNEL)?;
        let ops = own_ops(&inner)?;
        let ops_ptr = ops.as_deref().map_or(&Vtable::<R>::OPS, |o| o);
        let raw = from_err_ptr(create(ops_ptr, inner_ptr(&inner)))?;
        // INVARIANT: Created above with `inner` as private data, in the instance (or port) that
        // `inner.parent` holds.
        Ok(Self {
            // SAFETY: `from_err_ptr` returned a pointer that is not an error; the C functions
            // do not return NULL.
            raw: unsafe { NonNull::new_unchecked(raw) },
            inner: ManuallyDrop::new(inner),
            ops: ManuallyDrop::new(ops),
        })
    }

    /// Reports an error, with what the driver knows about it in `ctx`.
    ///
    /// The core counts the error, puts the reporter in the error state and notifies user space.
    /// With `auto_recover` on, it stops there with [`ECANCELED`] if the previous error is not
    /// recovered yet or the graceful period is running. Otherwise it stores a dump if none is
    /// stored and `auto_dump` is on, and recovers if `auto_recover` is on: the result is then
    /// `recover`'s, and 0 with `auto_recover` off. `dump` and `recover` get `ctx`.
    ///
    /// Sleeps: process context only. Fails with [`EDEADLK`] (and a warning, once per reporter)
    /// without reporting if the current task holds the instance lock, which the core takes: in
    /// an operation of the same instance, or with a [`Guard`](super::Guard). Returns [`ENODEV`]
    /// without reporting if the instance is not registered.
    pub fn report(&self, msg: &CStr, ctx: &R::Context) -> Result {
        might_sleep();
        let instance = self.inner.parent.instance();
        if instance.header().held() != Held::No {
            self.refuse(fmt!(
                "report with the instance lock held: refused (EDEADLK)"
            ));
            return Err(EDEADLK);
        }
        instance.header().while_registered(|| {
            let ctx = core::ptr::from_ref(ctx).cast_mut().cast();
            // SAFETY: By the type invariant, `self.raw` is a live reporter of an instance that
            // stays registered during the call; `msg` is copied by the trace event; `ctx` is
            // only used during the call, by the operations of `R`, which read it as an
            // `R::Context`.
            to_result(unsafe {
                bindings::devlink_health_report(self.raw.as_ptr(), msg.as_char_ptr(), ctx)
            })
        })
    }

    /// Sets the state of the reporter without reporting, e.g. when the driver sees that an error
    /// went away by itself; user space is notified of a change.
    ///
    /// Sleeps, and returns [`ENODEV`] if the instance is no longer registered, as
    /// [`Reporter::report`] does. Unlike a report, it does not take the instance lock, and may
    /// be called with it held.
    pub fn state_update(&self, state: State) -> Result {
        might_sleep();
        let state = match state {
            State::Healthy => {
                bindings::devlink_health_reporter_state_DEVLINK_HEALTH_REPORTER_STATE_HEALTHY
            }
            State::Error => {
                bindings::devlink_health_reporter_state_DEVLINK_HEALTH_REPORTER_STATE_ERROR
            }
        };
        self.inner.parent.instance().header().while_registered(|| {
            // SAFETY: By the type invariant, `self.raw` is a live reporter of an instance that
            // stays registered during the call.
            unsafe { bindings::devlink_health_reporter_state_update(self.raw.as_ptr(), state) };
            Ok(())
        })
    }

    /// Counts a recovery that the driver made by itself, outside of `recover`.
    ///
    /// It starts the graceful period as a recovery by the core does. The state is left
    /// unchanged: follow with [`Reporter::state_update`].
    pub fn recovery_done(&self) {
        // SAFETY: By the type invariant, `self.raw` is a live reporter.
        unsafe { bindings::devlink_health_reporter_recovery_done(self.raw.as_ptr()) };
    }

    /// Returns the name of the reporter, as the core has it.
    pub fn name(&self) -> &CStr {
        match &*self.ops {
            // SAFETY: The table's name is the NUL-terminated string that the data returned at
            // creation, and owns for as long as the reporter lives.
            Some(ops) => unsafe { CStr::from_char_ptr(ops.name) },
            None => R::NAME,
        }
    }

    /// Returns the driver's data of the reporter.
    pub fn data(&self) -> &R {
        &self.inner.data
    }

    /// Warns, once per reporter, that what `what` names was refused.
    fn refuse(&self, what: fmt::Arguments<'_>) {
        refuse(
            self.inner.parent.instance().as_raw(),
            &self.inner.warned,
            fmt!(
                "health reporter \"{}\": {what}",
                self.name().to_str().unwrap_or("?")
            ),
        );
    }

    /// Returns the raw `struct devlink_health_reporter`.
    pub fn as_raw(&self) -> *mut bindings::devlink_health_reporter {
        self.raw.as_ptr()
    }
}

impl<R: ReporterOps> Deref for Reporter<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.inner.data
    }
}

impl<R: ReporterOps> Drop for Reporter<R> {
    /// Destroys the reporter and its stored dump; sleeps.
    ///
    /// With the instance lock held through a [`Guard`](super::Guard), the reporter is destroyed
    /// under it. In
    /// an operation of this very reporter it is leaked instead, with a warning: the core and
    /// the operation still use it. In an operation of another reporter or of the instance, it
    /// is destroyed under the lock the core holds.
    fn drop(&mut self) {
        might_sleep();
        let raw = self.raw.as_ptr();
        match self.inner.parent.instance().header().held() {
            // SAFETY: By the type invariant, `raw` is live; the current task does not hold the
            // instance lock, which the function takes.
            Held::No => unsafe { bindings::devlink_health_reporter_destroy(raw) },
            Held::ByOp(running) if running == raw => {
                self.refuse(fmt!("dropped in its own operation: leaked"));
                return;
            }
            // SAFETY: By the type invariant, `raw` is live; the current task holds the
            // instance lock, and no operation of this reporter runs.
            Held::ByGuard | Held::ByOp(_) => unsafe { bindings::devl_health_reporter_destroy(raw) },
        }
        // SAFETY: The core no longer calls the operations nor uses the ops table, so both may
        // go; the instance (and port) that `inner.parent` holds go after the reporter.
        unsafe {
            ManuallyDrop::drop(&mut self.inner);
            ManuallyDrop::drop(&mut self.ops);
        }
    }
}

/// The C ops table of a reporter whose periods or name differ from [`ReporterOps::PERIODS`] and
/// [`ReporterOps::NAME`].
type OwnOps = Option<KBox<bindings::devlink_health_reporter_ops>>;

/// Returns the reporter's own C ops table if its periods or its name are not the constant ones.
fn own_ops<R: ReporterOps>(data: &Inner<R>) -> Result<OwnOps> {
    let periods = data.data.periods();
    let name = data.data.name();
    if periods == R::PERIODS && core::ptr::eq(name, R::NAME) {
        return Ok(None);
    }
    // The check that `Vtable::OPS` makes at compile time.
    if periods.graceful_ms != 0 && !R::HAS_RECOVER {
        return Err(EINVAL);
    }
    let ops = bindings::devlink_health_reporter_ops {
        // The data, which owns the name, lives in its box as long as the reporter, and is only
        // lent shared.
        name: name.as_char_ptr().cast_mut(),
        default_graceful_period: periods.graceful_ms,
        default_burst_period: periods.burst_ms,
        ..Vtable::<R>::OPS
    };
    Ok(Some(KBox::new(ops, GFP_KERNEL)?))
}

fn inner_ptr<R>(inner: &Pin<KBox<Inner<R>>>) -> *mut c_void {
    core::ptr::from_ref::<Inner<R>>(inner).cast_mut().cast()
}

/// The C ops table of reporters with driver data `R`.
pub(crate) struct Vtable<R>(PhantomData<R>);

impl<R: ReporterOps> Vtable<R> {
    pub(crate) const OPS: bindings::devlink_health_reporter_ops = {
        assert!(
            R::PERIODS.graceful_ms == 0 || R::HAS_RECOVER,
            "a graceful period needs a `recover` operation"
        );
        bindings::devlink_health_reporter_ops {
            name: R::NAME.to_bytes_with_nul().as_ptr().cast_mut(),
            recover: if R::HAS_RECOVER {
                Some(Self::recover)
            } else {
                None
            },
            dump: if R::HAS_DUMP { Some(Self::dump) } else { None },
            diagnose: if R::HAS_DIAGNOSE {
                Some(Self::diagnose)
            } else {
                None
            },
            test: if R::HAS_TEST { Some(Self::test) } else { None },
            default_graceful_period: R::PERIODS.graceful_ms,
            default_burst_period: R::PERIODS.burst_ms,
        }
    };

    /// Returns the private data of a reporter of this table.
    ///
    /// # Safety
    ///
    /// `reporter` must be a live reporter created with this table by [`Reporter`], and the
    /// returned reference not used after it is destroyed.
    unsafe fn inner<'a>(reporter: *mut bindings::devlink_health_reporter) -> &'a Inner<R> {
        // SAFETY: `Reporter` created it with a pointer to its `Inner<R>` as private data, which
        // lives until the reporter is destroyed.
        unsafe { &*bindings::devlink_health_reporter_priv(reporter).cast::<Inner<R>>() }
    }

    /// Returns the context given to [`Reporter::report`], if the core got one.
    ///
    /// # Safety
    ///
    /// `ctx` must be null or the context that [`Reporter::report`] passed, still in the call.
    unsafe fn context<'a>(ctx: *mut c_void) -> Option<&'a R::Context> {
        // SAFETY: Only `Reporter::report` passes a context to the core for these reporters, a
        // reference to an `R::Context` that lives during the call.
        (!ctx.is_null()).then(|| unsafe { &*ctx.cast::<R::Context>() })
    }

    /// Runs operation `op` of `reporter`, noting in its instance's header that it runs, with
    /// the driver's data, the proof of the lock and the extack; returns its result as an errno.
    ///
    /// # Safety
    ///
    /// `reporter` must be a live reporter of this table, whose instance lock the core holds
    /// during the call; `extack` must be null or valid, and only used by this call.
    unsafe fn run(
        reporter: *mut bindings::devlink_health_reporter,
        extack: *mut bindings::netlink_ext_ack,
        op: impl FnOnce(&R, &Locked<'_>, &mut ExtAck<'_>) -> Result,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller; the reporter lives during the call.
        let inner = unsafe { Self::inner(reporter) };
        let instance = inner.parent.instance();
        let _op = instance.header().enter_op(reporter);
        // SAFETY: The core holds the instance lock during the call, and the reporter a
        // reference to the instance.
        let locked = unsafe { Locked::from_raw(instance.as_raw()) };
        // SAFETY: Guaranteed by the caller.
        let mut extack = unsafe { ExtAck::from_raw(extack) };
        from_result(|| {
            op(&inner.data, &locked, &mut extack)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the devlink core for a reporter of this table, with the instance lock held,
    /// with the context of a report or null, and a valid or null extack.
    unsafe extern "C" fn recover(
        reporter: *mut bindings::devlink_health_reporter,
        ctx: *mut c_void,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller.
        let ctx = unsafe { Self::context(ctx) };
        // SAFETY: Guaranteed by the caller.
        unsafe { Self::run(reporter, extack, |data, dl, ext| data.recover(dl, ctx, ext)) }
    }

    /// # Safety
    ///
    /// As for `recover`, and `fmsg` is a valid message only used by this call.
    unsafe extern "C" fn dump(
        reporter: *mut bindings::devlink_health_reporter,
        fmsg: *mut bindings::devlink_fmsg,
        ctx: *mut c_void,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller.
        let ctx = unsafe { Self::context(ctx) };
        // SAFETY: `fmsg` is valid (not null) and only used by this call.
        let mut fmsg = unsafe { Builder::new(NonNull::new_unchecked(fmsg)) };
        // SAFETY: Guaranteed by the caller.
        unsafe {
            Self::run(reporter, extack, |data, dl, ext| {
                data.dump(dl, &mut Object::new(&mut fmsg), ctx, ext)?;
                fmsg.result()
            })
        }
    }

    /// # Safety
    ///
    /// As for `dump`.
    unsafe extern "C" fn diagnose(
        reporter: *mut bindings::devlink_health_reporter,
        fmsg: *mut bindings::devlink_fmsg,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: `fmsg` is valid (not null) and only used by this call.
        let mut fmsg = unsafe { Builder::new(NonNull::new_unchecked(fmsg)) };
        // SAFETY: Guaranteed by the caller.
        unsafe {
            Self::run(reporter, extack, |data, dl, ext| {
                data.diagnose(dl, &mut Object::new(&mut fmsg), ext)?;
                fmsg.result()
            })
        }
    }

    /// # Safety
    ///
    /// As for `recover`.
    unsafe extern "C" fn test(
        reporter: *mut bindings::devlink_health_reporter,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller.
        unsafe { Self::run(reporter, extack, |data, dl, ext| data.test(dl, ext)) }
    }
}

#[macros::kunit_tests(rust_devlink_health)]
mod tests {
    use super::*;
    use crate::{
        device, devlink,
        devlink::port::Flavour,
        faux,
        sync::atomic::{Atomic, Relaxed},
    };

    struct Board;

    #[vtable]
    impl devlink::Operations for Board {}

    /// A reporter without operations.
    struct Bare;

    #[vtable]
    impl ReporterOps for Bare {
        const NAME: &'static CStr = c"bare";
        type Context = ();
    }

    /// A reporter without `recover` that asks for a graceful period at run time.
    struct BadPeriods;

    #[vtable]
    impl ReporterOps for BadPeriods {
        const NAME: &'static CStr = c"bad_periods";
        type Context = ();

        fn periods(&self) -> Periods {
            Periods::new(Delta::from_millis(100), Delta::ZERO).unwrap()
        }
    }

    /// A reporter with every operation, counting calls and keeping the context last seen.
    struct Full {
        recovers: Atomic<u32>,
        dumps: Atomic<u32>,
        last_ctx: Atomic<u32>,
        fail_recover: Atomic<bool>,
    }

    impl Default for Full {
        fn default() -> Self {
            Self {
                recovers: Atomic::new(0),
                dumps: Atomic::new(0),
                last_ctx: Atomic::new(0),
                fail_recover: Atomic::new(false),
            }
        }
    }

    impl Default for Eager {
        fn default() -> Self {
            Self {
                recovers: Atomic::new(0),
                dumps: Atomic::new(0),
                periods: Periods::NONE,
            }
        }
    }

    /// Marks "called without a context" in `Full::last_ctx`.
    const NO_CTX: u32 = u32::MAX;

    #[vtable]
    impl ReporterOps for Full {
        const NAME: &'static CStr = c"full";
        const PERIODS: Periods =
            Periods::new(Delta::from_millis(60_000), Delta::from_millis(200)).unwrap();
        type Context = u32;

        fn recover(
            &self,
            _devlink: &Locked<'_>,
            ctx: Option<&u32>,
            extack: &mut ExtAck<'_>,
        ) -> Result {
            self.last_ctx.store(ctx.copied().unwrap_or(NO_CTX), Relaxed);
            if self.fail_recover.load(Relaxed) {
                extack.set_message(c"recovery refused for the test");
                return Err(EIO);
            }
            self.recovers.fetch_add(1, Relaxed);
            Ok(())
        }

        fn dump(
            &self,
            _devlink: &Locked<'_>,
            fmsg: &mut Object<'_>,
            ctx: Option<&u32>,
            _extack: &mut ExtAck<'_>,
        ) -> Result {
            self.dumps.fetch_add(1, Relaxed);
            fmsg.put_u32(c"ctx", ctx.copied().unwrap_or(NO_CTX));
            Ok(())
        }

        fn diagnose(
            &self,
            _devlink: &Locked<'_>,
            _fmsg: &mut Object<'_>,
            _extack: &mut ExtAck<'_>,
        ) -> Result {
            Ok(())
        }

        fn test(&self, _devlink: &Locked<'_>, _extack: &mut ExtAck<'_>) -> Result {
            Ok(())
        }
    }

    /// A reporter recovering every error (no graceful period unless `periods` says) and dumping.
    struct Eager {
        recovers: Atomic<u32>,
        dumps: Atomic<u32>,
        periods: Periods,
    }

    #[vtable]
    impl ReporterOps for Eager {
        const NAME: &'static CStr = c"eager";
        type Context = ();

        fn periods(&self) -> Periods {
            self.periods
        }

        fn recover(
            &self,
            _devlink: &Locked<'_>,
            _ctx: Option<&()>,
            _extack: &mut ExtAck<'_>,
        ) -> Result {
            self.recovers.fetch_add(1, Relaxed);
            Ok(())
        }

        fn dump(
            &self,
            _devlink: &Locked<'_>,
            _fmsg: &mut Object<'_>,
            _ctx: Option<&()>,
            _extack: &mut ExtAck<'_>,
        ) -> Result {
            self.dumps.fetch_add(1, Relaxed);
            Ok(())
        }
    }

    fn instance(name: &CStr) -> Result<(faux::Registration, devlink::Registration<Board>)> {
        let fdev = faux::Registration::new(name, None)?;
        let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
        let reg = devlink::Registration::new(dev, devlink::Unregistered::new(dev, Board)?)?;
        Ok((fdev, reg))
    }

    #[test]
    fn absent_ops_are_null() {
        let ops = Vtable::<Bare>::OPS;
        assert!(ops.recover.is_none());
        assert!(ops.dump.is_none());
        assert!(ops.diagnose.is_none());
        assert!(ops.test.is_none());
        assert_eq!(ops.default_graceful_period, 0);
        assert_eq!(ops.default_burst_period, 0);
    }

    #[test]
    fn present_ops_and_periods() {
        let ops = Vtable::<Full>::OPS;
        assert!(ops.recover.is_some());
        assert!(ops.dump.is_some());
        assert!(ops.diagnose.is_some());
        assert!(ops.test.is_some());
        assert_eq!(ops.default_graceful_period, 60_000);
        assert_eq!(ops.default_burst_period, 200);
        // SAFETY: The name is a NUL-terminated constant.
        assert_eq!(unsafe { CStr::from_char_ptr(ops.name) }, c"full");
    }

    #[test]
    fn create_destroy() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-create")?;
        let full = Reporter::new(&reg, Full::default())?;
        assert_eq!(Reporter::new(&reg, Full::default()).err(), Some(EEXIST));
        drop(full);
        let _full = Reporter::new(&reg, Full::default())?;
        let _bare = Reporter::new_locked(reg.lock()?.locked(), Bare)?;

        // Port reporters have names of their own.
        let port = Port::new(&reg, 0, Flavour::Physical { number: 0 })?;
        let _on_port = Reporter::new_on_port(&port, Full::default())?;
        assert_eq!(
            Reporter::new_on_port(&port, Full::default()).err(),
            Some(EEXIST)
        );
        Ok(())
    }

    #[test]
    fn report_passes_context() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-report")?;
        let full = Reporter::new(&reg, Full::default())?;
        full.report(c"kunit error", &7)?;
        assert_eq!(full.dumps.load(Relaxed), 1);
        assert_eq!(full.recovers.load(Relaxed), 1);
        assert_eq!(full.last_ctx.load(Relaxed), 7);
        Ok(())
    }

    /// What user space gets: the errno and the extack message, through the C ops table.
    #[test]
    fn errno_and_message_reach_the_caller() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-extack")?;
        let full = Reporter::new(&reg, Full::default())?;
        full.fail_recover.store(true, Relaxed);
        let recover = Vtable::<Full>::OPS.recover.ok_or(EINVAL)?;
        let mut raw = bindings::netlink_ext_ack::default();
        let _guard = reg.lock()?;
        // SAFETY: As the core calls it for a request of user space: a live reporter of this
        // table, no context, a valid extack, the instance lock held.
        let ret = unsafe { recover(full.as_raw(), core::ptr::null_mut(), &mut raw) };
        assert_eq!(ret, EIO.to_errno());
        assert_eq!(full.last_ctx.load(Relaxed), NO_CTX);
        // SAFETY: The op set a NUL-terminated static message.
        let msg = unsafe { CStr::from_char_ptr(raw._msg) };
        assert_eq!(msg, c"recovery refused for the test");
        Ok(())
    }

    #[test]
    fn burst_then_graceful_period() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-graceful")?;
        let full = Reporter::new(&reg, Full::default())?;
        full.report(c"first", &1)?;
        // Within the burst period that the first recovery started: recovered.
        full.report(c"second", &2)?;
        assert_eq!(full.recovers.load(Relaxed), 2);
        // After it, within the graceful period: counted, not recovered.
        crate::time::delay::fsleep(crate::time::Delta::from_millis(300));
        assert_eq!(full.report(c"third", &3), Err(ECANCELED));
        assert_eq!(full.recovers.load(Relaxed), 2);
        assert_eq!(full.last_ctx.load(Relaxed), 2);
        Ok(())
    }

    #[test]
    fn failed_recover_leaves_error() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-fail")?;
        let full = Reporter::new(&reg, Full::default())?;
        full.fail_recover.store(true, Relaxed);
        assert_eq!(full.report(c"first", &1), Err(EIO));
        // In the error state, a new error is counted but not recovered.
        full.fail_recover.store(false, Relaxed);
        assert_eq!(full.report(c"second", &2), Err(ECANCELED));
        assert_eq!(full.last_ctx.load(Relaxed), 1);
        assert_eq!(full.recovers.load(Relaxed), 0);
        // Healthy again, the next error is recovered.
        full.state_update(State::Healthy)?;
        full.report(c"third", &3)?;
        assert_eq!(full.recovers.load(Relaxed), 1);
        assert_eq!(full.last_ctx.load(Relaxed), 3);
        Ok(())
    }

    #[test]
    fn one_stored_dump() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-dump")?;
        let eager = Reporter::new(&reg, Eager::default())?;
        for _ in 0..3 {
            eager.report(c"again", &())?;
        }
        assert_eq!(eager.recovers.load(Relaxed), 3);
        assert_eq!(eager.dumps.load(Relaxed), 1);
        Ok(())
    }

    /// Periods chosen at run time apply to that reporter only.
    #[test]
    fn run_time_periods() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-periods")?;
        let slow = Eager {
            periods: Periods::new(Delta::from_millis(60_000), Delta::ZERO).unwrap(),
            ..Eager::default()
        };
        let slow = Reporter::new(&reg, slow)?;
        slow.report(c"first", &())?;
        assert_eq!(slow.report(c"second", &()), Err(ECANCELED));
        assert_eq!(slow.recovers.load(Relaxed), 1);

        let port = Port::new(&reg, 0, Flavour::Physical { number: 0 })?;
        let fast = Reporter::new_on_port(&port, Eager::default())?;
        fast.report(c"first", &())?;
        fast.report(c"second", &())?;
        assert_eq!(fast.recovers.load(Relaxed), 2);

        // Refused before the C core would warn.
        assert_eq!(Reporter::new(&reg, BadPeriods).err(), Some(EINVAL));
        Ok(())
    }

    /// What the C core's trace points tell about the reporter named `bare`: the state is private
    /// to `net/devlink/health.c`, and no C function returns it, but
    /// `devlink_health_reporter_state_update()` traces a change of state, and only a change:
    /// updating to a state tells whether the reporter was in it. `devlink_health_report()` traces
    /// each report as it counts it.
    struct BareTrace;

    /// Reports traced.
    static BARE_REPORTS: Atomic<u32> = Atomic::new(0);
    /// State changes traced, and the last new state (1: error).
    static BARE_CHANGES: Atomic<u32> = Atomic::new(0);
    static BARE_LAST_STATE: Atomic<u32> = Atomic::new(u32::MAX);

    /// Whether a trace point's `reporter_name` argument is `bare`'s.
    ///
    /// # Safety
    ///
    /// `name` is a NUL-terminated string.
    unsafe fn is_bare(name: *const crate::ffi::c_char) -> bool {
        // SAFETY: By the function's safety requirement.
        let name = unsafe { CStr::from_char_ptr(name) };
        name == Bare::NAME
    }

    /// The probe of `devlink_health_report`.
    ///
    /// # Safety
    ///
    /// Called by the trace point, with the arguments of its `TP_PROTO`.
    unsafe extern "C" fn bare_report_probe(
        _data: *mut c_void,
        _devlink: *const bindings::devlink,
        name: *const crate::ffi::c_char,
        _msg: *const crate::ffi::c_char,
    ) {
        // SAFETY: The trace point passes the reporter's name, a C string.
        if unsafe { is_bare(name) } {
            BARE_REPORTS.fetch_add(1, Relaxed);
        }
    }

    /// The probe of `devlink_health_reporter_state_update`.
    ///
    /// # Safety
    ///
    /// Called by the trace point, with the arguments of its `TP_PROTO`.
    unsafe extern "C" fn bare_state_probe(
        _data: *mut c_void,
        _devlink: *const bindings::devlink,
        name: *const crate::ffi::c_char,
        new_state: bool,
    ) {
        // SAFETY: The trace point passes the reporter's name, a C string.
        if unsafe { is_bare(name) } {
            BARE_CHANGES.fetch_add(1, Relaxed);
            BARE_LAST_STATE.store(u32::from(new_state), Relaxed);
        }
    }

    /// The trace point named `name`, found by `for_each_kernel_tracepoint()`.
    fn tracepoint(name: &CStr) -> Result<NonNull<bindings::tracepoint>> {
        struct Search<'a> {
            name: &'a CStr,
            found: *mut bindings::tracepoint,
        }
        /// Keeps `tp` if it has the name searched for.
        ///
        /// # Safety
        ///
        /// `tp` is a live trace point, `data` the `Search` of `tracepoint()`.
        unsafe extern "C" fn visit(tp: *mut bindings::tracepoint, data: *mut c_void) {
            // SAFETY: `data` is the `Search` that `tracepoint()` passes, alive and not otherwise
            // used during the walk.
            let search = unsafe { &mut *data.cast::<Search<'_>>() };
            // SAFETY: The walk passes live trace points, whose names are C strings.
            if unsafe { CStr::from_char_ptr((*tp).name) } == search.name {
                search.found = tp;
            }
        }
        let mut search = Search {
            name,
            found: core::ptr::null_mut(),
        };
        // SAFETY: `visit` has the expected signature and only uses `search`, which outlives the
        // call.
        unsafe {
            bindings::for_each_kernel_tracepoint(
                Some(visit),
                core::ptr::from_mut(&mut search).cast(),
            )
        };
        NonNull::new(search.found).ok_or(ENOENT)
    }

    impl BareTrace {
        /// The trace points and their probes.
        fn points() -> [(&'static CStr, *mut c_void); 2] {
            [
                (c"devlink_health_report", bare_report_probe as *mut c_void),
                (
                    c"devlink_health_reporter_state_update",
                    bare_state_probe as *mut c_void,
                ),
            ]
        }

        /// Registers the probes, with the counts at zero.
        fn new() -> Result<Self> {
            BARE_REPORTS.store(0, Relaxed);
            BARE_CHANGES.store(0, Relaxed);
            BARE_LAST_STATE.store(u32::MAX, Relaxed);
            let points = Self::points();
            for (i, (name, probe)) in points.iter().enumerate() {
                let registered = tracepoint(name).and_then(|tp| {
                    // SAFETY: `tp` is a kernel trace point, `probe` a function with its
                    // prototype (the arguments of `TP_PROTO` after the data pointer), which
                    // only touches statics: it may run until unregistered and after.
                    to_result(unsafe {
                        bindings::tracepoint_probe_register(
                            tp.as_ptr(),
                            *probe,
                            core::ptr::null_mut(),
                        )
                    })
                });
                if let Err(e) = registered {
                    Self::unregister(&points[..i]);
                    return Err(e);
                }
            }
            Ok(Self)
        }

        fn unregister(points: &[(&'static CStr, *mut c_void)]) {
            for (name, probe) in points {
                if let Ok(tp) = tracepoint(name) {
                    // SAFETY: The probe was registered on `tp` with this data by `new`.
                    unsafe {
                        bindings::tracepoint_probe_unregister(
                            tp.as_ptr(),
                            *probe,
                            core::ptr::null_mut(),
                        )
                    };
                }
            }
        }
    }

    impl Drop for BareTrace {
        fn drop(&mut self) {
            Self::unregister(&Self::points());
        }
    }

    /// A reporter without `recover` is left in the error state by its reports (nothing recovers
    /// it, and a report asks nothing of it: 0 with nothing called), each report counted, until
    /// the driver sets its state.
    #[test]
    fn without_recover_stays_in_error() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-bare")?;
        let bare = Reporter::new(&reg, Bare)?;
        let _trace = BareTrace::new()?;
        bare.report(c"first", &())?;
        bare.report(c"second", &())?;
        assert_eq!(BARE_REPORTS.load(Relaxed), 2);
        // Still in error: setting it healthy is a change, traced with the new state.
        assert_eq!(BARE_CHANGES.load(Relaxed), 0);
        bare.state_update(State::Healthy)?;
        assert_eq!(BARE_CHANGES.load(Relaxed), 1);
        assert_eq!(BARE_LAST_STATE.load(Relaxed), 0);
        // Healthy now: the same update again changes nothing.
        bare.state_update(State::Healthy)?;
        assert_eq!(BARE_CHANGES.load(Relaxed), 1);
        // A report puts it back in error, where an update to error changes nothing.
        bare.report(c"third", &())?;
        bare.state_update(State::Error)?;
        assert_eq!(BARE_CHANGES.load(Relaxed), 1);
        assert_eq!(BARE_REPORTS.load(Relaxed), 3);
        Ok(())
    }

    #[test]
    fn unregistered_instance_does_not_report() -> Result {
        let (fdev, reg) = instance(c"rust-devlink-kunit-unreg")?;
        let port = Port::new(&reg, 3, Flavour::Physical { number: 3 })?;
        let full = Reporter::new(&reg, Full::default())?;
        let on_port = Reporter::new_on_port(&port, Eager::default())?;
        drop(reg);
        assert_eq!(full.report(c"late", &1), Err(ENODEV));
        assert_eq!(on_port.report(c"late", &()), Err(ENODEV));
        assert_eq!(full.state_update(State::Error), Err(ENODEV));
        assert_eq!(full.dumps.load(Relaxed), 0);
        // The reporters keep the port and the instance until they go.
        drop(port);
        drop(full);
        drop(on_port);
        drop(fdev);
        Ok(())
    }

    #[test]
    fn port_reporter_keeps_port() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-port")?;
        let port = Port::new(&reg, 1, Flavour::Physical { number: 1 })?;
        let on_port = Reporter::new_on_port(&port, Eager::default())?;
        drop(port);
        on_port.report(c"port error", &())?;
        assert_eq!(on_port.recovers.load(Relaxed), 1);
        // The index is still taken until the reporter goes.
        assert_eq!(
            Port::new(&reg, 1, Flavour::Physical { number: 1 }).err(),
            Some(EBUSY)
        );
        drop(on_port);
        let _again = Port::new(&reg, 1, Flavour::Physical { number: 1 })?;
        Ok(())
    }

    #[test]
    fn locked_port_of_other_instance() -> Result {
        let (_fdev_a, a) = instance(c"rust-devlink-kunit-a")?;
        let (_fdev_b, b) = instance(c"rust-devlink-kunit-b")?;
        let port = Port::new(&a, 0, Flavour::Physical { number: 0 })?;
        let guard = b.lock()?;
        assert_eq!(
            Reporter::new_on_port_locked(guard.locked(), &port, Bare).err(),
            Some(EINVAL)
        );
        drop(guard);
        let _r = Reporter::new_on_port_locked(a.lock()?.locked(), &port, Bare)?;
        Ok(())
    }

    /// Ports and reporters dropped under a guard, however they were made, with early returns
    /// among them: destroyed under the lock, where the locking variants would deadlock.
    #[test]
    fn dropped_under_the_lock() -> Result {
        fn two(guard: &devlink::Guard<'_, Board>) -> Result<(Reporter<Full>, Reporter<Full>)> {
            let first = Reporter::new_locked(guard.locked(), Full::default())?;
            let second = Reporter::new_locked(guard.locked(), Full::default())?;
            Ok((first, second))
        }

        let (_fdev, reg) = instance(c"rust-devlink-kunit-locked")?;
        let unlocked = Reporter::new(&reg, Eager::default())?;
        let unlocked_port = Port::new(&reg, 1, Flavour::Physical { number: 1 })?;
        let guard = reg.lock()?;
        // The second name is taken: `?` drops the first reporter with the guard held.
        assert_eq!(two(&guard).err(), Some(EEXIST));
        let port = Port::new_locked(guard.locked(), 0, Flavour::Physical { number: 0 })?;
        let on_port = Reporter::new_on_port_locked(guard.locked(), &port, Bare)?;
        let bare = Reporter::new_locked(guard.locked(), Bare)?;
        drop(on_port);
        drop(port);
        drop(unlocked);
        drop(unlocked_port);
        drop(guard);
        // Made under the guard, dropped after it.
        drop(bare);
        // All gone: their names and indices are free.
        let _full = Reporter::new(&reg, Full::default())?;
        let _eager = Reporter::new(&reg, Eager::default())?;
        let _bare = Reporter::new(&reg, Bare)?;
        let _p0 = Port::new(&reg, 0, Flavour::Physical { number: 0 })?;
        let _p1 = Port::new(&reg, 1, Flavour::Physical { number: 1 })?;
        Ok(())
    }

    /// Under a guard, what would take the lock again fails with `EDEADLK` and does nothing.
    #[test]
    fn refused_under_the_lock() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-deadlk")?;
        let full = Reporter::new(&reg, Full::default())?;
        let port = Port::new(&reg, 0, Flavour::Physical { number: 0 })?;
        let guard = reg.lock()?;
        assert_eq!(full.report(c"under the lock", &1), Err(EDEADLK));
        assert_eq!(reg.lock().err(), Some(EDEADLK));
        assert_eq!(Reporter::new(&reg, Bare).err(), Some(EDEADLK));
        assert_eq!(Reporter::new_on_port(&port, Bare).err(), Some(EDEADLK));
        assert_eq!(
            Port::new(&reg, 1, Flavour::Physical { number: 1 }).err(),
            Some(EDEADLK)
        );
        assert_eq!(full.dumps.load(Relaxed), 0);
        assert_eq!(full.recovers.load(Relaxed), 0);
        // It does not take the lock, so it is allowed.
        full.state_update(State::Healthy)?;
        drop(guard);
        // The refusals left nothing behind: the report goes through, the names are free.
        full.report(c"after the lock", &2)?;
        assert_eq!(full.recovers.load(Relaxed), 1);
        assert_eq!(full.last_ctx.load(Relaxed), 2);
        let _bare = Reporter::new(&reg, Bare)?;
        let _p1 = Port::new(&reg, 1, Flavour::Physical { number: 1 })?;
        Ok(())
    }

    /// A reporter whose `test` operation reports to, and drops, another reporter of its
    /// instance, and can drop itself through `me`.
    #[pin_data]
    struct Relay {
        #[pin]
        other: crate::sync::Mutex<Option<Reporter<Eager>>>,
        #[pin]
        me: crate::sync::Mutex<Option<Arc<Reporter<Relay>>>>,
        /// The errno of the report to `other`.
        report: Atomic<i32>,
        /// Whether the operation found the lock held (1) or not (0).
        held: Atomic<i32>,
    }

    impl Relay {
        fn new(other: Reporter<Eager>) -> impl PinInit<Self> {
            pin_init!(Relay {
                other <- crate::new_mutex!(Some(other)),
                me <- crate::new_mutex!(None),
                report: Atomic::new(0),
                held: Atomic::new(0),
            })
        }
    }

    #[vtable]
    impl ReporterOps for Relay {
        const NAME: &'static CStr = c"relay";
        type Context = ();

        fn test(&self, _devlink: &Locked<'_>, _extack: &mut ExtAck<'_>) -> Result {
            if let Some(other) = self.other.lock().take() {
                let ret = other.report(c"from an operation", &());
                self.report
                    .store(ret.err().map_or(0, |e| e.to_errno()), Relaxed);
                let held = other.inner.parent.instance().header().held();
                self.held.store(i32::from(held != Held::No), Relaxed);
                // Destroyed under the lock that the core holds.
                drop(other);
            }
            // The last reference to this very reporter: leaked, not destroyed under the core.
            let me = self.me.lock().take();
            drop(me);
            Ok(())
        }
    }

    /// Calls the `test` operation of `reporter` as the core does for `devlink health test`.
    fn call_test<R: ReporterOps>(
        reg: &devlink::Registration<Board>,
        reporter: *mut bindings::devlink_health_reporter,
    ) -> Result {
        let test = Vtable::<R>::OPS.test.ok_or(EINVAL)?;
        let mut raw = bindings::netlink_ext_ack::default();
        let _guard = reg.lock()?;
        // SAFETY: As the core calls it: a live reporter of this table, a valid extack, the
        // instance lock held.
        let ret = unsafe { test(reporter, &mut raw) };
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(())
        }
    }

    /// In an operation, a report fails with `EDEADLK`, another reporter is destroyed under the
    /// core's lock, and the reporter itself, dropped there, is leaked rather than freed under
    /// the core. (The test leaves that reporter and its instance behind on purpose.)
    #[test]
    fn in_an_operation() -> Result {
        let (fdev, reg) = instance(c"rust-devlink-kunit-in-op")?;
        let eager = Reporter::new(&reg, Eager::default())?;
        let relay = Arc::new(Reporter::new(&reg, Relay::new(eager))?, GFP_KERNEL)?;
        let raw = relay.as_raw();
        call_test::<Relay>(&reg, raw)?;
        assert_eq!(relay.report.load(Relaxed), EDEADLK.to_errno());
        assert_eq!(relay.held.load(Relaxed), 1);
        // `eager` is gone: its name is free.
        drop(Reporter::new(&reg, Eager::default())?);

        // Now the operation drops the last reference to its own reporter.
        *relay.me.lock() = Some(relay.clone());
        drop(relay);
        call_test::<Relay>(&reg, raw)?;
        // Still there: the name is taken.
        let eager = Reporter::new(&reg, Eager::default())?;
        assert_eq!(Reporter::new(&reg, Relay::new(eager)).err(), Some(EEXIST));
        drop(reg);
        drop(fdev);
        Ok(())
    }

    /// A reporter type of which an instance has one reporter per queue.
    struct Queue {
        name: crate::str::CString,
    }

    impl Queue {
        fn new(index: u32) -> Result<Self> {
            Ok(Self {
                name: crate::str::CString::try_from_fmt(fmt!("tx{index}"))?,
            })
        }
    }

    #[vtable]
    impl ReporterOps for Queue {
        const NAME: &'static CStr = c"tx";
        type Context = ();

        fn name(&self) -> &CStr {
            &self.name
        }
    }

    #[test]
    fn names_chosen_at_run_time() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-names")?;
        let tx0 = Reporter::new(&reg, Queue::new(0)?)?;
        let tx1 = Reporter::new(&reg, Queue::new(1)?)?;
        assert_eq!(tx0.name(), c"tx0");
        assert_eq!(tx1.name(), c"tx1");
        // Names are unique in an instance, whatever the type.
        assert_eq!(Reporter::new(&reg, Queue::new(1)?).err(), Some(EEXIST));
        // The constant is only the default: no reporter took it.
        let tx = crate::str::CString::try_from_fmt(fmt!("tx"))?;
        let _tx = Reporter::new(&reg, Queue { name: tx })?;
        tx1.report(c"queue 1 stuck", &())?;
        drop(tx1);
        let _again = Reporter::new(&reg, Queue::new(1)?)?;
        Ok(())
    }

    /// The registered state is device-managed: unbinding the device unregisters the instance,
    /// even if the registration is still there (or leaked).
    #[test]
    fn unbind_unregisters() -> Result {
        let (fdev, reg) = instance(c"rust-devlink-kunit-unbind")?;
        let full = Reporter::new(&reg, Full::default())?;
        assert!(reg.is_registered());
        // Unbinds the faux device.
        drop(fdev);
        assert!(!reg.is_registered());
        assert_eq!(full.report(c"after unbind", &1), Err(ENODEV));
        assert_eq!(full.dumps.load(Relaxed), 0);
        // Dropping the registration now finds nothing left to do.
        drop(reg);
        drop(full);
        Ok(())
    }

    /// A reporter whose dump puts a string of 64 KiB through the C API directly, past the
    /// check of the Rust builder, to test the core's own.
    struct RawLongString {
        dumps: Atomic<u32>,
        text: KVec<u8>,
    }

    #[vtable]
    impl ReporterOps for RawLongString {
        const NAME: &'static CStr = c"raw_long_string";
        type Context = ();

        fn dump(
            &self,
            _devlink: &Locked<'_>,
            fmsg: &mut Object<'_>,
            _ctx: Option<&()>,
            _extack: &mut ExtAck<'_>,
        ) -> Result {
            self.dumps.fetch_add(1, Relaxed);
            // SAFETY: The message is valid during the operation, and `text` NUL-terminated.
            unsafe { bindings::devlink_fmsg_string_put(fmsg.raw_for_tests(), self.text.as_ptr()) };
            Ok(())
        }
    }

    /// The C fix "devlink: health: fix the length of fmsg strings of 64 KiB or more": the core
    /// fails a dump with a string whose length wraps its `u16` (and stores none, so the next
    /// report dumps again); without the fix it stored the string cut, without its NUL, for
    /// `nla_put_string()` to read past when the dump is sent.
    #[test]
    fn core_refuses_strings_of_64k() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-fmsg-64k")?;
        let mut text = KVec::new();
        text.extend_with(65535, b'x', GFP_KERNEL)?;
        text.push(0, GFP_KERNEL)?;
        let raw = Reporter::new(
            &reg,
            RawLongString {
                dumps: Atomic::new(0),
                text,
            },
        )?;
        raw.report(c"first", &())?;
        raw.report(c"second", &())?;
        assert_eq!(raw.dumps.load(Relaxed), 2);
        Ok(())
    }
}
