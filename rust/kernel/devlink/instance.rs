// SPDX-License-Identifier: GPL-2.0

//! devlink instances.
//!
//! A driver allocates one devlink instance per device, with private data of its own type, and
//! registers it; from then on user space sees it as `bus/device` (e.g. `pci/0000:00:03.0`).
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)

use crate::{
    bindings, device,
    devlink::info::InfoRequest,
    devres::Devres,
    error::{from_result, VTABLE_DEFAULT_ERROR},
    fmt,
    net::netlink::ExtAck,
    prelude::*,
    static_lock_class,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        atomic::{Acquire, Atomic, Relaxed, Release},
        Refcount, Srcu,
    },
    task::{might_sleep, Task},
    types::{NotThreadSafe, Opaque},
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::Deref,
    ptr::{self, NonNull},
};

/// The operations of a devlink instance.
///
/// Implemented by the driver's private data of the instance. Every operation runs in process
/// context with the instance lock held, which the [`Guard`] it receives proves.
///
/// The data is `'static`: it cannot borrow what may go before the instance does. An instance
/// outlives its [`Registration`] while ports or reporters hold it, and a registration may be
/// leaked (`mem::forget()` is safe), so nothing else bounds when the core stops calling the
/// operations.
#[vtable]
pub trait Operations: Sized + Send + Sync + 'static {
    /// Fills the answer to `devlink dev info`: serial number and versions.
    ///
    /// The devlink core adds the driver name by itself.
    fn info_get(
        _devlink: &Guard<'_, Self>,
        _req: &mut InfoRequest<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// What precedes the driver's data in the private area of a `struct devlink`.
///
/// Ports and health reporters keep the instance alive through it without knowing the driver's
/// type (see `InstanceRef`).
///
/// # Invariants
///
/// - `registered` is true only between `devlink_register()` and `devlink_unregister()`.
/// - While no task holds the instance lock, `holder` is null. While task `T` holds it, `holder`
///   is null or `T`, and `in_op` and `op` are only written by `T`. (A task that leaks a
///   [`Guard`] and exits leaves itself in `holder` with the lock held forever; a later task at
///   the same address would then be taken for the holder. Nothing else can take the lock, so
///   nothing else races with it, and lockdep reports its use of the `devl_*` functions.)
#[pin_data]
pub(crate) struct Header {
    /// References to the instance: the registration, [`ARef`]s, ports and reporters.
    refs: Refcount,
    /// Drops the driver's data and frees the instance; called when `refs` drops to zero.
    release: unsafe fn(NonNull<bindings::devlink>),
    /// Whether the instance is registered, read under `srcu`.
    registered: Atomic<bool>,
    /// Lets unregistration wait for reports in flight, which may sleep.
    #[pin]
    srcu: Srcu,
    /// The address of the driver of the device when the instance was allocated, which devlink
    /// records too: the instance is registered only while the device is bound to it. Only
    /// compared, never dereferenced.
    driver: usize,
    /// The task that holds the instance lock as far as this abstraction knows: through a
    /// [`Guard`] of [`Devlink::lock`], or while an operation runs (the core holds the lock
    /// then); null otherwise.
    ///
    /// Only the task holding the lock writes it (itself, or, when a guard or an operation ends,
    /// what it was before: null, or itself for an operation under its own guard), and a task
    /// only acts on it when it finds itself in it, which only its own earlier writes can make it
    /// see: `Relaxed` suffices.
    holder: Atomic<*mut bindings::task_struct>,
    /// What `holder` runs, if it runs an operation rather than holding a [`Guard`].
    op: Atomic<*mut bindings::devlink_health_reporter>,
    /// Whether `holder` runs an operation.
    in_op: Atomic<bool>,
    /// Whether a refusal of the instance itself was warned about, see [`refuse`].
    warned: Atomic<bool>,
    /// Whether a refused unregistration was warned about.
    warned_unregister: Atomic<bool>,
}

/// Whether, and how, the current task holds the instance lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Held {
    /// It does not, as far as this abstraction knows (the module documentation of `health`
    /// says what it cannot know).
    No,
    /// Through a [`Guard`] of [`Devlink::lock`].
    ByGuard,
    /// The core holds it for an operation that runs in the current task: an instance
    /// operation (null), or one of the reporter given.
    ByOp(*mut bindings::devlink_health_reporter),
}

