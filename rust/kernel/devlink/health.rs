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
//! - Every operation runs in process context with the instance lock held, and may sleep. It must
//!   not report, nor drop a reporter or a port of its instance.
//! - [`Reporter::report`] and [`Reporter::state_update`] sleep: call them from process context
//!   (a work item, a threaded interrupt handler), never with the instance lock held. When the
//!   error shows in atomic context, queue a work item that reports.
//! - Reporters of an instance that is no longer registered do not report: [`Reporter::report`]
//!   returns [`ENODEV`], as the core must not notify user space about them.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)
//!
//! Reference: <https://docs.kernel.org/networking/devlink/devlink-health.html>

use crate::{
    bindings,
    devlink::{
        fmsg::{Object, RawFmsg},
        instance::InstanceRef,
        port::{Port, PortInner},
        Devlink, Guard, Operations,
    },
    error::{from_err_ptr, from_result, VTABLE_DEFAULT_ERROR},
    net::netlink::ExtAck,
    prelude::*,
    sync::Arc,
    task::might_sleep,
};
use core::{marker::PhantomData, num::NonZeroU64, ops::Deref, ptr::NonNull};

/// The default periods of a reporter, in milliseconds, as user space sees them in
/// `devlink health show` until it sets others.
///
/// - The graceful period is the minimum time between two recoveries: an error reported within
///   it is counted, but not recovered ([`Reporter::report`] returns [`ECANCELED`]).
/// - The burst period, which follows each recovery that starts it, lets errors be recovered
///   before the graceful period begins.
///
/// A burst period needs a graceful period, and a graceful period needs a `recover` operation;
/// the C core refuses other reporters with a warning. Here a [`Periods`] cannot hold a burst
/// period without a graceful period, and a reporter whose [`ReporterOps::PERIODS`] has a
/// graceful period but that has no `recover` operation does not compile.
///
/// # Examples
///
/// ```
/// use core::num::NonZeroU64;
/// use kernel::devlink::health::Periods;
///
/// const P: Periods = Periods::new(NonZeroU64::new(500).unwrap(), 100);
/// assert_eq!((P.graceful_ms(), P.burst_ms()), (500, 100));
///
/// // From values known at run time, such as a module parameter.
/// assert_eq!(Periods::from_millis(500, 100), Some(P));
/// assert_eq!(Periods::from_millis(0, 0), Some(Periods::NONE));
/// assert_eq!(Periods::from_millis(0, 100), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periods {
    graceful_ms: u64,
    burst_ms: u64,
}

impl Periods {
    /// No graceful period, no burst period: every error is recovered.
    pub const NONE: Self = Self {
        graceful_ms: 0,
        burst_ms: 0,
    };

    /// A graceful period of `graceful_ms` milliseconds and a burst period of `burst_ms` (which
    /// may be zero).
    pub const fn new(graceful_ms: NonZeroU64, burst_ms: u64) -> Self {
        Self {
            graceful_ms: graceful_ms.get(),
            burst_ms,
        }
    }

    /// The periods of these lengths, or `None` for a burst period without a graceful period.
    pub const fn from_millis(graceful_ms: u64, burst_ms: u64) -> Option<Self> {
        if burst_ms != 0 && graceful_ms == 0 {
            return None;
        }
        Some(Self {
            graceful_ms,
            burst_ms,
        })
    }

    /// Returns the graceful period in milliseconds.
    pub const fn graceful_ms(&self) -> u64 {
        self.graceful_ms
    }

