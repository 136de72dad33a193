// SPDX-License-Identifier: GPL-2.0

//! NAPI: a device's receive and completion work, polled in softirq context.
//!
//! The interrupt handler of a NAPI driver masks the device's interrupts and schedules its
//! [`Napi`] (a field of the device's data, see [`Operations::napi`]); the stack then calls
//! [`Operations::poll`] with a budget until the work done falls below it, completes the
//! context and calls [`Operations::poll_complete`], where the driver unmasks the interrupts.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use crate::{
    bindings,
    net::{
        dev::{Device, NewDevice, Operations},
        skbuff::SkBuff,
    },
    prelude::*,
    static_lock_class,
    sync::{
        atomic::{Acquire, Atomic, Release},
        Mutex,
    },
    types::Opaque,
};
use core::{marker::PhantomData, ptr::NonNull};

/// A NAPI context, `struct napi_struct`, of a network device.
///
/// It is a field of the device's data, which [`Operations::napi`] returns: [`Unregistered`]
/// adds it to the device as the data is initialised (refusing one anywhere else, which could
/// outlive the device), and it is deleted before the data is dropped. Until it is added, and
/// until the device is registered, it cannot be enabled.
///
/// [`Unregistered`]: crate::net::dev::Unregistered
///
/// # Invariants
///
/// While `added` is set, `inner` was added to a device with `netif_napi_add()` (with
/// `Operations::poll` of the device's data) that outlives it; it is cleared, under the lock of
/// `enabled`, when the context is deleted (before the data is dropped, by the registration or
/// the unregistered device, or on drop). `enabled` says whether it is enabled, which it is only
/// once its device has been registered.
/// # Examples
///
/// A device whose poll counts its runs (a driver schedules its context from its interrupt
/// handler, once it is enabled):
///
/// ```
/// use kernel::{
///     c_str, device, faux,
///     net::dev::{self, Device, Registration, TxLocked, TxQueue},
///     net::{napi::{Napi, Poll}, skbuff::SkBuff},
///     prelude::*,
///     sync::atomic::{Atomic, Relaxed},
/// };
///
/// #[pin_data]
/// struct Polled {
///     #[pin]
///     napi: Napi,
///     polls: Atomic<u32>,
///     completed: Atomic<u32>,
///     tx: TxLocked<()>,
/// }
///
/// #[vtable]
/// impl dev::Operations for Polled {
///     const DRIVER: &'static CStr = c_str!("polled");
///     type TxData = ();
///
///     fn tx_data(&self) -> &TxLocked<()> {
///         &self.tx
///     }
///
///     fn start_xmit(
///         &self,
///         _dev: &Device<Self>,
///         _tx: &mut TxQueue<'_, ()>,
///         _skb: SkBuff,
///     ) -> dev::TxResult {
///         Ok(())
///     }
///
///     fn napi(&self) -> &Napi {
///         &self.napi
///     }
///
///     fn poll(&self, _dev: &Device<Self>, _poll: &mut Poll<'_>, _budget: u32) -> u32 {
///         self.polls.fetch_add(1, Relaxed);
///         0
///     }
///
///     fn poll_complete(&self, _dev: &Device<Self>) {
///         self.completed.fetch_add(1, Relaxed);
///     }
/// }
///
/// let fdev = faux::Registration::new(c_str!("rust-napi-doc"), None)?;
/// let parent: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = Registration::<Polled>::new(parent, |new| {
///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 2])?;
///     Ok(pin_init!(Polled {
///         napi <- Napi::new(),
///         polls: Atomic::new(0),
///         completed: Atomic::new(0),
///         tx: TxLocked::new(()),
///     }))
/// })?;
/// let data = reg.data();
///
/// // Disabled: nothing is scheduled.
/// assert!(!data.napi.schedule());
///
/// // Enabling or disabling twice is harmless.
/// data.napi.enable();
/// data.napi.enable();
/// data.napi.disable();
/// data.napi.disable();
/// assert!(!data.napi.schedule());
/// // Never scheduled, never polled.
/// assert_eq!((data.polls.load(Relaxed), data.completed.load(Relaxed)), (0, 0));
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct Napi {
    #[pin]
    inner: Opaque<bindings::napi_struct>,
    added: Atomic<bool>,
    /// Enabling an enabled context, or disabling a disabled one, is a bug (or a hang) in C.
    #[pin]
    enabled: Mutex<bool>,
}

/// The lock class name of every context's `enabled`, in a static so that the copies of
/// [`Napi::new`] inlined into other crates use the same name, whose address lockdep compares.
static ENABLED_NAME: &CStr = c"napi_enabled";