/// The current task runs an operation of an instance; restores the previous state when dropped.
pub(crate) struct OpScope<'a> {
    header: &'a Header,
    holder: *mut bindings::task_struct,
    op: *mut bindings::devlink_health_reporter,
    in_op: bool,
}

impl Drop for OpScope<'_> {
    fn drop(&mut self) {
        // INVARIANT: The operation ends with the lock still held by the core for the current
        // task, which writes back what it found: null, or itself under its own guard.
        let h = self.header;
        h.holder.store(self.holder, Relaxed);
        h.op.store(self.op, Relaxed);
        h.in_op.store(self.in_op, Relaxed);
    }
}

/// The lock class name of the SRCU of every instance, in a static so that the copies of
/// [`Header::new`] inlined into other crates use the same name, whose address lockdep compares.
static SRCU_NAME: &CStr = c"devlink_instance";

impl Header {
    /// Not generic, so that all instances share one lock class.
    fn new(
        release: unsafe fn(NonNull<bindings::devlink>),
        driver: usize,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Header {
            refs: Refcount::new(1),
            release,
            registered: Atomic::new(false),
            srcu <- Srcu::new(SRCU_NAME, static_lock_class!()),
            driver,
            holder: Atomic::new(ptr::null_mut()),
            op: Atomic::new(ptr::null_mut()),
            in_op: Atomic::new(false),
            warned: Atomic::new(false),
            warned_unregister: Atomic::new(false),
        }? Error)
    }

    /// Whether, and how, the current task holds the instance lock.
    ///
    /// Never in an interrupt: `current` is then the interrupted task, which may hold the lock
    /// while the interrupt does not.
    #[inline]
    pub(crate) fn held(&self) -> Held {
        // SAFETY: `in_task()` may be called from any context.
        if !unsafe { bindings::in_task() } || self.holder.load(Relaxed) != Task::current_raw() {
            Held::No
        } else if self.in_op.load(Relaxed) {
            Held::ByOp(self.op.load(Relaxed))
        } else {
            Held::ByGuard
        }
    }

    /// Fails with [`EDEADLK`], with a warning (once per instance), if the current task holds
    /// the lock of `raw`, whose header this is; `what` says what was asked.
    pub(crate) fn refuse_if_held(
        &self,
        raw: *mut bindings::devlink,
        what: fmt::Arguments<'_>,
    ) -> Result {
        if self.held() == Held::No {
            return Ok(());
        }
        refuse(
            raw,
            &self.warned,
            fmt!("{what} with the instance lock held: refused (EDEADLK)"),
        );
        Err(EDEADLK)
    }

    /// Notes that the current task runs an operation (of `reporter`, or of the instance if
    /// null), with the instance lock held by the core, until the returned scope is dropped.
    pub(crate) fn enter_op(&self, reporter: *mut bindings::devlink_health_reporter) -> OpScope<'_> {
        let scope = OpScope {
            header: self,
            holder: self.holder.load(Relaxed),
            op: self.op.load(Relaxed),
            in_op: self.in_op.load(Relaxed),
        };
        // INVARIANT: The core holds the lock for the current task, which writes itself.
        self.in_op.store(true, Relaxed);
        self.op.store(reporter, Relaxed);
        self.holder.store(Task::current_raw(), Relaxed);
        scope
    }

    /// Enters a section during which the instance stays registered if it is now.
    ///
    /// The core warns when a reporter of an unregistered instance reports or changes state, so
    /// those calls are made only under this guard, when `registered` holds.
    pub(crate) fn while_registered<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let _guard = self.srcu.read_lock();
        if !self.registered.load(Acquire) {
            return Err(ENODEV);
        }
        f()
    }
}

/// The private area of a `struct devlink` allocated by [`Devlink::new`].
#[repr(C)]
#[pin_data]
struct Private<T> {
    /// First, so that it is found without knowing `T`.
    #[pin]
    header: Header,
    #[pin]
    data: T,
}

