// SPDX-License-Identifier: GPL-2.0

//! Ethernet network devices.
//!
//! A driver allocates a network device with private data of its own type, which implements the
//! device's [`Operations`] ([`Unregistered`]), sets up what uses the device, and registers it
//! last: from then on the stack calls the operations, and user space sees an interface (`eth0`
//! ...). Dropping the [`Registration`] drops what the driver attached to it, unregisters the
//! device (stopping it first if it is up) and frees it.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h)

use crate::{
    bindings, device,
    error::{from_result, VTABLE_DEFAULT_ERROR},
    net::{
        napi::{Napi, Poll},
        skbuff::SkBuff,
    },
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
    workqueue::{Affinity, OwnedQueue},
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::{self, NonNull},
};

mod tx_lock;
pub use tx_lock::{Consumer, TxGuard, TxLocked, TxQueue};

/// The length of an Ethernet (MAC) address.
pub const ETH_ALEN: usize = bindings::ETH_ALEN as usize;

/// An Ethernet (MAC) address.
pub type MacAddress = [u8; ETH_ALEN];

crate::impl_flags!(
    /// Offloads of a device (`netdev_features_t`), set with [`NewDevice::set_features`].
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Features(u64);

    /// An offload (`NETIF_F_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Feature {
        /// Scatter-gather: packets come in fragments ([`SkBuff::nr_frags`]).
        Sg = 1 << bindings::NETIF_F_SG_BIT,
        /// The device computes checksums of any protocol ([`SkBuff::checksum_request`]).
        ///
        /// [`SkBuff::checksum_request`]: crate::net::skbuff::SkBuff::checksum_request
        HwCsum = 1 << bindings::NETIF_F_HW_CSUM_BIT,
        /// The device segments TCP over IPv4
        /// ([`SkBuff::prepare_tcp4_segmentation`]); needs [`Feature::Sg`] and a checksum
        /// feature.
        ///
        /// [`SkBuff::prepare_tcp4_segmentation`]:
        ///     crate::net::skbuff::SkBuff::prepare_tcp4_segmentation
        Tso = 1 << bindings::NETIF_F_TSO_BIT,
    }
);

/// What [`Operations::start_xmit`] did with a packet.
pub type TxResult = core::result::Result<(), SkBuff>;

