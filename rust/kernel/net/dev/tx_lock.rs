// SPDX-License-Identifier: GPL-2.0

//! The transmit lock of a network device, and the data of its driver that it protects.
//!
//! The stack serialises a device's transmissions with the lock of its transmit queue
//! (`__netif_tx_lock()`), held around [`Operations::start_xmit`]. A driver keeps what its transmit
//! path works on (a transmit ring) under that same lock, as C drivers that clean their rings
//! under it do, rather than under a lock of its own: the transmit path then takes no lock, and
//! netpoll (netconsole), which calls [`Operations::start_xmit`] from any context with interrupts
//! disabled, knows the lock: it only tries it, and does not poll a device whose transmit lock
//! its CPU holds.
//!
//! Where the lock is taken is restricted so that no CPU waits for a lock it holds: process
//! context with bottom halves enabled ([`Device::with_tx_lock`], one device at a time, as the
//! lock is held with bottom halves disabled), and a poll ([`Poll::tx_lock`], which borrows the
//! poll: a frame handed to the stack meanwhile could be answered at once, by a transmission
//! on this device).
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::{Device, Operations};
use crate::{bindings, net::napi::Poll, net::skbuff::SkBuff, prelude::*};
use core::{
    cell::UnsafeCell,
    ffi::c_int,
    marker::PhantomData,
    ops::{Deref, DerefMut},
    ptr,
};

/// Data of a driver that its device's transmit lock protects.
///
/// A field of the driver's data of a network device, named by [`Operations::tx_data`]: the
/// device's [`Operations::start_xmit`] is given it ([`TxQueue`]), as the stack holds the lock
/// then, and the driver reaches it elsewhere by taking the lock, with [`Device::with_tx_lock`]
/// (process context) or [`Poll::tx_lock`] (its poll).
///
/// # Examples
///
/// ```
/// use kernel::{
///     c_str, device, faux,
///     net::dev::{self, Device, Registration, TxLocked, TxQueue},
///     net::skbuff::SkBuff,
///     prelude::*,
/// };
///
/// /// What the transmit path counts.
/// struct Sent {
///     packets: u64,
/// }
///
/// struct Counting {
///     tx: TxLocked<Sent>,
/// }
///
/// #[vtable]
/// impl dev::Operations for Counting {
///     const DRIVER: &'static CStr = c_str!("counting");
///     type TxData = Sent;
///
///     fn tx_data(&self) -> &TxLocked<Sent> {
///         &self.tx
///     }
///
///     fn start_xmit(
///         &self,
///         _dev: &Device<Self>,
///         tx: &mut TxQueue<'_, Sent>,
///         skb: SkBuff,
///     ) -> dev::TxResult {
///         tx.packets += 1;
///         skb.consume();
///         Ok(())
///     }
/// }
///
/// let fdev = faux::Registration::new(c_str!("rust-netdev-txlock-doc"), None)?;
/// let parent: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = Registration::<Counting>::new(parent, |new| {
///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 3])?;
///     Ok(Counting { tx: TxLocked::new(Sent { packets: 0 }) })
/// })?;
/// let netdev = reg.device();
///
/// netdev.with_tx_lock(|sent| {
///     assert_eq!(sent.packets, 0);
///     sent.packets = 5;
///     // Held with bottom halves disabled, the lock is not taken again, nor are
///     // transmissions disabled meanwhile: both would wait for the lock held.
///     assert_eq!(netdev.with_tx_lock(|_| ()), Err(EDEADLK));
///     assert_eq!(netdev.tx_disable(), Err(EDEADLK));
///     // Completions of more than was handed to the device are refused (the byte queue
///     // limits would take the kernel down; without them, nothing is counted).
///     if cfg!(CONFIG_BQL) {
///         assert_eq!(sent.completed(1, 60), Err(EINVAL));
///     }
///     sent.reset_queue();
/// })?;
/// assert_eq!(netdev.with_tx_lock(|sent| sent.packets)?, 5);
/// netdev.tx_disable()?;
///
/// // Data that is not the device's own, under the lock of every device using it, is refused.
/// static SHARED: TxLocked<()> = TxLocked::new(());
///
/// struct Astray;
///
/// #[vtable]
/// impl dev::Operations for Astray {
///     const DRIVER: &'static CStr = c_str!("astray");
///     type TxData = ();
///
///     fn tx_data(&self) -> &TxLocked<()> {
///         &SHARED
///     }
///
///     fn start_xmit(
///         &self,
///         _dev: &Device<Self>,
///         _tx: &mut TxQueue<'_, ()>,
///         skb: SkBuff,
///     ) -> dev::TxResult {
///         drop(skb);
///         Ok(())
///     }
/// }
///
/// let astray = Registration::<Astray>::new(parent, |new| {
///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 4])?;
///     Ok(Astray)
/// });
/// assert_eq!(astray.err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `data` is accessed only by this module: with the transmit lock held of the device whose
/// private area holds `self` (found through [`Operations::tx_data`], and checked to be there),
/// or, once that device is unregistered, by dropping it with the rest of the driver's data.
pub struct TxLocked<T> {
    data: UnsafeCell<T>,
}