/// A devlink instance, `struct devlink`, with driver private data of type `T`.
///
/// Obtained from its [`Unregistered`] or [`Registration`], as an [`ARef`] that keeps it alive, or
/// in an operation. It dereferences to the driver's data.
///
/// Dropping the last reference (of an [`ARef`], an [`Unregistered`], a [`Registration`], a port
/// or a reporter) drops the driver's data and frees the instance, which sleeps
/// (`devlink_free()` takes the instance lock): process context only, checked by
/// `might_sleep()`.
///
/// # Invariants
///
/// `self.0` is a `struct devlink` allocated by `Devlink::new` for `T`: its private area
/// holds an initialised `Private<T>`, and it is valid while a reference is counted in
/// `Private::header.refs`.
#[repr(transparent)]
pub struct Devlink<T: Operations>(Opaque<bindings::devlink>, PhantomData<T>);

// SAFETY: The C devlink instance may be used from any thread; the driver's data is `Send`.
unsafe impl<T: Operations> Send for Devlink<T> {}

// SAFETY: The C functions called on a shared `Devlink` do their own locking; the driver's data
// is `Sync`.
unsafe impl<T: Operations> Sync for Devlink<T> {}

impl<T: Operations> Devlink<T> {
    /// Allocates an instance for `dev` and initialises the driver's data in it.
    fn new<E>(dev: &device::Device<device::Bound>, data: impl PinInit<T, E>) -> Result<ARef<Self>>
    where
        Error: From<E>,
    {
        // The private area is aligned to `NETDEV_ALIGN`.
        build_assert!(core::mem::align_of::<Private<T>>() <= bindings::NETDEV_ALIGN as usize);

        // SAFETY: `dev` is bound, so its driver is set, and stays so during the call.
        let driver = unsafe { (*dev.as_raw()).driver };
        // The instance is unregistered when `dev` is unbound, at the latest (see `Registration`),
        // which protects the module of `T` if `T` is built in, or if `dev`'s driver is of that
        // module, or built in (faux devices, which the module destroys): not the parent of an
        // auxiliary device, bound to another module.
        let this = crate::module::this_module::<T::OwnerModule>().as_ptr();
        // SAFETY: `driver` is the driver of a bound device, valid while it is bound.
        let owner = unsafe { (*driver).owner };
        if !this.is_null() && !owner.is_null() && owner != this {
            return Err(EINVAL);
        }

        // SAFETY: The ops table is a promoted constant, which lives forever; `init_net` is the
        // initial network namespace; `dev` is a valid device, bound, so its driver (which
        // devlink records) is set; devlink takes a reference to `dev`.
        let raw = unsafe {
            bindings::devlink_alloc_ns(
                &Vtable::<T>::OPS,
                core::mem::size_of::<Private<T>>(),
                &raw mut bindings::init_net,
                dev.as_raw(),
            )
        };
        let raw = NonNull::new(raw).ok_or(ENOMEM)?;

        let init = try_pin_init!(Private {
            header <- Header::new(release::<T>, driver.addr()),
            data <- data,
        }? Error);
        // SAFETY: `raw` is a valid devlink.
        let private = unsafe { bindings::devlink_priv(raw.as_ptr()) }.cast::<Private<T>>();
        // SAFETY: The private area is at least `size_of::<Private<T>>()` bytes, suitably aligned
        // (checked above), not initialised yet, and stays where it is until `devlink_free()`.
        if let Err(e) = unsafe { pin_init::raw_try_init(private, init) } {
            // SAFETY: `raw` was allocated above and never registered.
            unsafe { bindings::devlink_free(raw.as_ptr()) };
            return Err(e);
        }

        // SAFETY: The private area is initialised for `T`, with one reference, which is
        // transferred to the returned `ARef`.
        // INVARIANT: Allocated for `T` and initialised above.
        Ok(unsafe { ARef::from_raw(raw.cast()) })
    }

    /// Returns the raw `struct devlink`.
    pub fn as_raw(&self) -> *mut bindings::devlink {
        self.0.get()
    }