/// The operations of a network device (`struct net_device_ops`), and its basic ethtool
/// operations.
///
/// Implemented by the driver's private data of the device. Unless noted, operations run in
/// process context with the RTNL lock held.
#[vtable]
pub trait Operations: Sized + Send + Sync + 'static {
    /// The driver's name, reported by `ethtool -i`.
    const DRIVER: &'static CStr;

    /// Brings the device up (`ip link set ... up`): allocates what it needs to run, enables
    /// the hardware and its interrupts, and starts the transmit queue.
    fn open(&self, _dev: &Device<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Brings the device down: the reverse of [`Operations::open`].
    fn stop(&self, _dev: &Device<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// What the transmit path works on (a transmit ring), protected by the device's transmit
    /// lock: see [`TxLocked`].
    type TxData: Send;

    /// The driver's [`TxLocked`] data, a field of `self`. A device whose data does not hold it
    /// is refused at allocation with [`EINVAL`].
    fn tx_data(&self) -> &TxLocked<Self::TxData>;

    /// Transmits `skb`, or gives it back with `Err` if there is no room, in which case the
    /// stack queues it again; a driver stops its queue before it runs out of room, so that
    /// this does not happen. `tx` is the transmit queue, locked: the driver's [`TxLocked`]
    /// data and the byte queue limits.
    ///
    /// Runs with bottom halves disabled (or, from netpoll, interrupts disabled), with the
    /// device's transmit lock held: serialised with itself and with the holders of
    /// [`Device::with_tx_lock`] and [`Poll::tx_lock`].
    fn start_xmit(
        &self,
        dev: &Device<Self>,
        tx: &mut TxQueue<'_, Self::TxData>,
        skb: SkBuff,
    ) -> TxResult;

    /// Fills the device's counters (`ip -s link`). Runs in any context, concurrently with
    /// everything else.
    fn get_stats64(&self, _dev: &Device<Self>, _stats: &mut Stats64<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called by the stack's watchdog when the transmit queue `queue` stayed stopped for
    /// longer than the watchdog timeout. Runs in softirq context, with the device's global
    /// transmit lock held (`netif_tx_lock()`): a reset is left to a work item, and the transmit
    /// lock is not taken ([`Device::with_tx_lock`] refuses).
    fn tx_timeout(&self, _dev: &Device<Self>, _queue: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The device's NAPI context, a field of the driver's data, which the registration adds
    /// to the device; needed with [`Operations::poll`].
    fn napi(&self) -> &Napi {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Polls the device's NAPI context (see [`napi`]): handles at most `budget` received
    /// packets, and completed transmissions, returning the number of packets received. When
    /// that is below `budget` the poll is over: the stack completes the context and calls
    /// [`Operations::poll_complete`]. Runs in softirq context.
    ///
    /// [`napi`]: crate::net::napi
    fn poll(&self, _dev: &Device<Self>, _poll: &mut Poll<'_>, _budget: u32) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when a poll is over and the context is no longer scheduled: the driver unmasks
    /// the interrupts that schedule it. Runs in softirq context.
    fn poll_complete(&self, _dev: &Device<Self>) {}

    /// Fills the link settings reported by `ethtool` (speed, duplex, port).
    fn get_link_ksettings(&self, _dev: &Device<Self>, _settings: &mut LinkSettings) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Programs the device's receive filter as `filter` says (`ndo_set_rx_mode`): promiscuous,
    /// every multicast group, or the groups joined. Called while the device is up, whenever
    /// the filter changes, and after [`Operations::open`]; a driver that resets its device keeps
    /// what it was last given, to program it again.
    ///
    /// The device has no unicast filter of its own: while the stack asks for unicast addresses
    /// besides the device's own, it sets the device promiscuous. Runs in any context with bottom
    /// halves disabled, serialised with itself by the device's address lock.
    fn set_rx_mode(&self, _dev: &Device<Self>, _filter: &RxFilter<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The receive filter of a device, as [`Operations::set_rx_mode`] is to program it.
///
/// # Invariants
///
/// `dev` is a valid network device whose address lock (`netif_addr_lock()`) is held for `'a`,
/// so that its address lists do not change.
pub struct RxFilter<'a> {
    dev: *mut bindings::net_device,
    _p: PhantomData<&'a ()>,
}

impl RxFilter<'_> {
    fn flags(&self) -> u32 {
        // SAFETY: By the type invariant, the device is valid; its flags change under the RTNL
        // lock, and are read racily here as in C.
        unsafe { ptr::read_volatile(&raw const (*self.dev).flags) }
    }

    /// Whether the device is to receive every frame (`IFF_PROMISC`).
    pub fn promiscuous(&self) -> bool {
        self.flags() & bindings::net_device_flags_IFF_PROMISC != 0
    }

    /// Whether the device is to receive every multicast frame (`IFF_ALLMULTI`).
    pub fn all_multicast(&self) -> bool {
        self.flags() & bindings::net_device_flags_IFF_ALLMULTI != 0
    }

    /// The multicast addresses the device is to receive (`netdev_for_each_mc_addr()`).
    pub fn multicast(&self) -> impl Iterator<Item = MacAddress> + '_ {
        // SAFETY: By the type invariant, the device is valid and its multicast list, whose
        // entries are `netdev_hw_addr` linked by `list`, does not change for the borrow of
        // `self`; `HwAddr` is a transparent wrapper.
        let list = unsafe {
            crate::interop::list::clist_create!(
                &raw mut (*self.dev).mc.list,
                HwAddr,
                bindings::netdev_hw_addr,
                list
            )
        };
        list.iter().map(HwAddr::mac)
    }

    /// The number of multicast addresses (`netdev_mc_count()`).
    pub fn multicast_count(&self) -> usize {
        // SAFETY: By the type invariant, the device is valid and its list does not change.
        let count = unsafe { (*self.dev).mc.count };
        usize::try_from(count).unwrap_or(0)
    }
}

/// An entry of an address list of a device, `struct netdev_hw_addr`.
#[repr(transparent)]
struct HwAddr(Opaque<bindings::netdev_hw_addr>);

impl HwAddr {
    /// The address, as an Ethernet address.
    fn mac(&self) -> MacAddress {
        let mut mac = [0; ETH_ALEN];
        // SAFETY: The entry is valid while borrowed (an entry of a list that does not change);
        // its `addr` is `MAX_ADDR_LEN` bytes, more than `ETH_ALEN`.
        let addr = unsafe { &(*self.0.get()).addr };
        mac.copy_from_slice(&addr[..ETH_ALEN]);
        mac
    }
}

/// The name of a network device (`eth0` ...), as it was when [`Device::name`] copied it.
///
/// The stack renames a device in place: a reference into its name could change under the
/// reader, so the name is copied.
#[derive(Clone, Copy, Debug)]
pub struct Name([u8; bindings::IFNAMSIZ as usize]);

impl Name {
    /// The name, as a C string.
    pub fn as_cstr(&self) -> &CStr {
        // The copy always ends with a NUL (`Device::name`).
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }
}

impl crate::fmt::Display for Name {
    fn fmt(&self, f: &mut crate::fmt::Formatter<'_>) -> crate::fmt::Result {
        crate::fmt::Display::fmt(self.as_cstr(), f)
    }
}

/// A network device, `struct net_device`, whose private area holds a `T` if `T` is not `()`.
///
/// An [`ARef<Device<T>>`] keeps the device, and its data, alive: unregistering a device waits
/// until its references are gone, and [`Registration`] drops the data after that; an
/// [`Unregistered`] device still referenced when it is dropped is leaked, data and all.
///
/// [`ARef<Device<T>>`]: crate::sync::aref::ARef
///
/// # Invariants
///
/// `self.0` is a valid network device, kept alive by whoever handed out the reference. If `T`
/// is not `()`, the device was allocated by an [`Unregistered<T>`] (and maybe registered by
/// the [`Registration<T>`] it became), and its private area holds an initialised `T` while the
/// device is referenced.
#[repr(transparent)]
pub struct Device<T = ()>(Opaque<bindings::net_device>, PhantomData<T>);

// SAFETY: The functions called on a network device may be called from any thread; `T` is
// `Send + Sync` for every device with data (`Operations`).
unsafe impl<T: Send + Sync> Send for Device<T> {}

// SAFETY: The functions called on a shared network device synchronise by themselves; `&T` is
// shared only if `T: Sync`.
unsafe impl<T: Send + Sync> Sync for Device<T> {}

// SAFETY: `dev_hold()` and `dev_put()` keep the device alive while a reference is counted:
// unregistration waits for the references to go before the data is dropped and the device
// freed, and a device never registered is leaked if it is referenced when it would be freed.
unsafe impl<T: Send + Sync> AlwaysRefCounted for Device<T> {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::dev_hold(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference counted by `inc_ref`.
        unsafe { bindings::dev_put(obj.cast().as_ptr()) };
    }
}

impl<T: Operations> Device<T> {
    /// The driver's data.
    pub fn data(&self) -> Pin<&T> {
        // SAFETY: By the type invariant, the private area holds an initialised `T`, pinned
        // until the device is freed.
        unsafe { Pin::new_unchecked(&*data_of::<T>(self.as_raw())) }
    }

    /// The device without its type, for what does not need the data.
    pub fn untyped(&self) -> &Device {
        // SAFETY: Same layout; `Device<()>` makes no claim on the private area.
        unsafe { Device::from_raw(self.as_raw()) }
    }
}

impl<T> Device<T> {
    /// Returns a reference to the device behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid network device that stays valid for `'a`; if `T` is not `()`, one
    /// allocated by an [`Unregistered<T>`].
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper; the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `struct net_device`.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Whether the transmit queue has a queue discipline: the device is registered, or was.
    ///
    /// Before registration (`dev_init_scheduler()`) it has none, and what would schedule it
    /// (waking the queue, completing transmissions that the byte queue limits stopped)
    /// dereferences a null pointer.
    pub(crate) fn has_qdisc(&self) -> bool {
        let queue = self.tx_queue();
        // SAFETY: `queue` is valid. The pointer is only compared: registration sets it, and it
        // never becomes null again (`dev_shutdown()` sets the `noop` discipline).
        !unsafe { ptr::read_volatile(&raw const (*queue).qdisc) }.is_null()
    }

    /// The interface name (`eth0` ...), copied: a rename (under the RTNL lock) changes it in
    /// place.
    pub fn name(&self) -> Name {
        let mut name = [0; bindings::IFNAMSIZ as usize];
        // SAFETY: By the type invariant, the device is valid; `name` is an array of `IFNAMSIZ`
        // bytes, read byte by byte as a rename may write it meanwhile (as `strscpy()` does in
        // C: the copy may mix two names, never reads out of the array).
        let src = unsafe { &raw const (*self.as_raw()).name };
        for (i, b) in name.iter_mut().enumerate() {
            // SAFETY: `i` is within the array (see above).
            *b = unsafe { ptr::read_volatile(src.cast::<u8>().add(i)) };
        }
        name[bindings::IFNAMSIZ as usize - 1] = 0;
        Name(name)
    }

    /// Prints `msg` at `klevel`, prefixed with the driver, the parent's bus address and the
    /// interface name, as `netdev_printk()` does.
    ///
    /// # Safety
    ///
    /// `klevel` is one of the `KERN_*` constants.
    #[cfg_attr(not(CONFIG_PRINTK), allow(unused_variables))]
    unsafe fn printk(&self, klevel: &[u8], msg: crate::fmt::Arguments<'_>) {
        // SAFETY: `klevel` is a NUL-terminated level (safety requirements); the device is
        // valid (type invariant); "%pA" takes a pointer to `fmt::Arguments`, which is passed.
        #[cfg(CONFIG_PRINTK)]
        unsafe {
            bindings::netdev_printk(
                klevel.as_ptr().cast::<c_char>(),
                self.as_raw(),
                c"%pA".as_char_ptr(),
                ptr::from_ref(&msg).cast::<c_void>(),
            )
        };
    }

    /// Prints an error message prefixed with the device (`netdev_err()`); see
    /// [`netdev_err!`](crate::netdev_err).
    pub fn pr_err(&self, msg: crate::fmt::Arguments<'_>) {
        // SAFETY: A `KERN_*` constant.
        unsafe { self.printk(bindings::KERN_ERR, msg) };
    }

    /// Prints a warning prefixed with the device (`netdev_warn()`); see
    /// [`netdev_warn!`](crate::netdev_warn).
    pub fn pr_warn(&self, msg: crate::fmt::Arguments<'_>) {
        // SAFETY: A `KERN_*` constant.
        unsafe { self.printk(bindings::KERN_WARNING, msg) };
    }

    /// Prints an informational message prefixed with the device (`netdev_info()`); see
    /// [`netdev_info!`](crate::netdev_info).
    pub fn pr_info(&self, msg: crate::fmt::Arguments<'_>) {
        // SAFETY: A `KERN_*` constant.
        unsafe { self.printk(bindings::KERN_INFO, msg) };
    }

    /// The interface index.
    pub fn ifindex(&self) -> i32 {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { (*self.as_raw()).ifindex }
    }

    /// The MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: By the type invariant, the device is valid; `mtu` is read racily by the
        // stack too.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// The MAC address.
    pub fn mac_address(&self) -> MacAddress {
        let mut addr = [0; ETH_ALEN];
        // SAFETY: By the type invariant, the device is valid; an Ethernet device's `dev_addr`
        // points to `ETH_ALEN` bytes.
        unsafe { ptr::copy_nonoverlapping((*self.as_raw()).dev_addr, addr.as_mut_ptr(), ETH_ALEN) };
        addr
    }

    /// Whether the device is up.
    pub fn is_running(&self) -> bool {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::netif_running(self.as_raw()) }
    }

    /// Tells the stack that the link is up.
    pub fn carrier_on(&self) {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::netif_carrier_on(self.as_raw()) };
    }

    /// Tells the stack that the link is down.
    pub fn carrier_off(&self) {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::netif_carrier_off(self.as_raw()) };
    }

    /// Whether the stack sees the link up.
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Allocates a buffer for a received frame of up to `len` bytes, with the headroom the
    /// stack wants before the frame (`netdev_alloc_skb_ip_align()`); any context.
    ///
    /// [`ENODEV`] before the device is registered ([`Unregistered`]).
    pub fn alloc_rx_skb(&self, len: u32) -> Result<SkBuff> {
        // A buffer points to its device, which an unregistered device's owner may free at once.
        if !self.has_qdisc() {
            return Err(ENODEV);
        }
        // SAFETY: By the type invariant, the device is valid.
        let skb = unsafe { bindings::netdev_alloc_skb_ip_align(self.as_raw(), len) };
        // SAFETY: A new buffer, which the caller owns.
        NonNull::new(skb)
            .map(|skb| unsafe { SkBuff::from_raw(skb) })
            .ok_or(ENOMEM)
    }

    /// Lets the stack transmit (the device has one transmit queue).
    pub fn start_queue(&self) {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::netif_start_queue(self.as_raw()) };
    }

    /// Stops the stack from transmitting and waits for a transmission in progress
    /// ([`Operations::start_xmit`]) to end (`netif_tx_disable()`): before the transmit ring is
    /// reset or freed.
    ///
    /// Process context only, with bottom halves and interrupts enabled: it takes the device's
    /// transmit locks with bottom halves disabled. Refused with [`EDEADLK`] elsewhere, where
    /// this CPU may hold one of them already ([`Operations::start_xmit`],
    /// [`Operations::tx_timeout`], whose caller holds the global one,
    /// [`Device::with_tx_lock`], a poll) or may not take them (a hard interrupt handler,
    /// interrupts disabled). A driver resets from a work item, or a devlink recovery, instead.
    pub fn tx_disable(&self) -> Result {
        if !tx_lock::bh_enabled_task() {
            return Err(EDEADLK);
        }
        // SAFETY: By the type invariant, the device is valid. This runs in process context with
        // bottom halves and interrupts enabled (checked above), so this CPU holds none of the
        // device's transmit locks: their holders run with bottom halves or interrupts disabled.
        unsafe { bindings::netif_tx_disable(self.as_raw()) };
        Ok(())
    }

    /// Stops the stack from transmitting, e.g. when the transmit ring is full.
    pub fn stop_queue(&self) {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::netif_stop_queue(self.as_raw()) };
    }

    /// Lets the stack transmit again, and has it send what it queued meanwhile (before the
    /// device is registered, only the former: there is no queue discipline to run).
    pub fn wake_queue(&self) {
        if !self.has_qdisc() {
            self.start_queue();
            return;
        }
        // SAFETY: By the type invariant, the device is valid; its queue has a queue discipline
        // (checked above), which it keeps.
        unsafe { bindings::netif_wake_queue(self.as_raw()) };
    }

    /// Whether the transmit queue is stopped.
    pub fn queue_stopped(&self) -> bool {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { bindings::netif_queue_stopped(self.as_raw()) }
    }
}