// SAFETY: The C functions called on a NAPI context may be called from any thread.
unsafe impl Send for Napi {}

// SAFETY: The C functions called on a shared NAPI context synchronise by themselves; `enabled`
// is behind a mutex.
unsafe impl Sync for Napi {}

impl Napi {
    /// A NAPI context, to be a field of the data of a device whose operations return it from
    /// [`Operations::napi`]. It starts disabled.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner: Opaque::uninit(),
            added: Atomic::new(false),
            enabled <- Mutex::new(false, ENABLED_NAME, static_lock_class!()),
        })
    }

    fn as_raw(&self) -> *mut bindings::napi_struct {
        self.inner.get()
    }

    fn is_added(&self) -> bool {
        self.added.load(Acquire)
    }

    /// Adds the context to `dev`, with `T`'s poll.
    ///
    /// # Safety
    ///
    /// `dev` is allocated and not registered, and its private area holds an initialised `T`
    /// whose [`Operations::napi`] is `self`; this is called once.
    pub(crate) unsafe fn add<T: Operations>(&self, dev: &NewDevice<T>) -> Result {
        if !dev.holds(self.as_raw().cast(), size_of::<bindings::napi_struct>()) {
            return Err(EINVAL);
        }
        // SAFETY: `dev` is valid and not registered; the context is in its private area, so it
        // is deleted (dropped) before the device is freed.
        unsafe { bindings::netif_napi_add(dev.as_raw(), self.as_raw(), Some(poll_callback::<T>)) };
        // INVARIANT: Added above, to a device that outlives the context.
        self.added.store(true, Release);
        Ok(())
    }

    /// Links the device's receive and transmit queue to the context, so that user space sees
    /// which context serves them (the `netdev` netlink family's `queue-get`).
    ///
    /// # Safety
    ///
    /// `dev` is allocated and not registered (the stack requires the RTNL lock otherwise), and
    /// the context was added to it.
    pub(crate) unsafe fn link_queues(&self, dev: *mut bindings::net_device) {
        for kind in [
            bindings::netdev_queue_type_NETDEV_QUEUE_TYPE_RX,
            bindings::netdev_queue_type_NETDEV_QUEUE_TYPE_TX,
        ] {
            // SAFETY: `dev` is valid, not registered, and has queue 0 of each kind; the
            // context was added to it, and is deleted only after the device is unregistered.
            unsafe { bindings::netif_queue_set_napi(dev, 0, kind, self.as_raw()) };
        }
    }

    /// Enables the context, e.g. when the device is brought up; does nothing if it is enabled,
    /// not added, or its device was never registered ([`Unregistered`]: a poll hands frames
    /// to the stack for the device, which may be freed at once). Sleeps.
    ///
    /// [`Unregistered`]: crate::net::dev::Unregistered
    pub fn enable(&self) {
        let mut enabled = self.enabled.lock();
        if self.is_added() && !*enabled && self.device_registered() {
            // SAFETY: By the type invariant, the context was added; it is disabled.
            unsafe { bindings::napi_enable(self.as_raw()) };
            *enabled = true;
        }
    }

    /// Whether the device the context was added to is registered, or was.
    fn device_registered(&self) -> bool {
        // SAFETY: Called with the context added (by the type invariant, to a valid device that
        // outlives it); its `dev` was set by `netif_napi_add()`.
        unsafe { Device::<()>::from_raw((*self.as_raw()).dev) }.has_qdisc()
    }

    /// Disables the context, waiting for a poll in progress; does nothing if it is disabled.
    /// Sleeps.
    pub fn disable(&self) {
        let mut enabled = self.enabled.lock();
        if *enabled {
            // SAFETY: By the type invariant, the context was added and is enabled.
            unsafe { bindings::napi_disable(self.as_raw()) };
            *enabled = false;
        }
    }

    /// Schedules a poll, typically from the interrupt handler; returns whether it was
    /// scheduled (not if it is disabled or scheduled already). Any context.
    pub fn schedule(&self) -> bool {
        // SAFETY: By the type invariant, the context was added; a disabled one is never
        // scheduled.
        self.is_added() && unsafe { bindings::napi_schedule(self.as_raw()) }
    }

    /// Disables (waiting for a poll in progress) and deletes the context: no poll runs from
    /// then on, and enabling it does nothing. Called before the data the poll uses is dropped
    /// (by the registration, or the unregistered device). Sleeps.
    pub(crate) fn remove(&self) {
        let mut enabled = self.enabled.lock();
        if !self.is_added() {
            return;
        }
        if *enabled {
            // SAFETY: By the type invariant, the context was added and is enabled.
            unsafe { bindings::napi_disable(self.as_raw()) };
            *enabled = false;
        }
        // SAFETY: By the type invariant, the context was added and not deleted; it is disabled.
        // A concurrent `schedule` that saw it added finds it disabled (a disabled context stays
        // marked scheduled), and does nothing.
        unsafe { bindings::netif_napi_del(self.as_raw()) };
        // INVARIANT: Deleted above, under the lock of `enabled`.
        self.added.store(false, Release);
    }
}