    /// Returns the instance for a raw `struct devlink`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `struct devlink` allocated by [`Devlink::new`] for `T` and be
    /// valid for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::devlink) -> &'a Self {
        // SAFETY: `Devlink<T>` is a transparent wrapper of `struct devlink`; the caller
        // guarantees the rest.
        unsafe { &*ptr.cast() }
    }

    fn private(&self) -> &Private<T> {
        // SAFETY: By the type invariant, the private area holds an initialised `Private<T>`.
        unsafe { &*bindings::devlink_priv(self.as_raw()).cast::<Private<T>>() }
    }

    /// Returns the driver's data.
    pub fn data(&self) -> &T {
        &self.private().data
    }

    /// Returns the device the instance was allocated for.
    pub fn device(&self) -> &device::Device {
        // SAFETY: `self.as_raw()` is valid; devlink holds a reference to its device until it is
        // freed, hence for as long as `self` is borrowed.
        unsafe { device::Device::from_raw(bindings::devlink_to_dev(self.as_raw())) }
    }

    /// Returns the bus name of the handle, e.g. `pci` in `pci/0000:00:03.0`.
    pub fn bus_name(&self) -> &CStr {
        // SAFETY: `self.as_raw()` is valid, and the bus name a static string of the bus.
        unsafe { CStr::from_char_ptr(bindings::devlink_bus_name(self.as_raw())) }
    }

    /// Returns the device name of the handle, e.g. `0000:00:03.0` in `pci/0000:00:03.0`.
    pub fn dev_name(&self) -> &CStr {
        // SAFETY: `self.as_raw()` is valid, and the name of its device lives as long as the
        // device, which devlink holds.
        unsafe { CStr::from_char_ptr(bindings::devlink_dev_name(self.as_raw())) }
    }

    /// Whether the instance is registered, i.e. visible to user space.
    pub fn is_registered(&self) -> bool {
        self.private().header.registered.load(Acquire)
    }

    /// Takes the instance lock, `devl_lock()`.
    ///
    /// Sleeps. Fails with [`EDEADLK`] if the current task holds the lock already: through
    /// another guard, or in an operation, which the core calls with the lock held.
    ///
    /// While the guard is held, what would take the lock again is refused or done with the
    /// lock held instead: `health::Reporter::report()` fails with
    /// [`EDEADLK`], creating ports and reporters needs the `_locked` constructors, and ports and
    /// reporters dropped are destroyed with the `devl_*` variants.
    pub fn lock(&self) -> Result<Guard<'_, T>> {
        let header = &self.private().header;
        header.refuse_if_held(self.as_raw(), fmt!("Devlink::lock()"))?;
        // SAFETY: `self.as_raw()` is valid.
        unsafe { bindings::devl_lock(self.as_raw()) };
        // INVARIANT: The current task holds the lock now, and writes itself.
        header.in_op.store(false, Relaxed);
        header.holder.store(Task::current_raw(), Relaxed);
        // INVARIANT: Locked above.
        Ok(Guard {
            devlink: self,
            // SAFETY: `self` was allocated by `Devlink::new`, and is locked until the guard
            // is dropped, which borrows `self`.
            locked: unsafe { Locked::from_raw(self.as_raw()) },
        })
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        &self.private().header
    }
}

impl<T: Operations> Deref for Devlink<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data()
    }
}

/// Returns the header of an instance allocated by [`Devlink::new`], whatever its `T`.
///
/// # Safety
///
/// `raw` must point to such an instance and be valid for `'a`.
unsafe fn header<'a>(raw: NonNull<bindings::devlink>) -> &'a Header {
    // SAFETY: `Private<T>` is `repr(C)` with the header first, and initialised.
    unsafe { &*bindings::devlink_priv(raw.as_ptr()).cast::<Header>() }
}

/// Drops the driver's data and frees the instance.
///
/// # Safety
///
/// `raw` must point to an instance allocated by [`Devlink::new`] for `T`, unregistered,
/// whose last reference is gone.
unsafe fn release<T: Operations>(raw: NonNull<bindings::devlink>) {
    // SAFETY: The private area holds an initialised `Private<T>` that nobody uses any more.
    unsafe { ptr::drop_in_place(bindings::devlink_priv(raw.as_ptr()).cast::<Private<T>>()) };
    // SAFETY: `raw` is unregistered, and its ports and reporters are gone since they hold
    // references.
    unsafe { bindings::devlink_free(raw.as_ptr()) };
}