/// Prints an error message prefixed with a network device (`netdev_err()`): the driver, the
/// parent's bus address and the interface name.
///
/// ```
/// # use kernel::net::dev::Device;
/// # fn no_run(dev: &Device) {
/// kernel::netdev_err!(dev, "no interrupt: {:?}\n", kernel::error::code::EBUSY);
/// # }
/// ```
#[macro_export]
macro_rules! netdev_err {
    ($dev:expr, $($f:tt)*) => {
        $crate::net::dev::Device::pr_err($dev, $crate::prelude::fmt!($($f)*))
    }
}

/// Prints a warning prefixed with a network device (`netdev_warn()`), as [`netdev_err!`].
///
/// [`netdev_err!`]: crate::netdev_err
#[macro_export]
macro_rules! netdev_warn {
    ($dev:expr, $($f:tt)*) => {
        $crate::net::dev::Device::pr_warn($dev, $crate::prelude::fmt!($($f)*))
    }
}

/// Prints an informational message prefixed with a network device (`netdev_info()`), as
/// [`netdev_err!`].
///
/// [`netdev_err!`]: crate::netdev_err
#[macro_export]
macro_rules! netdev_info {
    ($dev:expr, $($f:tt)*) => {
        $crate::net::dev::Device::pr_info($dev, $crate::prelude::fmt!($($f)*))
    }
}

/// The counters of a network device, `struct rtnl_link_stats64`, as filled by
/// [`Operations::get_stats64`].
///
/// The stack may hand an unaligned structure (inside a netlink message): it is only written
/// through unaligned stores.
///
/// # Invariants
///
/// `ptr` points to a (possibly unaligned) `rtnl_link_stats64` that `self` may write for `'a`.
pub struct Stats64<'a> {
    ptr: *mut bindings::rtnl_link_stats64,
    _p: PhantomData<&'a mut ()>,
}