// SAFETY: A shared `TxLocked` gives its `T` to one holder of the transmit lock at a time, which
// may be on any CPU, as a mutex does: `T: Send` suffices.
unsafe impl<T: Send> Sync for TxLocked<T> {}

impl<T> TxLocked<T> {
    /// Data to be protected by the transmit lock of the device whose data holds it.
    pub const fn new(data: T) -> Self {
        Self {
            data: UnsafeCell::new(data),
        }
    }
}

impl<T> Device<T> {
    /// The first transmit queue, the device's only one.
    pub(super) fn tx_queue(&self) -> *mut bindings::netdev_queue {
        // SAFETY: By the type invariant, the device is valid; it has one transmit queue.
        unsafe { bindings::netdev_get_tx_queue(self.as_raw(), 0) }
    }
}

/// Whether the caller runs in process context with bottom halves and interrupts enabled: where
/// taking a transmit lock with bottom halves disabled cannot wait for a lock this CPU holds
/// (every holder of one runs with bottom halves or interrupts disabled), and where bottom halves
/// may be enabled again.
pub(super) fn bh_enabled_task() -> bool {
    // SAFETY: Always safe to call.
    let task =
        unsafe { !bindings::in_hardirq() && !bindings::in_softirq() && !bindings::irqs_disabled() };
    // With PREEMPT_RT, the locks sleep: the task must also be preemptible.
    // SAFETY: Always safe to call.
    task && (!cfg!(CONFIG_PREEMPT_RT) || unsafe { bindings::preemptible() })
}

/// The most bytes the byte queue limits count for one packet (`DQL_MAX_OBJECT`).
const DQL_MAX_OBJECT: u32 = u32::MAX / 16;

impl<T: Operations> Device<T> {
    /// The data of the driver's [`TxLocked`], if it is in the device's private area.
    ///
    /// The allocation checked that it is ([`Unregistered`]); this checks again each time, as
    /// [`Operations::tx_data`] may not give the same field each time.
    ///
    /// [`Unregistered`]: super::Unregistered
    pub(super) fn tx_data_ptr(&self) -> Option<*mut T::TxData> {
        let data = T::tx_data(&self.data()).data.get();
        self.holds(data.cast(), size_of::<T::TxData>())
            .then_some(data)
    }