/// Drops a reference, releasing the instance with the last one.
///
/// # Safety
///
/// `raw` must point to an instance allocated by [`Devlink::new`], and the caller must own
/// a reference to it that it no longer uses.
unsafe fn put(raw: NonNull<bindings::devlink>) {
    // The last reference frees the instance, and `devlink_free()` takes the instance lock.
    might_sleep();
    // SAFETY: The caller owns a reference, so `raw` is valid.
    let header = unsafe { header(raw) };
    if header.refs.dec_and_test() {
        if header.held() != Held::No {
            // In an instance operation that unbound the device (nothing else reaches the last
            // reference under the lock): the driver's data is in use, and `devlink_free()` takes
            // the lock. The header, which nothing frees now, stays readable.
            refuse(
                raw.as_ptr(),
                &header.warned_unregister,
                fmt!("last reference dropped with the instance lock held: leaked"),
            );
            return;
        }
        let release = header.release;
        // SAFETY: That was the last reference, and the registration holds one while the
        // instance is registered.
        unsafe { release(raw) };
    }
}

// SAFETY: The reference count is `Private::header.refs`, and the instance is freed by the
// release function when it drops to zero.
unsafe impl<T: Operations> AlwaysRefCounted for Devlink<T> {
    fn inc_ref(&self) {
        self.private().header.refs.inc();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference to an instance allocated for `T`.
        unsafe { put(obj.cast()) }
    }
}

/// Warns, once per object (`warned`), that the current task asked for what needs the instance
/// lock of `raw` while holding it, and was refused.
///
/// `what` names the object (`health reporter "tx"`, `port 0` ...), what was refused, and what
/// was done instead.
pub(crate) fn refuse(raw: *mut bindings::devlink, warned: &Atomic<bool>, what: fmt::Arguments<'_>) {
    if warned.xchg(true, Relaxed) {
        return;
    }
    // SAFETY: `raw` is a valid instance, whose bus name is a static string of the bus.
    let bus = unsafe { CStr::from_char_ptr(bindings::devlink_bus_name(raw)) };
    // SAFETY: As above, and the device name lives as long as the device, which devlink holds.
    let dev = unsafe { CStr::from_char_ptr(bindings::devlink_dev_name(raw)) };
    crate::pr_warn!(
        "devlink {}/{}: {}\n",
        bus.to_str().unwrap_or("?"),
        dev.to_str().unwrap_or("?"),
        what
    );
}

/// A reference to a devlink instance of any driver data type.
///
/// Held by ports and health reporters, so that the instance is freed after them.
///
/// # Invariants
///
/// `raw` points to an instance allocated by [`Devlink::new`], on which this value owns a
/// reference.
pub(crate) struct InstanceRef {
    raw: NonNull<bindings::devlink>,
}

// SAFETY: A reference may be dropped from any thread.
unsafe impl Send for InstanceRef {}

// SAFETY: Shared `InstanceRef`s only give access to the header, which is `Sync`.
unsafe impl Sync for InstanceRef {}

impl InstanceRef {
    pub(crate) fn new<T: Operations>(devlink: &Devlink<T>) -> Self {
        Self::new_raw(NonNull::from(devlink).cast(), devlink.header())
    }