macro_rules! stats64_setters {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)*) => {
        impl Stats64<'_> {
            $(
                $(#[$doc])*
                pub fn $name(&mut self, value: u64) {
                    // SAFETY: By the type invariant, `ptr` points to a structure that `self`
                    // may write; the field is written unaligned, as the structure may be.
                    unsafe { ptr::write_unaligned(&raw mut (*self.ptr).$field, value) };
                }
            )*
        }
    };
}

stats64_setters! {
    /// Sets the number of packets received.
    set_rx_packets => rx_packets;
    /// Sets the number of packets transmitted.
    set_tx_packets => tx_packets;
    /// Sets the number of bytes received.
    set_rx_bytes => rx_bytes;
    /// Sets the number of bytes transmitted.
    set_tx_bytes => tx_bytes;
    /// Sets the number of bad packets received.
    set_rx_errors => rx_errors;
    /// Sets the number of packets that could not be transmitted.
    set_tx_errors => tx_errors;
    /// Sets the number of packets received and dropped (no buffer ...).
    set_rx_dropped => rx_dropped;
    /// Sets the number of packets dropped before transmission.
    set_tx_dropped => tx_dropped;
    /// Sets the number of multicast packets received.
    set_multicast => multicast;
    /// Sets the number of collisions.
    set_collisions => collisions;
    /// Sets the number of packets received with a bad length.
    set_rx_length_errors => rx_length_errors;
    /// Sets the number of packets received with a bad CRC.
    set_rx_crc_errors => rx_crc_errors;
    /// Sets the number of packets received with a frame alignment error.
    set_rx_frame_errors => rx_frame_errors;
    /// Sets the number of packets the device missed (no room in its receive ring).
    set_rx_missed_errors => rx_missed_errors;
}

/// The duplex mode of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplex {
    /// Half duplex.
    Half,
    /// Full duplex.
    Full,
}

/// A link mode of `ethtool` (`ETHTOOL_LINK_MODE_*_BIT`): a speed and duplex, autonegotiation,
/// a port type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum LinkMode {
    /// 10BASE-T, half duplex.
    Base10THalf = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_10baseT_Half_BIT,
    /// 10BASE-T, full duplex.
    Base10TFull = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_10baseT_Full_BIT,
    /// 100BASE-T, half duplex.
    Base100THalf = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_100baseT_Half_BIT,
    /// 100BASE-T, full duplex.
    Base100TFull = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_100baseT_Full_BIT,
    /// 1000BASE-T, full duplex.
    Base1000TFull = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_1000baseT_Full_BIT,
    /// Autonegotiation.
    Autoneg = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_Autoneg_BIT,
    /// Twisted pair.
    TwistedPair = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_TP_BIT,
}

/// Link settings, `struct ethtool_link_ksettings`, as filled by
/// [`Operations::get_link_ksettings`].
#[repr(transparent)]
pub struct LinkSettings(Opaque<bindings::ethtool_link_ksettings>);

impl LinkSettings {
    fn base(&mut self) -> &mut bindings::ethtool_link_settings {
        // SAFETY: `self` is a valid, exclusively borrowed `ethtool_link_ksettings`.
        unsafe { &mut (*self.0.get()).base }
    }

    /// Sets the speed, in Mb/s; `None` for a link that is down (`SPEED_UNKNOWN`).
    pub fn set_speed(&mut self, mbps: Option<u32>) {
        self.base().speed = mbps.unwrap_or(bindings::SPEED_UNKNOWN as u32);
    }

    /// Sets the duplex mode; `None` for a link that is down (`DUPLEX_UNKNOWN`).
    pub fn set_duplex(&mut self, duplex: Option<Duplex>) {
        self.base().duplex = match duplex {
            Some(Duplex::Half) => bindings::DUPLEX_HALF as u8,
            Some(Duplex::Full) => bindings::DUPLEX_FULL as u8,
            None => bindings::DUPLEX_UNKNOWN as u8,
        };
    }

    /// Adds `mode` to the modes the device supports and to those it advertises.
    pub fn add_link_mode(&mut self, mode: LinkMode) {
        let bit = mode as usize;
        let (word, bit) = (bit / c_ulong::BITS as usize, bit % c_ulong::BITS as usize);
        // SAFETY: `self` is a valid, exclusively borrowed `ethtool_link_ksettings`.
        let modes = unsafe { &mut (*self.0.get()).link_modes };
        // Every `LinkMode` is below the bitmaps' length.
        if let (Some(s), Some(a)) = (
            modes.supported.get_mut(word),
            modes.advertising.get_mut(word),
        ) {
            *s |= 1 << bit;
            *a |= 1 << bit;
        }
    }

    /// Sets whether the link was autonegotiated.
    pub fn set_autoneg(&mut self, on: bool) {
        self.base().autoneg = if on {
            bindings::AUTONEG_ENABLE as u8
        } else {
            bindings::AUTONEG_DISABLE as u8
        };
    }

    /// Says that the port is twisted pair (copper).
    pub fn set_port_twisted_pair(&mut self) {
        self.base().port = bindings::PORT_TP as u8;
    }
}

/// Whether the private area of `dev` holds the `len` bytes at `ptr`.
///
/// # Safety
///
/// `dev` is a valid device.
unsafe fn private_area_holds(dev: *mut bindings::net_device, ptr: *const u8, len: usize) -> bool {
    // SAFETY: `dev` is valid (the safety requirements).
    let (start, size) = unsafe { (bindings::netdev_priv(dev).cast::<u8>(), (*dev).priv_len) };
    let (start, ptr, size) = (start as usize, ptr as usize, size as usize);
    ptr >= start && ptr - start <= size && len <= size - (ptr - start)
}

/// A network device allocated and not registered yet, for data of type `T`, given by
/// [`Unregistered::new`] to the function that makes the initialiser of that data, to set the
/// device up before its data exists.
///
/// # Invariants
///
/// `self.0` is an allocated, unregistered Ethernet device whose private area is for a `T`.
#[repr(transparent)]
pub struct NewDevice<T>(Opaque<bindings::net_device>, PhantomData<T>);

impl<T> NewDevice<T> {
    /// Returns the raw `struct net_device`.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Whether the private area of the device holds the `len` bytes at `ptr`.
    pub(crate) fn holds(&self, ptr: *const u8, len: usize) -> bool {
        // SAFETY: By the type invariant, the device is valid.
        unsafe { private_area_holds(self.as_raw(), ptr, len) }
    }

    /// Sets the offloads the device is capable of, all enabled: users may turn them off and on
    /// again (`ethtool -K`), and the stack gives the device only packets its enabled offloads
    /// cover.
    pub fn set_features(&self, features: Features) {
        let dev = self.as_raw();
        let features = u64::from(features);
        // SAFETY: By the type invariant, the device is valid and not registered: nobody else
        // uses its features.
        unsafe {
            (*dev).hw_features |= features;
            (*dev).features |= features;
        }
    }

    /// Sets the MAC address; [`EADDRNOTAVAIL`] if it is not a valid unicast address.
    pub fn set_mac_address(&self, addr: &MacAddress) -> Result {
        // SAFETY: `addr` is `ETH_ALEN` bytes.
        if !unsafe { bindings::is_valid_ether_addr(addr.as_ptr()) } {
            return Err(EADDRNOTAVAIL);
        }
        // SAFETY: By the type invariant, the device is valid and not registered: nobody else
        // uses its address.
        unsafe { bindings::eth_hw_addr_set(self.as_raw(), addr.as_ptr()) };
        Ok(())
    }
}

