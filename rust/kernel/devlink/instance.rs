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
    error::{from_result, VTABLE_DEFAULT_ERROR},
    net::netlink::ExtAck,
    prelude::*,
    static_lock_class,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        atomic::{Acquire, Atomic, Release},
        Refcount, SrcuFast,
    },
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
#[vtable]
pub trait Operations: Sized + Send + Sync {
    /// Fills the answer to `devlink dev info`: serial number and versions.
    ///
    /// The devlink core adds the driver name by itself.
    fn info_get(
        _devlink: &Guard<'_, Self>,
        _req: &mut InfoRequest<'_>,
        _extack: &mut ExtAck,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// What precedes the driver's data in the private area of a `struct devlink`.
///
/// Ports and health reporters keep the instance alive through it without knowing the driver's
/// type, see [`InstanceRef`].
#[repr(C)]
#[pin_data]
pub(crate) struct Header {
    /// References to the instance: the registration, [`ARef`]s, ports and reporters.
    refs: Refcount,
    /// Drops the driver's data and frees the instance; called when `refs` drops to zero.
    release: unsafe fn(NonNull<bindings::devlink>),
    /// Whether the instance is registered, read under `srcu`.
    registered: Atomic<bool>,
    /// Lets unregistration wait for reports in flight (they may sleep). SRCU-fast: reports
    /// are the hot path, unregistration is rare and may wait for an RCU grace period.
    #[pin]
    srcu: SrcuFast,
}

/// The lock class name of the SRCU of every instance, in a static so that the copies of
/// [`Header::new`] inlined into other crates use the same name, whose address lockdep compares.
static SRCU_NAME: &CStr = c"devlink_instance";

impl Header {
    /// Not generic, so that all instances share one lock class.
    fn new(release: unsafe fn(NonNull<bindings::devlink>)) -> impl PinInit<Self, Error> {
        try_pin_init!(Header {
            refs: Refcount::new(1),
            release,
            registered: Atomic::new(false),
            srcu <- SrcuFast::new(SRCU_NAME, static_lock_class!()),
        }? Error)
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

/// The private area of a `struct devlink` allocated by [`Registration::new`].
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
/// Obtained from its [`Registration`], as an [`ARef`] that keeps it alive, or in an operation.
/// It dereferences to the driver's data.
///
/// # Invariants
///
/// `self.0` is a `struct devlink` allocated by [`Registration::new`] for `T`: its private area
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

        // SAFETY: The ops table is a constant that lives forever; `init_net` is the initial
        // network namespace; `dev` is a valid device, of which devlink takes a reference.
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
            header <- Header::new(release::<T>),
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
    /// `ptr` must point to a `struct devlink` allocated by [`Registration::new`] for `T` and be
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
    /// Sleeps. The devlink core takes this lock around every operation it calls, and
    /// [`Reporter::report`](super::health::Reporter::report) takes it too: calling either, or
    /// dropping a port or a reporter, while holding the guard deadlocks.
    pub fn lock(&self) -> Guard<'_, T> {
        // SAFETY: `self.as_raw()` is valid.
        unsafe { bindings::devl_lock(self.as_raw()) };
        // INVARIANT: Locked above.
        Guard {
            devlink: self,
            _not_send: NotThreadSafe,
        }
    }
}

impl<T: Operations> Deref for Devlink<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data()
    }
}