    /// Takes a reference to `raw`, whose header is `header`.
    fn new_raw(raw: NonNull<bindings::devlink>, header: &Header) -> Self {
        header.refs.inc();
        // INVARIANT: Took a reference above, on an instance allocated by `Devlink::new` (it
        // has a header).
        Self { raw }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::devlink {
        self.raw.as_ptr()
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: By the type invariant, `raw` is such an instance, valid while `self` exists.
        unsafe { header(self.raw) }
    }
}

impl Drop for InstanceRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self` owns a reference, given up here.
        unsafe { put(self.raw) }
    }
}

/// A devlink instance that is not registered yet: user space does not see it, and no
/// operation is called.
///
/// Dropping it (if it is not registered) may drop the last reference to the instance, which
/// sleeps (see [`Devlink`]).
///
/// The driver creates the instance's ports and health reporters on it, then registers it with
/// [`Registration::new`], last, as the C convention is: once user space sees the instance, it
/// sees all of it.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, device, devlink, faux, prelude::*};
///
/// struct Board {
///     serial: u32,
/// }
///
/// #[vtable]
/// impl devlink::Operations for Board {}
///
/// let fdev = faux::Registration::new(c_str!("rust-devlink-doc"), None)?;
/// let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let devlink = devlink::Unregistered::new(dev, Board { serial: 42 })?;
/// assert_eq!(devlink.serial, 42);
/// assert!(!devlink.is_registered());
///
/// let reg = devlink::Registration::new(dev, devlink)?;
/// assert_eq!(reg.bus_name(), c_str!("faux"));
/// assert_eq!(reg.dev_name(), c_str!("rust-devlink-doc"));
/// assert!(reg.is_registered());
/// # Ok::<(), Error>(())
/// ```
pub struct Unregistered<T: Operations> {
    devlink: ARef<Devlink<T>>,
}

impl<T: Operations> Unregistered<T> {
    /// Allocates a devlink instance for `dev`, with `data` as the driver's data.
    ///
    /// Fails with [`EINVAL`] if `dev` is bound to a driver of another module (as the parent of
    /// an auxiliary device is): its unbinding is what finally unregisters the instance, and it
    /// would not protect this module.
    pub fn new<E>(dev: &device::Device<device::Bound>, data: impl PinInit<T, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        Ok(Self {
            devlink: Devlink::new(dev, data)?,
        })
    }
}

impl<T: Operations> Deref for Unregistered<T> {
    type Target = Devlink<T>;

    fn deref(&self) -> &Devlink<T> {
        &self.devlink
    }
}

/// A registered devlink instance; dropping it unregisters the instance, and so does unbinding
/// the device, whichever comes first.
///
/// Drop it first when the device goes (the C convention: unregister first), so that user space
/// sees the instance whole until it disappears. Should the registration outlive the binding
/// (a driver that leaks it: `mem::forget()` is safe), the instance is unregistered at unbind
/// all the same, so the core never calls operations of a module that may be unloaded.
///
/// The instance itself is freed when the last reference to it is gone: the registration's, and
/// those of its ports and health reporters, which may thus outlive the registration without
/// dangling. Reporters of an unregistered instance no longer report (see
/// `health::Reporter::report()`).
///
/// See [`Unregistered`] for an example.
pub struct Registration<T: Operations> {
    devlink: ARef<Devlink<T>>,
    /// Unregisters the instance when dropped, or at unbind. Not dropped if unregistering is
    /// refused (see `Drop`): unbind does it then.
    registered: ManuallyDrop<Devres<Registered<T>>>,
}

impl<T: Operations> Registration<T> {
    /// Registers `devlink`, whose device `dev` is, until the registration is dropped or the
    /// device unbound.
    ///
    /// Fails with [`EINVAL`] if `devlink` was allocated for another device, or while it was
    /// bound to another driver (an [`Unregistered`] may outlive a binding), and with
    /// [`EDEADLK`] if the current task holds the instance lock (through a [`Guard`] of an
    /// [`ARef`] of it), which `devlink_register()` takes.
    pub fn new(dev: &device::Device<device::Bound>, devlink: Unregistered<T>) -> Result<Self> {
        let devlink = devlink.devlink;
        // SAFETY: `dev` is bound, so its driver is set.
        let driver = unsafe { (*dev.as_raw()).driver };
        if devlink.device().as_raw() != dev.as_raw() || devlink.header().driver != driver.addr() {
            return Err(EINVAL);
        }
        let header = devlink.header();
        header.refuse_if_held(devlink.as_raw(), fmt!("Registration::new()"))?;
        // Made first, so that nothing fails once registered; unregisters nothing until then.
        let registered = Devres::new(dev, Registered(devlink.clone()))?;
        // SAFETY: `devlink` is valid and not registered: `Unregistered` owned it.
        unsafe { bindings::devlink_register(devlink.as_raw()) };
        devlink.header().registered.store(true, Release);
        Ok(Self {
            devlink,
            registered: ManuallyDrop::new(registered),
        })
    }

    /// Returns a reference to the instance that outlives the registration.
    pub fn devlink(&self) -> ARef<Devlink<T>> {
        self.devlink.clone()
    }
}

impl<T: Operations> Deref for Registration<T> {
    type Target = Devlink<T>;