/// A registered network device with driver data `T`; dropping it unregisters and frees the
/// device, and drops the data.
///
/// # Examples
///
/// A device that drops what it is given to transmit, on a faux device:
///
/// ```
/// use kernel::{
///     c_str, device, faux,
///     net::dev::{self, Device, Registration, TxLocked, TxQueue},
///     net::skbuff::SkBuff,
///     prelude::*,
///     sync::{aref::ARef, atomic::{Atomic, Relaxed}},
/// };
///
/// struct Sink {
///     dropped: Atomic<u64>,
///     tx: TxLocked<()>,
/// }
///
/// #[vtable]
/// impl dev::Operations for Sink {
///     const DRIVER: &'static CStr = c_str!("sink");
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
///         skb: SkBuff,
///     ) -> dev::TxResult {
///         self.dropped.fetch_add(1, Relaxed);
///         drop(skb);
///         Ok(())
///     }
/// }
///
/// let fdev = faux::Registration::new(c_str!("rust-netdev-doc"), None)?;
/// let parent: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = Registration::<Sink>::new(parent, |new| {
///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 1])?;
///     Ok(Sink { dropped: Atomic::new(0), tx: TxLocked::new(()) })
/// })?;
/// let netdev = reg.device();
/// assert_eq!(netdev.mac_address(), [0x02, 0, 0, 0, 0, 1]);
/// assert!(netdev.name().as_cstr().to_bytes().starts_with(b"eth"));
/// assert!(!netdev.carrier_ok() && !netdev.is_running());
/// netdev.carrier_on();
/// assert!(netdev.carrier_ok());
/// assert_eq!(reg.data().dropped.load(Relaxed), 0);
///
/// // A counted reference keeps the device and its data.
/// let held: ARef<Device<Sink>> = netdev.into();
/// assert_eq!(held.data().dropped.load(Relaxed), 0);
/// drop(held);
///
/// // A broadcast address is refused.
/// let bad = Registration::<Sink>::new(parent, |new| {
///     new.set_mac_address(&[0xff; 6])?;
///     Ok(Sink { dropped: Atomic::new(0), tx: TxLocked::new(()) })
/// });
/// assert_eq!(bad.err(), Some(EADDRNOTAVAIL));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `dev` is a registered Ethernet device that `self` owns, whose private area holds an
/// initialised `T` and whose operations are `T`'s. `extra` is initialised until it is dropped,
/// first, in `drop`.
pub struct Registration<T: Operations, X = ()> {
    /// What the driver attached, dropped before the device is unregistered.
    extra: ManuallyDrop<X>,
    dev: NonNull<bindings::net_device>,
    /// The devlink port the device is linked to, kept registered as long as the device is.
    _port: Option<LinkedPort>,
    /// The parent, which the device's messages name (`netdev_err()` ...) until it is freed.
    _parent: ARef<device::Device>,
    _data: PhantomData<T>,
}

/// What keeps the devlink port of a device registered.
#[cfg(CONFIG_NET_DEVLINK)]
type LinkedPort = crate::sync::Arc<crate::devlink::port::PortInner>;

/// Without devlink, a device has no port.
#[cfg(not(CONFIG_NET_DEVLINK))]
type LinkedPort = core::convert::Infallible;

// SAFETY: The device may be unregistered from any thread; `T` is `Send`, and so is `X`.
unsafe impl<T: Operations, X: Send> Send for Registration<T, X> {}

// SAFETY: `&Registration` gives `&Device`, which is `Sync`, `&T`, with `T: Sync`, and `&X`, with
// `X: Sync`.
unsafe impl<T: Operations, X: Sync> Sync for Registration<T, X> {}

impl<T: Operations> Registration<T> {
    /// Allocates and registers an Ethernet device: [`Unregistered::new`], then
    /// [`Unregistered::register`] with nothing attached.
    ///
    /// Sleeps; takes the RTNL lock.
    pub fn new<I, E, F>(parent: &device::Device<device::Bound>, init: F) -> Result<Self>
    where
        F: FnOnce(&NewDevice<T>) -> Result<I>,
        I: PinInit<T, E>,
        Error: From<E>,
    {
        Unregistered::new(parent, init)?.register(())
    }

    /// As [`Registration::new`] ([`Unregistered::new_on_port`]), for a device that is the
    /// network side of devlink port
    /// `port` (`SET_NETDEV_DEVLINK_PORT()`): user space sees the port's type as Ethernet and
    /// the interface's name in `devlink port show`, and the interface's `phys_port_name` and
    /// `phys_switch_id` come from the port.
    ///
    /// The port stays registered as long as the device.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{
    ///     c_str, device, devlink,
    ///     devlink::port::{Flavour, Port},
    ///     faux,
    ///     net::dev::{self, Device, Registration, TxLocked, TxQueue},
    ///     net::skbuff::SkBuff,
    ///     prelude::*,
    /// };
    ///
    /// struct Nic {
    ///     tx: TxLocked<()>,
    /// }
    ///
    /// #[vtable]
    /// impl dev::Operations for Nic {
    ///     const DRIVER: &'static CStr = c_str!("nic");
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
    ///         skb: SkBuff,
    ///     ) -> dev::TxResult {
    ///         drop(skb);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// struct Switch;
    ///
    /// #[vtable]
    /// impl devlink::Operations for Switch {}
    ///
    /// let fdev = faux::Registration::new(c_str!("rust-netdev-port-doc"), None)?;
    /// let parent: &device::Device<device::Bound> = fdev.as_ref().as_ref();
    /// let dl = devlink::Unregistered::new(parent, Switch)?;
    /// let dl = devlink::Registration::new(parent, dl)?;
    /// let port = Port::new(&dl, 0, Flavour::Physical { number: 0 })?;
    /// let netdev = Registration::<Nic>::new_on_port(parent, &port, |new| {
    ///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 2])?;
    ///     Ok(Nic { tx: TxLocked::new(()) })
    /// })?;
    ///
    /// // The device keeps the port: its index stays taken after the port is dropped ...
    /// drop(port);
    /// assert_eq!(Port::new(&dl, 0, Flavour::Physical { number: 0 }).err(), Some(EBUSY));
    ///
    /// // ... until the device is unregistered.
    /// drop(netdev);
    /// let port = Port::new(&dl, 0, Flavour::Physical { number: 0 })?;
    /// # drop(port);
    /// # Ok::<(), Error>(())
    /// ```
    #[cfg(CONFIG_NET_DEVLINK)]
    pub fn new_on_port<I, E, F>(
        parent: &device::Device<device::Bound>,
        port: &crate::devlink::port::Port,
        init: F,
    ) -> Result<Self>
    where
        F: FnOnce(&NewDevice<T>) -> Result<I>,
        I: PinInit<T, E>,
        Error: From<E>,
    {
        Unregistered::new_on_port(parent, port, init)?.register(())
    }
}