    /// Runs `f` with the device's transmit lock held and bottom halves disabled
    /// (`__netif_tx_lock_bh()`), after a transmission in progress, with the driver's data that
    /// it protects ([`Operations::tx_data`]).
    ///
    /// Process context only, with bottom halves and interrupts enabled: refused with [`EDEADLK`]
    /// elsewhere, where the lock may be held by this CPU already ([`Operations::start_xmit`],
    /// `f`), or may not be taken (a hard interrupt handler, interrupts disabled, a softirq such
    /// as [`Operations::tx_timeout`], a poll: [`Poll::tx_lock`] is its way). So one transmit
    /// lock at most is held this way, which no other CPU waits for while holding another.
    ///
    /// `f` runs in atomic context: it must not sleep.
    pub fn with_tx_lock<R>(&self, f: impl FnOnce(&mut TxGuard<'_, T::TxData>) -> R) -> Result<R> {
        let data = self.tx_data_ptr().ok_or(EINVAL)?;
        if !bh_enabled_task() {
            return Err(EDEADLK);
        }
        let queue = self.tx_queue();
        // SAFETY: In process context with interrupts enabled (checked above), where bottom
        // halves may be disabled and enabled again. Disabled, they keep the task on this CPU.
        unsafe { bindings::local_bh_disable() };
        // SAFETY: `queue` is the device's, valid, its lock initialised with the device; this
        // CPU does not hold it (it ran with bottom halves enabled, which a holder does not), and
        // holds it with bottom halves disabled, as every other holder does.
        unsafe { bindings::__netif_tx_lock(queue, bindings::raw_smp_processor_id() as c_int) };
        // INVARIANT: This CPU holds the lock of `queue`, released when the guard is dropped,
        // with bottom halves disabled; `data` is in the device's private area.
        let mut guard = TxGuard {
            queue,
            data,
            budget: 0,
            _p: PhantomData,
        };
        let r = f(&mut guard);
        drop(guard);
        // SAFETY: Disabled above, on this CPU. `f` returned: nothing it did keeps interrupts
        // disabled, but a guard of another lock that it leaked.
        unsafe { bindings::local_bh_enable() };
        Ok(r)
    }

    /// Whether the device's private area holds the `len` bytes at `ptr`.
    fn holds(&self, ptr: *const u8, len: usize) -> bool {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { super::private_area_holds(self.as_raw(), ptr, len) }
    }
}

impl Poll<'_> {
    /// Takes the transmit lock of `dev`, for the poll to clean the transmit ring under it,
    /// serialised with [`Operations::start_xmit`]. The guard borrows the poll: frames are not
    /// received while it is held, as the stack may answer one by transmitting on this device.
    ///
    /// Bottom halves are disabled already. Under netpoll (a poll with a budget of zero, with
    /// interrupts disabled and in any context), the lock is only tried: [`EBUSY`] if it is held.
    /// Held, it is atomic context: nothing may sleep.
    #[must_use = "the lock is released when the guard is dropped"]
    pub fn tx_lock<'a, T: Operations>(
        &'a mut self,
        dev: &'a Device<T>,
    ) -> Result<TxGuard<'a, T::TxData>> {
        let data = dev.tx_data_ptr().ok_or(EINVAL)?;
        let queue = dev.tx_queue();
        if self.budget() == 0 {
            // SAFETY: `queue` is the device's, valid; a trylock cannot wait.
            if !unsafe { bindings::__netif_tx_trylock(queue) } {
                return Err(EBUSY);
            }
        } else {
            // SAFETY: `queue` is the device's, valid. A poll with a budget runs with bottom
            // halves disabled, as every holder of the lock does, so this CPU does not hold it:
            // no softirq runs where a holder is, and a poll in a task (threaded, busy polling)
            // holds no transmit lock of this API but this poll's guards, of which none is alive
            // (it would borrow `self`).
            unsafe { bindings::__netif_tx_lock(queue, bindings::raw_smp_processor_id() as c_int) };
        }
        // INVARIANT: This CPU holds the lock of `queue`, with bottom halves (or interrupts)
        // disabled by the poll's caller; `data` is in the device's private area.
        Ok(TxGuard {
            queue,
            data,
            budget: self.budget(),
            _p: PhantomData,
        })
    }
}

/// The transmit queue of a device in [`Operations::start_xmit`], where its lock is held: the
/// data the lock protects ([`TxLocked`]), and the byte queue limits.
///
/// # Invariants
///
/// This CPU holds the lock of `queue`, the transmit queue of a registered device, for `'a`;
/// `data` is the data of the [`TxLocked`] in that device's private area.
pub struct TxQueue<'a, T> {
    queue: *mut bindings::netdev_queue,
    data: &'a mut T,
    /// The caller may say more packets follow (`netdev_xmit_more()`): it is the stack's
    /// transmit path, which sets that, not a caller this call took the lock for.
    more: bool,
}

impl<T> TxQueue<'_, T> {
    /// Accounts a packet of `bytes` (its [`SkBuff::len`]) handed to the device, for the byte
    /// queue limits that keep the device's queue short.
    ///
    /// Returns whether the driver tells the device now: not while the stack has more packets
    /// right behind this one and the queue runs, so that the device is told once per batch.
    /// Every packet accounted is reported with [`TxGuard::completed`] once sent, or forgotten
    /// with [`TxGuard::reset_queue`]. A packet larger than the limits can count
    /// (`DQL_MAX_OBJECT`) is not accounted (nor is it to be reported), and the device is told at
    /// once.
    #[must_use = "the device is to be told of the packet if this returns true"]
    pub fn sent(&mut self, bytes: u32) -> bool {
        if bytes > DQL_MAX_OBJECT {
            return true;
        }
        // SAFETY: Always safe to call; what it reads was set for this call if `more`.
        let more = self.more && unsafe { bindings::netdev_xmit_more() };
        // SAFETY: By the type invariant, the queue is valid and this CPU holds its lock, which
        // serialises the limits' accounting.
        unsafe { bindings::__netdev_tx_sent_queue(self.queue, bytes, more) }
    }
}

impl<T> Deref for TxQueue<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data
    }
}

impl<T> DerefMut for TxQueue<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.data
    }
}