    fn deref(&self) -> &Devlink<T> {
        &self.devlink
    }
}

impl<T: Operations> Drop for Registration<T> {
    /// Unregisters the instance; sleeps.
    ///
    /// The current task must not hold the instance lock: unregistration waits for the reports
    /// in flight, which may wait for the lock. If it does (a [`Guard`] of an [`ARef`] of the
    /// instance, or an operation that reaches the registration), the instance stays registered
    /// until the device is unbound, with a warning, rather than deadlock; the device-managed
    /// state it leaves is leaked, with a reference to the device.
    fn drop(&mut self) {
        might_sleep();
        let header = self.devlink.header();
        if header.held() != Held::No {
            refuse(
                self.devlink.as_raw(),
                &header.warned_unregister,
                fmt!("instance unregistered with its lock held: left registered until unbind"),
            );
            return;
        }
        // SAFETY: `self.registered` is not used after this.
        unsafe { ManuallyDrop::drop(&mut self.registered) };
    }
}

/// The registered state of an instance, device-managed: dropping it unregisters the instance.
struct Registered<T: Operations>(ARef<Devlink<T>>);

impl<T: Operations> Drop for Registered<T> {
    fn drop(&mut self) {
        let devlink = &self.0;
        let header = devlink.header();
        // INVARIANT: Cleared before unregistering.
        if !header.registered.xchg(false, Release) {
            // Dropped by a failing `Registration::new()`, before it registered.
            return;
        }
        if header.held() != Held::No {
            // Unbound by a task that holds the lock (a guard, and the device destroyed under
            // it): waiting for the reports in flight, which may wait for the lock, would
            // deadlock. Those that saw the instance registered may now report on an
            // unregistered one: a WARN of the core (`ASSERT_DEVLINK_REGISTERED`), still memory
            // safe (they hold the reporter, which holds the instance), and better than a hang.
            // Unbinding under the lock while another task drops the registration is not
            // supported: that task waits for the lock in `devlink_unregister()`, and the
            // unbinding for that task's revocation of the device-managed state.
            refuse(
                devlink.as_raw(),
                &header.warned_unregister,
                fmt!("device unbound with the instance lock held: unregistered under it"),
            );
            // SAFETY: The instance is registered (see below), and the current task holds the
            // lock.
            unsafe { bindings::devl_unregister(devlink.as_raw()) };
            return;
        }
        // Reports that saw the instance registered finish before it is unregistered.
        header.srcu.synchronize();
        // SAFETY: The instance is registered: only `Registration::new` set `registered`, after
        // registering it, and only this function clears it.
        unsafe { bindings::devlink_unregister(devlink.as_raw()) };
    }
}

/// The instance lock of a devlink instance, held, whatever the type of the instance's data.
///
/// What the `_locked` constructors of ports and reporters need (they call the `devl_*` C
/// functions), and what reporter operations receive, as they run with the lock held. A [`Guard`]
/// lends one ([`Guard::locked`]).
///
/// # Invariants
///
/// `raw` is an instance allocated by `Devlink::new`, valid for `'a` (a reference to it is held
/// for `'a`: by the owner of the guard, or, during an operation, by the reporter whose
/// operation runs; during an instance operation, by the registration, or by nobody and then
/// not freed, see `put()`), and whose instance lock the current task holds while the `Locked`
/// is reachable: a guard only lends `&Locked` for as long as it lives.
pub struct Locked<'a> {
    raw: NonNull<bindings::devlink>,
    _p: PhantomData<&'a bindings::devlink>,
    _not_send: NotThreadSafe,
}