impl<T: Operations, X> Registration<T, X> {
    /// The network device.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: By the type invariant, the device is valid while `self` lives, registered by
        // `self`.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// The driver's data.
    pub fn data(&self) -> Pin<&T> {
        self.device().data()
    }

    /// What the driver attached to the registration ([`Unregistered::register`]).
    pub fn extra(&self) -> &X {
        &self.extra
    }
}

impl<T: Operations, X> Drop for Registration<T, X> {
    fn drop(&mut self) {
        let dev = self.dev.as_ptr();
        // SAFETY: By the type invariant, the device is registered. Detached, it cannot be
        // opened again; closed, no operation but those of a stopped device (statistics,
        // ethtool) runs on it while what the driver attached, which an open device may need
        // (its interrupt, a watchdog), goes.
        unsafe {
            bindings::rtnl_lock();
            bindings::netif_device_detach(dev);
            bindings::dev_close(dev);
            bindings::rtnl_unlock();
        }
        // SAFETY: By the type invariant, `extra` is initialised; it is not used after this.
        // It goes before the device is unregistered, which waits for the references to the
        // device that it may hold.
        unsafe { ManuallyDrop::drop(&mut self.extra) };
        // SAFETY: By the type invariant, the device is registered. Unregistering stops it if
        // it is up, waits until no operation runs, and until every reference (`ARef`) to it
        // is gone.
        unsafe { bindings::unregister_netdev(dev) };
        if T::HAS_NAPI {
            // SAFETY: The data is initialised until it is dropped below.
            let data = unsafe { &*data_of::<T>(dev) };
            // No poll may run on data being dropped, whatever the driver left enabled.
            data.napi().remove();
        }
        // SAFETY: The stack no longer uses the data, and nobody else can: no reference is
        // left. It is initialised and dropped once.
        unsafe { ptr::drop_in_place(data_of::<T>(dev)) };
        // SAFETY: The device is unregistered; its memory goes when its last reference does.
        unsafe { bindings::free_netdev(dev) };
    }
}

/// An Ethernet device allocated with its driver data `T`, not registered yet: the stack calls
/// none of its operations and user space does not see it.
///
/// A driver makes it first, then what needs the device (its interrupt handler, a watchdog,
/// health reporters: they may hold references to it, [`ARef<Device<T>>`]), and registers it
/// last ([`Unregistered::register`]), so that user space cannot open an interface that a later
/// failure of the probe would take away.
///
/// Until then, the device has no queue discipline: waking its queue or completing
/// transmissions only changes its state, its NAPI context cannot be enabled, and no receive
/// buffer can be allocated for it (its users would not know that it may be freed without the
/// wait that unregistering does). Dropping it frees the device and drops the data, unless a
/// reference to the device is still held: then both are leaked, with a warning, as the holder
/// may still use them.
///
/// [`ARef<Device<T>>`]: crate::sync::aref::ARef
///
/// # Examples
///
/// ```
/// use kernel::{
///     c_str, device, faux,
///     net::dev::{self, Device, TxLocked, TxQueue, Unregistered},
///     net::skbuff::SkBuff,
///     prelude::*,
///     sync::aref::ARef,
/// };
///
/// struct Quiet {
///     tx: TxLocked<()>,
/// }
///
/// #[vtable]
/// impl dev::Operations for Quiet {
///     const DRIVER: &'static CStr = c_str!("quiet");
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
///         skb: SkBuff,
///     ) -> dev::TxResult {
///         drop(skb);
///         Ok(())
///     }
/// }
///
/// /// What the driver attaches: it uses the device, and goes before it is unregistered.
/// struct Watcher(ARef<Device<Quiet>>);
///
/// let fdev = faux::Registration::new(c_str!("rust-netdev-unreg-doc"), None)?;
/// let parent: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let new = Unregistered::<Quiet>::new(parent, |new| {
///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 3])?;
///     Ok(Quiet { tx: TxLocked::new(()) })
/// })?;
///
/// // Before registration: no receive buffer, and a stopped queue wakes without scheduling.
/// assert_eq!(new.device().alloc_rx_skb(64).err(), Some(ENODEV));
/// new.device().stop_queue();
/// new.device().wake_queue();
/// assert!(!new.device().queue_stopped());
///
/// let watcher = Watcher(new.device().into());
/// let reg = new.register(watcher)?;
/// assert_eq!(reg.extra().0.mac_address(), [0x02, 0, 0, 0, 0, 3]);
/// assert!(reg.device().alloc_rx_skb(64).is_ok());
///
/// // Dropped before the device is unregistered, which waits for its reference.
/// drop(reg);
///
/// // Not registered: freed on drop.
/// let new = Unregistered::<Quiet>::new(parent, |_| Ok(Quiet { tx: TxLocked::new(()) }))?;
/// drop(new);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `dev` is an allocated, unregistered Ethernet device that `self` owns, whose private area
/// holds an initialised `T` and whose operations are `T`'s; its NAPI context, if `T` has one,
/// was added to it.
pub struct Unregistered<T: Operations> {
    dev: NonNull<bindings::net_device>,
    port: Option<LinkedPort>,
    /// The parent (`dev.parent`): the device counts a reference to it only once registered.
    parent: ARef<device::Device>,
    _data: PhantomData<T>,
}

// SAFETY: The device may be freed from any thread; `T` is `Send`.
unsafe impl<T: Operations> Send for Unregistered<T> {}

// SAFETY: `&Unregistered` gives `&Device`, which is `Sync`, and `&T`, with `T: Sync`.
unsafe impl<T: Operations> Sync for Unregistered<T> {}

impl<T: Operations> Unregistered<T> {
    /// Allocates an Ethernet device that `parent` owns (its `device` link in sysfs), lets `init`
    /// set it up and make the initialiser of the driver's data, initialises the data in the
    /// device's private area, and adds its NAPI context (if any).
    ///
    /// The device starts without carrier: the driver turns it on when it sees the link.
    /// Sleeps.
    pub fn new<I, E, F>(parent: &device::Device<device::Bound>, init: F) -> Result<Self>
    where
        F: FnOnce(&NewDevice<T>) -> Result<I>,
        I: PinInit<T, E>,
        Error: From<E>,
    {
        Self::alloc(parent, None, init)
    }

    /// As [`Unregistered::new`], for a device that is the network side of devlink port `port`
    /// (see [`Registration::new_on_port`]). The port stays registered as long as the device.
    #[cfg(CONFIG_NET_DEVLINK)]
    pub fn new_on_port<I, E, F>(
        parent: &device::Device<device::Bound>,
        port: &crate::devlink::port::Port,
        init: F,
    ) -> Result<Self>
    where
        F: FnOnce(&NewDevice<T>) -> Result<I>,
        I: PinInit<T, E>,
        Error: From<E>,
    {
        Self::alloc(parent, Some(port.inner().clone()), init)
    }