    /// Returns the burst period in milliseconds.
    pub const fn burst_ms(&self) -> u64 {
        self.burst_ms
    }
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
#[vtable]
pub trait ReporterOps: Sized + Send + Sync {
    /// The name of the reporter, unique in its instance (or port).
    const NAME: &'static CStr;

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
    fn recover(&self, _ctx: Option<&Self::Context>, _extack: &mut ExtAck) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Dumps the state of the device, for `devlink health dump show`.
    ///
    /// The core keeps the dump it gets from a report until user space clears it.
    fn dump(
        &self,
        _fmsg: &mut Object<'_>,
        _ctx: Option<&Self::Context>,
        _extack: &mut ExtAck,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Describes the current state, for `devlink health diagnose`.
    fn diagnose(&self, _fmsg: &mut Object<'_>, _extack: &mut ExtAck) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Triggers a test error, for `devlink health test`; it should go through the same path as
    /// a real error, up to [`Reporter::report`] (which must then run from elsewhere, as this
    /// operation runs with the instance lock held).
    fn test(&self, _extack: &mut ExtAck) -> Result {
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
/// It keeps its instance (and port) alive: they are freed (unregistered) after it.
///
/// # Examples
///
/// A reporter whose errors are recovered by resetting a counter, and whose dump carries the
/// context of the error:
///
/// ```
/// use kernel::{
///     c_str, device, devlink, devlink::fmsg::Object, devlink::health, faux, net::netlink::ExtAck,
///     prelude::*, sync::atomic::{Atomic, Relaxed},
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
///     const PERIODS: health::Periods = health::Periods::from_millis(500, 0).unwrap();
///     type Context = Crash;
///
///     fn recover(&self, _ctx: Option<&Crash>, _extack: &mut ExtAck) -> Result {
///         self.resets.fetch_add(1, Relaxed);
///         Ok(())
///     }
///
///     fn dump(&self, fmsg: &mut Object<'_>, ctx: Option<&Crash>, _ext: &mut ExtAck) -> Result {
///         fmsg.put_u32(c_str!("resets"), self.resets.load(Relaxed));
///         if let Some(crash) = ctx {
///             fmsg.put_object(c_str!("crash"), |o| {
///                 o.put_u64(c_str!("pc"), crash.pc);
///             });
///         }
///         Ok(())
///     }
/// }
///
/// let fdev = faux::Registration::new(c_str!("rust-devlink-health-doc"), None)?;
/// let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = devlink::Registration::new(dev, Board)?;
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
/// `raw` is a reporter created for `R` in the instance (or port) held by `parent`, with `data`
/// as its private data and `_ops` (if any) as its ops table, and not destroyed yet.
pub struct Reporter<R: ReporterOps> {
    raw: NonNull<bindings::devlink_health_reporter>,
    data: Pin<KBox<R>>,
    /// The reporter's own C ops table, if it has one; the core keeps a pointer to it.
    _ops: OwnOps,
    parent: Parent,
}

// SAFETY: The C reporter may be used from any thread: the functions called on it lock, and the
// driver's data is `Send`.
unsafe impl<R: ReporterOps> Send for Reporter<R> {}

// SAFETY: The functions called on a shared reporter may run concurrently (they lock), and the
// driver's data is `Sync`.
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
    /// Fails with [`EEXIST`] if the instance has a reporter of that name.
    pub fn new<T: Operations, E>(devlink: &Devlink<T>, data: impl PinInit<R, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        Self::on_instance(devlink, data, bindings::devlink_health_reporter_create)
    }

    /// Creates a reporter on the instance whose lock is held.
    pub fn new_locked<T: Operations, E>(
        guard: &Guard<'_, T>,
        data: impl PinInit<R, E>,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        Self::on_instance(guard, data, bindings::devl_health_reporter_create)
    }

    /// Creates a reporter on `port`, taking the instance lock.
    ///
    /// Fails with [`EEXIST`] if the port has a reporter of that name.
    pub fn new_on_port<E>(port: &Port, data: impl PinInit<R, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        Self::on_port(port, data, bindings::devlink_port_health_reporter_create)
    }

    /// Creates a reporter on `port` of the instance whose lock is held.
    ///
    /// Fails with [`EINVAL`] if the port belongs to another instance.
    pub fn new_on_port_locked<T: Operations, E>(
        guard: &Guard<'_, T>,
        port: &Port,
        data: impl PinInit<R, E>,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        if !port.belongs_to(guard) {
            return Err(EINVAL);
        }
        Self::on_port(port, data, bindings::devl_port_health_reporter_create)
    }

    fn on_instance<T: Operations, E>(
        devlink: &Devlink<T>,
        data: impl PinInit<R, E>,
        create: CreateFn,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        let raw = devlink.as_raw();
        Self::create(
            data,
            Parent::Instance(InstanceRef::new(devlink)),
            |ops, priv_| {
                // SAFETY: `raw` is valid (the parent holds it); `ops` and `priv_` live as
                // long as the reporter; the caller passes a function whose locking needs are
                // met.
                unsafe { create(raw, ops, priv_) }
            },
        )
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
        let (data, ops) = prepare(into_error(data))?;
        let ops_ptr = ops.as_deref().map_or(&Vtable::<R>::OPS, |o| o);
        let raw = from_err_ptr(create(ops_ptr, data_ptr(&data)))?;
        // INVARIANT: Created above with `data` as private data, in the instance (or port) that
        // `parent` holds.
        Ok(Self {
            // SAFETY: `from_err_ptr` returned a pointer that is not an error; the C functions
            // do not return NULL.
            raw: unsafe { NonNull::new_unchecked(raw) },
            data,
            _ops: ops,
            parent,
        })
    }

    /// Reports an error, with what the driver knows about it in `ctx`.
    ///
    /// The core counts the error and puts the reporter in the error state; then, unless the
    /// previous error is not recovered yet or the graceful period forbids it (the result is then
    /// [`ECANCELED`]), it stores a dump if none is stored and `auto_dump` is on, and recovers if
    /// `auto_recover` is on. `dump` and `recover` get `ctx`, and the result is `recover`'s.
    ///
    /// Sleeps: process context only, never with the instance lock held nor from an operation
    /// of the same instance. Returns [`ENODEV`] without reporting if the instance is no longer
    /// registered.
    pub fn report(&self, msg: &CStr, ctx: &R::Context) -> Result {
        might_sleep();
        self.parent.instance().header().while_registered(|| {
            let ctx = core::ptr::from_ref(ctx).cast_mut().cast();
            // SAFETY: By the type invariant, `self.raw` is a live reporter of an instance that
            // stays registered during the call; `msg` is copied by the trace event; `ctx` is
            // only used during the call, by the operations of `R`, which read it as an
            // `R::Context`.
            let ret = unsafe {
                bindings::devlink_health_report(self.raw.as_ptr(), msg.as_char_ptr(), ctx)
            };
            // Not `to_result()`, which is not inlined into other crates: this is the hot path
            // of drivers that report often.
            if ret < 0 {
                Err(Error::from_errno(ret))
            } else {
                Ok(())
            }
        })
    }

    /// Sets the state of the reporter without reporting, e.g. when the driver sees that an error
    /// went away by itself; user space is notified of a change.
    ///
    /// Sleeps, and returns [`ENODEV`] if the instance is no longer registered, as
    /// [`Reporter::report`] does.
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
        self.parent.instance().header().while_registered(|| {
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

    /// Returns the driver's data of the reporter.
    pub fn data(&self) -> &R {
        &self.data
    }

    /// Returns the raw `struct devlink_health_reporter`.
    pub fn as_raw(&self) -> *mut bindings::devlink_health_reporter {
        self.raw.as_ptr()
    }
}

impl<R: ReporterOps> Deref for Reporter<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.data
    }
}

impl<R: ReporterOps> Drop for Reporter<R> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self.raw` is live; after this, the core no longer
        // calls the operations, so `data` may go. The instance (and port) outlive the call, as
        // `parent` is dropped after it.
        unsafe { bindings::devlink_health_reporter_destroy(self.raw.as_ptr()) };
    }
}

/// Converts the error of an initialiser into an [`Error`].
fn into_error<R, E>(init: impl PinInit<R, E>) -> impl PinInit<R, Error>
where
    Error: From<E>,
{
    // SAFETY: The closure initialises `slot` exactly as `init` does, and only changes the error.
    unsafe {
        pin_init::pin_init_from_closure(move |slot| {
            pin_init::raw_try_init(slot, init).map_err(Error::from)
        })
    }
}

/// The C ops table of a reporter whose periods differ from [`ReporterOps::PERIODS`].
type OwnOps = Option<KBox<bindings::devlink_health_reporter_ops>>;

/// Allocates the driver's data of a reporter, and its own C ops table if its periods are not
/// the constant ones (outside of the callers, whose `Error: From<E>` bound would hide the one of
/// [`KBox::pin_init`]).
fn prepare<R: ReporterOps>(init: impl PinInit<R, Error>) -> Result<(Pin<KBox<R>>, OwnOps)> {
    let data = KBox::pin_init(init, GFP_KERNEL)?;
    let periods = data.periods();
    if periods == R::PERIODS {
        return Ok((data, None));
    }
    // The check that `Vtable::OPS` makes at compile time.
    if periods.graceful_ms != 0 && !R::HAS_RECOVER {
        return Err(EINVAL);
    }
    let ops = bindings::devlink_health_reporter_ops {
        default_graceful_period: periods.graceful_ms,
        default_burst_period: periods.burst_ms,
        ..Vtable::<R>::OPS
    };
    Ok((data, Some(KBox::new(ops, GFP_KERNEL)?)))
}

fn data_ptr<R>(data: &Pin<KBox<R>>) -> *mut c_void {
    core::ptr::from_ref::<R>(data).cast_mut().cast()
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

    /// Returns the driver's data of a reporter of this table.
    ///
    /// # Safety
    ///
    /// `reporter` must be a live reporter created with this table by [`Reporter`], and the
    /// returned reference not used after it is destroyed.
    unsafe fn data<'a>(reporter: *mut bindings::devlink_health_reporter) -> &'a R {
        // SAFETY: `Reporter` created it with a pointer to its `R` as private data, which lives
        // until the reporter is destroyed.
        unsafe { &*bindings::devlink_health_reporter_priv(reporter).cast::<R>() }
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

    /// # Safety
    ///
    /// Called by the devlink core for a reporter of this table, with the context of a report or
    /// null, and a valid or null extack.
    unsafe extern "C" fn recover(
        reporter: *mut bindings::devlink_health_reporter,
        ctx: *mut c_void,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller; the reporter lives during the call.
        let (data, ctx) = unsafe { (Self::data(reporter), Self::context(ctx)) };
        // SAFETY: `extack` is null or valid, and only used by this call.
        let mut extack = unsafe { ExtAck::from_raw(extack) };
        from_result(|| {
            data.recover(ctx, &mut extack)?;
            Ok(0)
        })
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
        // SAFETY: Guaranteed by the caller; the reporter lives during the call.
        let (data, ctx) = unsafe { (Self::data(reporter), Self::context(ctx)) };
        // SAFETY: `extack` is null or valid, and only used by this call.
        let mut extack = unsafe { ExtAck::from_raw(extack) };
        // SAFETY: `fmsg` is valid (not null) and only used by this call.
        let mut fmsg = unsafe { RawFmsg::new(NonNull::new_unchecked(fmsg)) };
        from_result(|| {
            data.dump(&mut Object::new(&mut fmsg), ctx, &mut extack)?;
            fmsg.result()?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As for `dump`.
    unsafe extern "C" fn diagnose(
        reporter: *mut bindings::devlink_health_reporter,
        fmsg: *mut bindings::devlink_fmsg,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller; the reporter lives during the call.
        let data = unsafe { Self::data(reporter) };
        // SAFETY: `extack` is null or valid, and only used by this call.
        let mut extack = unsafe { ExtAck::from_raw(extack) };
        // SAFETY: `fmsg` is valid (not null) and only used by this call.
        let mut fmsg = unsafe { RawFmsg::new(NonNull::new_unchecked(fmsg)) };
        from_result(|| {
            data.diagnose(&mut Object::new(&mut fmsg), &mut extack)?;
            fmsg.result()?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As for `recover`.
    unsafe extern "C" fn test(
        reporter: *mut bindings::devlink_health_reporter,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller; the reporter lives during the call.
        let data = unsafe { Self::data(reporter) };
        // SAFETY: `extack` is null or valid, and only used by this call.
        let mut extack = unsafe { ExtAck::from_raw(extack) };
        from_result(|| {
            data.test(&mut extack)?;
            Ok(0)
        })
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
            Periods::new(NonZeroU64::new(100).unwrap(), 0)
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
        const PERIODS: Periods = Periods::new(NonZeroU64::new(60_000).unwrap(), 200);
        type Context = u32;

        fn recover(&self, ctx: Option<&u32>, extack: &mut ExtAck) -> Result {
            self.last_ctx.store(ctx.copied().unwrap_or(NO_CTX), Relaxed);
            if self.fail_recover.load(Relaxed) {
                extack.set_message(c"recovery refused for the test");
                return Err(EIO);
            }
            self.recovers.fetch_add(1, Relaxed);
            Ok(())
        }

        fn dump(&self, fmsg: &mut Object<'_>, ctx: Option<&u32>, _extack: &mut ExtAck) -> Result {
            self.dumps.fetch_add(1, Relaxed);
            fmsg.put_u32(c"ctx", ctx.copied().unwrap_or(NO_CTX));
            Ok(())
        }

        fn diagnose(&self, _fmsg: &mut Object<'_>, _extack: &mut ExtAck) -> Result {
            Ok(())
        }

        fn test(&self, _extack: &mut ExtAck) -> Result {
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

        fn recover(&self, _ctx: Option<&()>, _extack: &mut ExtAck) -> Result {
            self.recovers.fetch_add(1, Relaxed);
            Ok(())
        }

        fn dump(&self, _fmsg: &mut Object<'_>, _ctx: Option<&()>, _extack: &mut ExtAck) -> Result {
            self.dumps.fetch_add(1, Relaxed);
            Ok(())
        }
    }

    fn instance(name: &CStr) -> Result<(faux::Registration, devlink::Registration<Board>)> {
        let fdev = faux::Registration::new(name, None)?;
        let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
        let reg = devlink::Registration::new(dev, Board)?;
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
        let _bare = Reporter::new_locked(&reg.lock(), Bare)?;

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
        let _guard = reg.lock();
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
            periods: Periods::new(NonZeroU64::new(60_000).unwrap(), 0),
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

    #[test]
    fn without_recover_stays_in_error() -> Result {
        let (_fdev, reg) = instance(c"rust-devlink-kunit-bare")?;
        let bare = Reporter::new(&reg, Bare)?;
        // No `recover`: no auto-recovery, and reports keep being counted.
        bare.report(c"first", &())?;
        bare.report(c"second", &())?;
        bare.state_update(State::Healthy)?;
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
        let guard = b.lock();
        assert_eq!(
            Reporter::new_on_port_locked(&guard, &port, Bare).err(),
            Some(EINVAL)
        );
        drop(guard);
        let _r = Reporter::new_on_port_locked(&a.lock(), &port, Bare)?;
        Ok(())
    }
}