impl<'a> Locked<'a> {
    /// Returns a proof for a lock that the caller holds.
    ///
    /// # Safety
    ///
    /// `raw` must be an instance allocated by [`Devlink::new`] on which a reference is held for
    /// `'a`, and whose instance lock the current task holds for `'a`.
    pub(crate) unsafe fn from_raw(raw: *mut bindings::devlink) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            // SAFETY: The caller passes a valid instance, hence not null.
            raw: unsafe { NonNull::new_unchecked(raw) },
            _p: PhantomData,
            _not_send: NotThreadSafe,
        }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::devlink {
        self.raw.as_ptr()
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: By the type invariant, `raw` is such an instance, valid for `'a`.
        unsafe { header(self.raw) }
    }

    /// Returns a new reference to the instance.
    pub(crate) fn instance(&self) -> InstanceRef {
        InstanceRef::new_raw(self.raw, self.header())
    }

    /// Returns the bus name of the handle, e.g. `pci` in `pci/0000:00:03.0`.
    pub fn bus_name(&self) -> &CStr {
        // SAFETY: `self.as_raw()` is valid, and the bus name a static string of the bus.
        unsafe { CStr::from_char_ptr(bindings::devlink_bus_name(self.as_raw())) }
    }

    /// Returns the device name of the handle, e.g. `0000:00:03.0` in `pci/0000:00:03.0`.
    pub fn dev_name(&self) -> &CStr {
        // SAFETY: `self.as_raw()` is valid, and the name of its device lives as long as the
        // device, which devlink holds.
        unsafe { CStr::from_char_ptr(bindings::devlink_dev_name(self.as_raw())) }
    }
}

/// The instance lock of a devlink instance, held, with access to the instance's data.
///
/// What [`Devlink::lock`] returns, and what instance operations receive. Dropping it unlocks.
///
/// # Invariants
///
/// The current task holds the instance lock of `devlink`; `locked` is for `devlink`.
pub struct Guard<'a, T: Operations> {
    devlink: &'a Devlink<T>,
    locked: Locked<'a>,
}

impl<'a, T: Operations> Guard<'a, T> {
    /// Returns a guard for a lock that the caller holds.
    ///
    /// # Safety
    ///
    /// The current task must hold the instance lock of `devlink` for `'a`, and must not drop the
    /// guard unless it is to unlock.
    unsafe fn assume_locked(devlink: &'a Devlink<T>) -> ManuallyDrop<Self> {
        // INVARIANT: Guaranteed by the caller.
        ManuallyDrop::new(Self {
            devlink,
            // SAFETY: `devlink` was allocated by `Devlink::new`; the caller guarantees the lock.
            locked: unsafe { Locked::from_raw(devlink.as_raw()) },
        })
    }

    /// Lends the proof that the lock is held, for the `_locked` constructors.
    pub fn locked(&self) -> &Locked<'a> {
        &self.locked
    }
}

impl<T: Operations> Deref for Guard<'_, T> {
    type Target = Devlink<T>;

    fn deref(&self) -> &Devlink<T> {
        self.devlink
    }
}

impl<T: Operations> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // INVARIANT: Null before the lock is released.
        self.devlink
            .private()
            .header
            .holder
            .store(ptr::null_mut(), Relaxed);
        // SAFETY: By the type invariant, the current task holds the lock.
        unsafe { bindings::devl_unlock(self.devlink.as_raw()) };
    }
}

/// The C ops table of instances with driver data `T`.
struct Vtable<T>(PhantomData<T>);

impl<T: Operations> Vtable<T> {
    const OPS: bindings::devlink_ops = bindings::devlink_ops {
        info_get: if T::HAS_INFO_GET {
            Some(Self::info_get)
        } else {
            None
        },
        ..pin_init::zeroed()
    };

    /// # Safety
    ///
    /// Called by the devlink core, with the instance lock held, for an instance of this table,
    /// with a valid info request and a null or valid extack.
    unsafe extern "C" fn info_get(
        devlink: *mut bindings::devlink,
        req: *mut bindings::devlink_info_req,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: The instance uses this table, so it was allocated for `T`; the core calls
        // operations of registered instances only, which the registration keeps alive.
        let devlink = unsafe { Devlink::<T>::from_raw(devlink) };
        let _op = devlink.private().header.enter_op(ptr::null_mut());
        // SAFETY: The core holds the instance lock during the call, and the guard is not
        // dropped.
        let guard = unsafe { Guard::assume_locked(devlink) };
        // SAFETY: `req` is valid and only used by this call.
        let mut req = unsafe { InfoRequest::from_raw(req) };
        // SAFETY: `extack` is null or valid, and only used by this call.
        let mut extack = unsafe { ExtAck::from_raw(extack) };
        from_result(|| {
            T::info_get(&guard, &mut req, &mut extack)?;
            Ok(0)
        })
    }
}