    fn alloc<I, E, F>(
        parent: &device::Device<device::Bound>,
        port: Option<LinkedPort>,
        init: F,
    ) -> Result<Self>
    where
        F: FnOnce(&NewDevice<T>) -> Result<I>,
        I: PinInit<T, E>,
        Error: From<E>,
    {
        build_assert!(
            core::mem::align_of::<T>() <= bindings::NETDEV_ALIGN as usize,
            "the private area of a network device is aligned to NETDEV_ALIGN"
        );
        build_assert!(
            T::HAS_NAPI == T::HAS_POLL,
            "a device with a NAPI context polls it, and the other way round"
        );
        let size = c_int::try_from(core::mem::size_of::<T>())?;
        // SAFETY: One transmit and one receive queue; the size is that of `T`.
        let raw = unsafe { bindings::alloc_etherdev_mqs(size, 1, 1) };
        let dev = NonNull::new(raw).ok_or(ENOMEM)?;
        let free = |dev: NonNull<bindings::net_device>| {
            // SAFETY: `dev` was allocated above and is not registered; nobody took a reference
            // to it: it was only given to `init` as a `NewDevice`, which cannot be counted.
            unsafe { bindings::free_netdev(dev.as_ptr()) }
        };

        // SAFETY: `dev` is valid; the parent outlives the registration as the device holds a
        // reference to it from registration on (`SET_NETDEV_DEV()`).
        unsafe {
            (*raw).dev.parent = parent.as_raw();
            (*raw).netdev_ops = &OpsTable::<T>::NETDEV_OPS;
            (*raw).ethtool_ops = &OpsTable::<T>::ETHTOOL_OPS;
        }

        // SAFETY: `NewDevice` is a transparent wrapper of the allocated, unregistered device.
        let new = unsafe { &*raw.cast::<NewDevice<T>>() };
        let init = match init(new) {
            Ok(init) => init,
            Err(e) => {
                free(dev);
                return Err(e);
            }
        };
        // SAFETY: The private area is `size_of::<T>()` bytes aligned to `NETDEV_ALIGN`
        // (asserted above), and unused.
        let data = unsafe { bindings::netdev_priv(raw) }.cast::<T>();
        // SAFETY: `data` is valid for writes of a `T` and never moves: the device is not
        // freed before the data is dropped (`Drop`).
        if let Err(e) = unsafe { pin_init::raw_try_init(data, init) } {
            free(dev);
            return Err(e.into());
        }
        // SAFETY: `raw` is valid, and its private area holds an initialised `T` (above).
        if unsafe { Device::<T>::from_raw(raw) }
            .tx_data_ptr()
            .is_none()
        {
            // SAFETY: `data` was initialised above and the stack never saw it.
            unsafe { ptr::drop_in_place(data) };
            free(dev);
            return Err(EINVAL);
        }
        if T::HAS_NAPI {
            // SAFETY: `data` was initialised above; nobody else uses it yet.
            let napi = unsafe { &*data }.napi();
            // SAFETY: `new` is allocated and not registered; its data holds an initialised `T`.
            if let Err(e) = unsafe { napi.add::<T>(new) } {
                // SAFETY: `data` was initialised above and the stack never saw it.
                unsafe { ptr::drop_in_place(data) };
                free(dev);
                return Err(e);
            }
            // SAFETY: `raw` is not registered; the context was added to it above.
            unsafe { napi.link_queues(raw) };
        }

        // SAFETY: `dev` is valid and not registered.
        unsafe { bindings::netif_carrier_off(raw) };
        #[cfg(CONFIG_NET_DEVLINK)]
        if let Some(port) = &port {
            // SAFETY: `dev` is valid and not registered; the port is registered and stays so
            // while `port` is kept: by `self` until the device is freed or registered, then by
            // the registration until it is unregistered (`Drop`).
            unsafe { (*raw).devlink_port = port.as_raw() };
        }
        // INVARIANT: Allocated above, with an initialised `T` and its NAPI context added.
        Ok(Self {
            dev,
            port,
            parent: parent.into(),
            _data: PhantomData,
        })
    }

    /// The network device, not registered yet.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: By the type invariant, the device is valid while `self` lives, and holds an
        // initialised `T`.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// The driver's data.
    pub fn data(&self) -> Pin<&T> {
        self.device().data()
    }

    /// Registers the device, with `extra` attached: what uses the device and must go before
    /// it is unregistered (dropped first by the [`Registration`], after the device is closed;
    /// if registering fails, before the device is freed). From now on the stack calls the
    /// device's operations and user space sees it.
    ///
    /// Sleeps; takes the RTNL lock.
    pub fn register<X: Send + 'static>(self, extra: X) -> Result<Registration<T, X>> {
        let raw = self.dev.as_ptr();
        // `register_netdev()`, open-coded for its failure path (as drivers do, with the lock
        // taken unkillably). The lock is the global one, which is `rtnl_net_lock()` unless
        // `CONFIG_DEBUG_NET_SMALL_RTNL`.
        // SAFETY: No lock is held by the caller that the RTNL lock comes after (it sleeps).
        unsafe { bindings::rtnl_lock() };
        // SAFETY: By the type invariant, `dev` is valid and set up; its private area holds an
        // initialised `T`, which its operations use from now on. The RTNL lock is held.
        let ret = unsafe { bindings::register_netdevice(raw) };
        if ret != 0 {
            // A notifier that refused the device (`NETDEV_REGISTER`) had it unregistered
            // again: unlocking waits until its references are gone, and `extra` may hold some.
            // It is dropped on a queue of its own meanwhile: here, under the RTNL lock, its
            // drop could take a lock that comes first (devlink's). Without memory for the
            // queue or the work item, it is dropped here all the same.
            match OwnedQueue::new(c"netdev_register", Affinity::Unbound, 1) {
                Ok(queue) => {
                    let _ = queue.try_spawn(GFP_KERNEL, move || drop(extra));
                    // SAFETY: Taken above.
                    unsafe { bindings::rtnl_unlock() };
                    // Waits until `extra` is dropped.
                    drop(queue);
                }
                Err(_) => {
                    drop(extra);
                    // SAFETY: Taken above.
                    unsafe { bindings::rtnl_unlock() };
                }
            }
            // INVARIANT: `self`, dropped on return, is not registered: a failure leaves the
            // device unregistered (before `device_add()`, as it was; after it,
            // `NETREG_UNREGISTERED`, unregistered again by `register_netdevice()` itself), and
            // `free_netdev()` frees it either way.
            return Err(Error::from_errno(ret));
        }
        // SAFETY: Taken above.
        unsafe { bindings::rtnl_unlock() };
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is not used after this, nor dropped: its fields move into the
        // registration.
        let (port, parent) = unsafe { (ptr::read(&this.port), ptr::read(&this.parent)) };
        // INVARIANT: Registered above, with an initialised `T` and `T`'s operations.
        Ok(Registration {
            extra: ManuallyDrop::new(extra),
            dev: this.dev,
            _port: port,
            _parent: parent,
            _data: PhantomData,
        })
    }
}