/// The transmit lock of a device, held, and the data it protects ([`TxLocked`]): given by
/// [`Device::with_tx_lock`] to its closure, or returned by [`Poll::tx_lock`]; the lock is
/// released when it is dropped.
///
/// # Invariants
///
/// This CPU holds the lock of `queue`, the transmit queue of a valid device, with bottom halves
/// (or interrupts) disabled, for `'a`; `data` is the data of a [`TxLocked`] in that device's
/// private area, valid for `'a`. If `budget` is not zero, the guard is a poll's, which runs
/// with that budget. The guard releases the lock when dropped.
pub struct TxGuard<'a, T> {
    queue: *mut bindings::netdev_queue,
    data: *mut T,
    budget: c_int,
    /// Borrows the data; not `Send`: the lock is released on the CPU that took it.
    _p: PhantomData<(&'a mut T, *mut ())>,
}

impl<'a, T> TxGuard<'a, T> {
    /// What frees the packets the device sent, usable while the data is borrowed from the
    /// guard (to clean a ring).
    pub fn consumer(&self) -> Consumer<'a> {
        // INVARIANT: The guard's budget: a poll's if it is not zero.
        Consumer {
            budget: self.budget,
            _p: PhantomData,
        }
    }

    /// Reports `packets` of `bytes` in all, as accounted with [`TxQueue::sent`], that the
    /// device sent; the stack may then restart a queue the limits stopped.
    ///
    /// More bytes than are in flight is a bug of the driver's, which the limits would answer
    /// with `BUG()`: then only what is in flight is completed (so that the queue is not left
    /// stopped), and [`EINVAL`] returned.
    pub fn completed(&mut self, packets: u32, bytes: u32) -> Result {
        let in_flight = self.in_flight();
        // SAFETY: By the type invariant, the queue is valid and this CPU holds its lock, which
        // serialises completions with one another and with `sent`: no more than is in flight
        // is completed. Bytes are in flight only once the device is registered (`start_xmit`),
        // so it has a queue discipline to restart; none is touched for none.
        unsafe { bindings::netdev_tx_completed_queue(self.queue, packets, bytes.min(in_flight)) };
        if bytes > in_flight {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Forgets what [`TxQueue::sent`] accounted, for a transmit ring emptied without
    /// completions (the device stopped or was reset).
    pub fn reset_queue(&mut self) {
        // SAFETY: By the type invariant, the queue is valid and this CPU holds its lock, which
        // serialises the reset with `sent` and `completed`.
        unsafe { bindings::netdev_tx_reset_queue(self.queue) };
    }

    /// Bytes accounted by [`TxQueue::sent`] and neither completed nor forgotten.
    fn in_flight(&self) -> u32 {
        #[cfg(CONFIG_BQL)]
        {
            // SAFETY: By the type invariant, the queue is valid, and this CPU holds its lock,
            // under which these two counts change. Only they are read: user space may write
            // other fields of the limits meanwhile.
            let (queued, completed) = unsafe {
                let dql = &raw const (*self.queue).dql;
                (
                    ptr::read(&raw const (*dql).num_queued),
                    ptr::read(&raw const (*dql).num_completed),
                )
            };
            queued.wrapping_sub(completed)
        }
        #[cfg(not(CONFIG_BQL))]
        u32::MAX
    }
}

impl<T> Deref for TxGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: By the type invariant, the lock that protects `data` is held, so nobody else
        // accesses it; it is valid for the guard's lifetime.
        unsafe { &*self.data }
    }
}

impl<T> DerefMut for TxGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: As in `deref`; the guard is borrowed mutably, so this is the only reference.
        unsafe { &mut *self.data }
    }
}

/// Frees the packets a device sent, from a [`TxGuard`] ([`TxGuard::consumer`]).
///
/// # Invariants
///
/// If `budget` is not zero, it is that of the poll in progress on this CPU, for `'a`.
pub struct Consumer<'a> {
    budget: c_int,
    /// Lives within the poll, on its CPU.
    _p: PhantomData<(&'a (), *mut ())>,
}

impl Consumer<'_> {
    /// Frees a packet the device sent: in a poll, in bulk into its context's caches
    /// (`napi_consume_skb()`), cheaper than [`SkBuff::consume`], which it is elsewhere.
    pub fn consume(&self, skb: SkBuff) {
        // SAFETY: A non-zero budget is that of the poll in progress (the type invariant), which
        // runs with bottom halves disabled as the caches require; with zero, the buffer is
        // freed as in any context (`dev_consume_skb_any()`). The buffer is handed over.
        unsafe { bindings::napi_consume_skb(skb.into_raw().as_ptr(), self.budget) };
    }
}

impl<T> Drop for TxGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, this CPU holds the lock of `queue`, valid, and releases
        // it here. Bottom halves are enabled again by whoever disabled them, after.
        unsafe { bindings::__netif_tx_unlock(self.queue) };
    }
}