/// Returns the header of an instance allocated by [`Registration::new`], whatever its `T`.
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
/// `raw` must point to an instance allocated by [`Registration::new`] for `T`, unregistered,
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
/// `raw` must point to an instance allocated by [`Registration::new`], and the caller must own
/// a reference to it that it no longer uses.
unsafe fn put(raw: NonNull<bindings::devlink>) {
    // SAFETY: The caller owns a reference, so `raw` is valid.
    let header = unsafe { header(raw) };
    if header.refs.dec_and_test() {
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

/// A reference to a devlink instance of any driver data type.
///
/// Held by ports and health reporters, so that the instance is freed after them.
///
/// # Invariants
///
/// `raw` points to an instance allocated by [`Registration::new`], on which this value owns a
/// reference; `header` points to the header in its private area.
pub(crate) struct InstanceRef {
    raw: NonNull<bindings::devlink>,
    /// Found once: every report reads it, and `devlink_priv()` is a call into the core.
    header: NonNull<Header>,
}

// SAFETY: A reference may be dropped from any thread.
unsafe impl Send for InstanceRef {}

// SAFETY: Shared `InstanceRef`s only give access to the header, which is `Sync`.
unsafe impl Sync for InstanceRef {}

impl InstanceRef {
    pub(crate) fn new<T: Operations>(devlink: &Devlink<T>) -> Self {
        devlink.inc_ref();
        // INVARIANT: Took a reference above; `header` is that of `devlink`.
        Self {
            raw: NonNull::from(devlink).cast(),
            header: NonNull::from(&devlink.private().header),
        }
    }

    #[inline]
    pub(crate) fn as_raw(&self) -> *mut bindings::devlink {
        self.raw.as_ptr()
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: By the type invariant, `header` is that of an instance that stays valid while
        // `self` exists.
        unsafe { self.header.as_ref() }
    }
}

impl Drop for InstanceRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self` owns a reference, given up here.
        unsafe { put(self.raw) }
    }
}

/// A registered devlink instance; dropping it unregisters the instance.
///
/// The instance itself is freed when the last reference to it is gone: the registration's, and
/// those of its ports and health reporters, which may thus outlive the registration without
/// dangling. Reporters of an unregistered instance no longer report (see
/// [`Reporter::report`](super::health::Reporter::report)).
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
/// let reg = devlink::Registration::new(dev, Board { serial: 42 })?;
///
/// assert_eq!(reg.serial, 42);
/// assert_eq!(reg.bus_name(), c_str!("faux"));
/// assert_eq!(reg.dev_name(), c_str!("rust-devlink-doc"));
/// assert!(reg.is_registered());
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `devlink` is registered for as long as `self` exists.
pub struct Registration<T: Operations> {
    devlink: ARef<Devlink<T>>,
}

impl<T: Operations> Registration<T> {
    /// Allocates a devlink instance for `dev`, with `data` as the driver's data, and registers
    /// it.
    pub fn new<E>(dev: &device::Device<device::Bound>, data: impl PinInit<T, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        let devlink = Devlink::new(dev, data)?;
        // SAFETY: `devlink` is valid and not registered.
        unsafe { bindings::devlink_register(devlink.as_raw()) };
        devlink.private().header.registered.store(true, Release);
        // INVARIANT: Registered above.
        Ok(Self { devlink })
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
    fn drop(&mut self) {
        let header = &self.devlink.private().header;
        header.registered.store(false, Release);
        // Reports that saw the instance registered finish before it is unregistered.
        header.srcu.synchronize();
        // SAFETY: By the type invariant, the instance is registered.
        unsafe { bindings::devlink_unregister(self.devlink.as_raw()) };
    }
}

/// The instance lock of a devlink instance, held.
///
/// Proof that the lock is held, for the functions that need it (the `devl_*` C functions),
/// and what instance operations receive. Dropping it unlocks.
///
/// # Invariants
///
/// The current task holds the instance lock of `devlink`.
pub struct Guard<'a, T: Operations> {
    devlink: &'a Devlink<T>,
    _not_send: NotThreadSafe,
}

impl<'a, T: Operations> Guard<'a, T> {
    /// Returns a guard for a lock that the caller holds.
    ///
    /// # Safety
    ///
    /// The current task must hold the instance lock of `devlink` while the returned guard
    /// exists, and must not drop the guard unless it is to unlock.
    unsafe fn assume_locked(devlink: &'a Devlink<T>) -> ManuallyDrop<Self> {
        // INVARIANT: Guaranteed by the caller.
        ManuallyDrop::new(Self {
            devlink,
            _not_send: NotThreadSafe,
        })
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