impl<T: Operations> Drop for Unregistered<T> {
    fn drop(&mut self) {
        let dev = self.dev.as_ptr();
        // SAFETY: By the type invariant, the device is valid. Its own reference (from
        // `alloc_netdev_mqs()`) is one; another means an `ARef` taken from `device()` is still
        // held (and may be cloned meanwhile): the sum of the per-CPU counts is then above one,
        // as no reference is put before it was taken.
        if unsafe { bindings::netdev_refcnt_read(dev) } != 1 {
            // `free_netdev()` frees an unregistered device at once, whatever its references:
            // their holders may still use the device and its data.
            pr_warn!("net device freed with a reference held: leaking it\n");
            // Its messages name the parent, which it keeps for good. The port goes: a device
            // never registered is never looked up through it.
            core::mem::forget(self.parent.clone());
            return;
        }
        if T::HAS_NAPI {
            // SAFETY: The data is initialised until it is dropped below.
            let data = unsafe { &*data_of::<T>(dev) };
            data.napi().remove();
        }
        // SAFETY: The device is not registered and nobody else holds it: the stack never used
        // the data. It is initialised and dropped once.
        unsafe { ptr::drop_in_place(data_of::<T>(dev)) };
        // SAFETY: The device is not registered (or unregistered by the error path of
        // `register_netdevice()`), and nobody holds a reference to it.
        unsafe { bindings::free_netdev(dev) };
    }
}

/// The driver data of `dev`.
///
/// # Safety
///
/// `dev` must be a valid network device whose private area holds a `T`.
unsafe fn data_of<T>(dev: *mut bindings::net_device) -> *mut T {
    // SAFETY: By the safety requirements, `dev` is valid.
    unsafe { bindings::netdev_priv(dev) }.cast()
}

/// The C operation tables of `T`, and their callbacks.
struct OpsTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OpsTable<T> {
    /// # Safety
    ///
    /// `dev` must be a device registered by a [`Registration<T>`], during a callback.
    unsafe fn get<'a>(dev: *mut bindings::net_device) -> (&'a T, &'a Device<T>) {
        // SAFETY: By the safety requirements, the device is valid and holds an initialised
        // `T` during the callback.
        unsafe { (&*data_of::<T>(dev), Device::from_raw(dev)) }
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`].
    unsafe extern "C" fn open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: The stack calls the operations of a device registered with them.
        let (data, dev) = unsafe { Self::get(dev) };
        from_result(|| T::open(data, dev).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`].
    unsafe extern "C" fn stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: As in `open`.
        let (data, dev) = unsafe { Self::get(dev) };
        from_result(|| T::stop(data, dev).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`].
    unsafe extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: As in `open`.
        let (data, dev) = unsafe { Self::get(dev) };
        let Some(given) = NonNull::new(skb) else {
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        // SAFETY: The stack hands over the buffer; with `NETDEV_TX_BUSY` it takes it back.
        let skb = unsafe { SkBuff::from_raw(given) };
        // SAFETY: The device is registered; the stack is calling its `ndo_start_xmit`.
        let Some(lock) = (unsafe { tx_lock::XmitLock::get(dev) }) else {
            // Busy, for a caller that does not hold the lock (and ignores the answer).
            drop(skb);
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        // SAFETY: The device is registered with `T`'s operations; `lock` is its queue's.
        let Some(mut tx) = (unsafe { tx_lock::xmit_queue(dev, &lock) }) else {
            // Not in the private area: refused at allocation, so `tx_data` changed its answer.
            static WARNED: crate::sync::atomic::Atomic<bool> =
                crate::sync::atomic::Atomic::new(false);
            if !WARNED.xchg(true, crate::sync::atomic::Relaxed) {
                crate::netdev_warn!(dev, "transmit data not in the device's private area\n");
            }
            drop(skb);
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        match T::start_xmit(data, dev, &mut tx, skb) {
            Ok(()) => bindings::netdev_tx_NETDEV_TX_OK,
            // The stack takes back the buffer it gave, and requeues it; a caller this call took
            // the lock for does not, and the buffer is dropped.
            Err(skb) if skb.as_raw() == given.as_ptr() && !lock.taken() => {
                skb.into_raw();
                bindings::netdev_tx_NETDEV_TX_BUSY
            }
            // Another buffer than the one given: the driver kept that one, and the stack must
            // not requeue it.
            Err(skb) => {
                drop(skb);
                bindings::netdev_tx_NETDEV_TX_OK
            }
        }
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`].
    unsafe extern "C" fn get_stats64(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: As in `open`.
        let (data, dev) = unsafe { Self::get(dev) };
        // INVARIANT: `stats` is valid and exclusively ours during the call.
        let mut stats = Stats64 {
            ptr: stats,
            _p: PhantomData,
        };
        T::get_stats64(data, dev, &mut stats);
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`].
    unsafe extern "C" fn tx_timeout(dev: *mut bindings::net_device, queue: c_uint) {
        // SAFETY: As in `open`.
        let (data, dev) = unsafe { Self::get(dev) };
        T::tx_timeout(data, dev, queue);
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`], with its address
    /// lock held.
    unsafe extern "C" fn set_rx_mode(dev: *mut bindings::net_device) {
        // SAFETY: As in `open`.
        let (data, netdev) = unsafe { Self::get(dev) };
        // INVARIANT: The stack holds the address lock during the call.
        let filter = RxFilter {
            dev,
            _p: PhantomData,
        };
        T::set_rx_mode(data, netdev, &filter);
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`].
    unsafe extern "C" fn get_drvinfo(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: `info` is valid and exclusively ours; `dev` is valid and has a parent.
        unsafe {
            let info = &mut *info;
            copy_cstr(&mut info.driver, T::DRIVER);
            let parent = (*dev).dev.parent;
            if !parent.is_null() {
                copy_cstr(
                    &mut info.bus_info,
                    CStr::from_char_ptr(bindings::dev_name(parent)),
                );
            }
        }
    }

    /// # Safety
    ///
    /// Called by the stack with a device registered by a [`Registration<T>`].
    unsafe extern "C" fn get_link_ksettings(
        dev: *mut bindings::net_device,
        settings: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: As in `open`.
        let (data, dev) = unsafe { Self::get(dev) };
        // SAFETY: `settings` is valid and exclusively ours during the call; `LinkSettings` is a
        // transparent wrapper.
        let settings = unsafe { &mut *settings.cast::<LinkSettings>() };
        from_result(|| T::get_link_ksettings(data, dev, settings).map(|()| 0))
    }

    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: if T::HAS_OPEN { Some(Self::open) } else { None },
        ndo_stop: if T::HAS_STOP { Some(Self::stop) } else { None },
        ndo_start_xmit: Some(Self::start_xmit),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode)
        } else {
            None
        },
        // The address changes while the device is down; `open` programs it.
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ..pin_init::zeroed()
    };

    const ETHTOOL_OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: Some(Self::get_drvinfo),
        get_link: Some(bindings::ethtool_op_get_link),
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings)
        } else {
            None
        },
        ..pin_init::zeroed()
    };
}

/// Copies `src` into the C string array `dst`, cut to fit (`strscpy()`).
fn copy_cstr<const N: usize>(dst: &mut [c_char; N], src: &CStr) {
    let bytes = src.to_bytes();
    let n = bytes.len().min(N.saturating_sub(1));
    for (d, s) in dst.iter_mut().zip(&bytes[..n]) {
        *d = *s as c_char;
    }
    if N > 0 {
        dst[n] = 0;
    }
}