#[pinned_drop]
impl PinnedDrop for Napi {
    fn drop(self: Pin<&mut Self>) {
        self.remove();
    }
}

/// A poll in progress, given to [`Operations::poll`]: what may only be done from there.
pub struct Poll<'a> {
    napi: &'a Napi,
    /// The poll's budget: zero for netpoll, which polls in any context, interrupts disabled.
    budget: c_int,
    _not_send: PhantomData<*mut ()>,
}

impl Poll<'_> {
    /// The context being polled.
    pub fn napi(&self) -> &Napi {
        self.napi
    }

    /// Allocates a buffer for a received frame of up to `len` bytes from the context's
    /// caches, cheaper than [`Device::alloc_rx_skb`] where a poll refills its ring.
    ///
    /// Refused with [`EBUSY`] under netpoll (a budget of zero), which may poll from where the
    /// caches are in use, and does not receive.
    ///
    /// [`Device::alloc_rx_skb`]: crate::net::dev::Device::alloc_rx_skb
    pub fn alloc_skb(&self, len: u32) -> Result<SkBuff> {
        if self.budget == 0 {
            return Err(EBUSY);
        }
        // SAFETY: The context is being polled with a budget (softirq, or a task, with bottom
        // halves disabled), as `napi_alloc_skb()` requires.
        let skb = unsafe { bindings::napi_alloc_skb(self.napi.as_raw(), len) };
        // SAFETY: A new buffer, which the caller owns.
        NonNull::new(skb)
            .map(|skb| unsafe { SkBuff::from_raw(skb) })
            .ok_or(ENOMEM)
    }

    /// The poll's budget: zero for netpoll, which polls with interrupts disabled, in any
    /// context, and only to clean transmit rings.
    pub(crate) fn budget(&self) -> c_int {
        self.budget
    }

    /// Hands a received Ethernet frame to the stack, through generic receive offload.
    ///
    /// Under netpoll (a budget of zero), which may poll with interrupts disabled and in any
    /// context, nothing is received: the frame is dropped. So is a frame shorter than an
    /// Ethernet header, whose header would be read from beyond its data.
    pub fn receive(&self, skb: SkBuff) {
        if self.budget == 0 || skb.len() < bindings::ETH_HLEN {
            drop(skb);
            return;
        }
        let napi = self.napi.as_raw();
        let skb = skb.into_raw().as_ptr();
        // SAFETY: The context is being polled with a budget, as GRO requires; its device is
        // valid; the stack takes the buffer.
        unsafe {
            bindings::skb_set_protocol(skb, bindings::eth_type_trans(skb, (*napi).dev));
            bindings::napi_gro_receive(napi, skb);
        }
    }
}

/// # Safety
///
/// Called by the stack with a context added by [`Napi::new`] for `T`.
unsafe extern "C" fn poll_callback<T: Operations>(
    napi: *mut bindings::napi_struct,
    budget: c_int,
) -> c_int {
    // SAFETY: By the safety requirements, `napi` is the `inner` field of a `Napi`, added to a
    // device with `T`'s operations: polls only happen once it is enabled (after the device was
    // registered), and before the device's data is dropped.
    let (napi, dev) = unsafe {
        let napi = &*crate::container_of!(Opaque::cast_from(napi).cast_mut(), Napi, inner);
        (napi, Device::<T>::from_raw((*napi.as_raw()).dev))
    };
    let mut poll = Poll {
        napi,
        budget: budget.max(0),
        _not_send: PhantomData,
    };
    let budget = u32::try_from(budget).unwrap_or(0);
    let work = T::poll(&dev.data(), dev, &mut poll, budget).min(budget);
    // A budget of zero (netpoll) is never completed.
    // SAFETY: The context is being polled; `work` is below the budget.
    if work < budget && unsafe { bindings::napi_complete_done(napi.as_raw(), work as c_int) } {
        T::poll_complete(&dev.data(), dev);
    }
    work as c_int
}