/// The transmit lock in [`Operations::start_xmit`], released when dropped if the call took it.
///
/// # Invariants
///
/// This CPU holds the lock of `queue`, valid; if `taken`, it took it, with bottom halves
/// disabled by it if `bh`.
pub(super) struct XmitLock {
    queue: *mut bindings::netdev_queue,
    taken: bool,
    bh: bool,
}

impl XmitLock {
    /// The lock of `dev`'s queue for a call of [`Operations::start_xmit`]: the caller's, or
    /// taken here, as a caller may not hold it; `None` if it is busy.
    ///
    /// Every caller in the stack holds it (`HARD_TX_LOCK()`, netpoll's trylock) except rmnet's
    /// MAP command acknowledgements, which hold the global transmit lock only.
    ///
    /// # Safety
    ///
    /// `dev` is registered, and the caller is the stack calling its `ndo_start_xmit`.
    pub(super) unsafe fn get<T>(dev: &Device<T>) -> Option<Self> {
        let queue = dev.tx_queue();
        if Self::owned(queue) {
            // INVARIANT: Held by the caller.
            return Some(Self {
                queue,
                taken: false,
                bh: false,
            });
        }
        // Interrupts enabled: bottom halves are disabled while it is held, as every holder does.
        // SAFETY: Always safe to call.
        let bh = unsafe { !bindings::irqs_disabled() };
        if bh {
            // SAFETY: Interrupts are enabled, and the stack calls no driver operation in a hard
            // interrupt handler with them enabled.
            unsafe { bindings::local_bh_disable() };
        }
        // SAFETY: `queue` is valid; a trylock cannot wait.
        if unsafe { bindings::__netif_tx_trylock(queue) } {
            // INVARIANT: Taken above, with bottom halves disabled above if `bh`.
            return Some(Self {
                queue,
                taken: true,
                bh,
            });
        }
        if bh {
            // SAFETY: Disabled above.
            unsafe { bindings::local_bh_enable() };
        }
        None
    }
}

impl XmitLock {
    /// Whether the caller holds the lock of `queue`, valid.
    fn owned(queue: *mut bindings::netdev_queue) -> bool {
        if cfg!(CONFIG_PREEMPT_RT) {
            // SAFETY: `queue` is valid. With PREEMPT_RT, the owner is compared with the current
            // task, whatever the CPU.
            return unsafe { bindings::netif_tx_owned(queue, 0) };
        }
        // SAFETY: Always safe to call. A caller that may be moved to another CPU holds no
        // spinlock, so not this one, and its check would race with a move.
        let fixed = unsafe { !bindings::preemptible() };
        // SAFETY: `queue` is valid; with the task on this CPU, this CPU holds the lock if its
        // owner is this CPU: a holder is not preempted, and the caller interrupts no holder of
        // it, as it would not be called with the lock held by the context it interrupts.
        fixed && unsafe { bindings::netif_tx_owned(queue, bindings::raw_smp_processor_id()) }
    }

    /// Whether this call took the lock (the caller holds the global lock only).
    pub(super) fn taken(&self) -> bool {
        self.taken
    }
}

impl Drop for XmitLock {
    fn drop(&mut self) {
        if self.taken {
            // SAFETY: By the type invariant, this CPU took the lock of `queue`, valid.
            unsafe { bindings::__netif_tx_unlock(self.queue) };
            if self.bh {
                // SAFETY: By the type invariant, disabled when the lock was taken, on this CPU.
                unsafe { bindings::local_bh_enable() };
            }
        }
    }
}

/// The transmit queue for [`Operations::start_xmit`], whose lock `lock` is; `None` if the
/// driver's data is not in the device's private area.
///
/// # Safety
///
/// `dev` is registered with `T`'s operations, and `lock` is its queue's.
pub(super) unsafe fn xmit_queue<'a, T: Operations>(
    dev: &'a Device<T>,
    lock: &'a XmitLock,
) -> Option<TxQueue<'a, T::TxData>> {
    let data = dev.tx_data_ptr()?;
    // INVARIANT: `lock` is the lock of the queue (the safety requirements), held by this CPU
    // for `'a`.
    Some(TxQueue {
        queue: lock.queue,
        more: !lock.taken,
        // SAFETY: This CPU holds the lock that protects the data (`lock`), which is in the
        // device's private area, so valid while the device is registered; nothing else accesses
        // the data until the lock is released: the stack does not call `start_xmit` again, and
        // no guard of [`Device::with_tx_lock`] or [`Poll::tx_lock`] can be taken meanwhile.
        data: unsafe { &mut *data },
    })
}
