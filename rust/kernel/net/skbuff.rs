// SPDX-License-Identifier: GPL-2.0

//! Socket buffers, the packets of the network stack.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use crate::{
    bindings, device,
    dma::{DataDirection, DmaAddress},
    prelude::*,
    sync::aref::ARef,
};
use core::ptr::NonNull;

/// An owned socket buffer, `struct sk_buff`.
///
/// Dropping it frees the packet as dropped (`dev_kfree_skb_any()`, usable in any context);
/// [`SkBuff::consume`] frees a packet that was handled.
///
/// # Examples
///
/// A receive buffer of a device, filled as a device would:
///
/// ```
/// use kernel::{
///     c_str, device, faux,
///     net::{dev::{self, Device, Registration}, skbuff::SkBuff},
///     prelude::*,
/// };
///
/// struct Quiet;
///
/// #[vtable]
/// impl dev::Operations for Quiet {
///     const DRIVER: &'static CStr = c_str!("quiet");
///
///     fn start_xmit(&self, _dev: &Device<Self>, _skb: SkBuff) -> dev::TxResult {
///         Ok(())
///     }
/// }
///
/// let fdev = faux::Registration::new(c_str!("rust-skbuff-doc"), None)?;
/// let parent: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = Registration::<Quiet>::new(parent, |new| {
///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 3])?;
///     Ok(Quiet)
/// })?;
///
/// let mut skb = reg.device().alloc_rx_skb(1514)?;
/// assert!(skb.is_empty() && skb.tailroom() >= 1514);
/// skb.put(60)?;
/// assert_eq!((skb.len(), skb.data().len()), (60, 60));
/// // More than the room left is refused (skb_put() would panic).
/// let room = skb.tailroom();
/// assert_eq!(skb.put(room + 1), Err(EINVAL));
/// assert_eq!(skb.len(), 60);
/// skb.consume();
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `self.0` is a valid socket buffer that `self` owns.
pub struct SkBuff(NonNull<bindings::sk_buff>);

// SAFETY: A socket buffer that one owns may be used and freed from any thread.
unsafe impl Send for SkBuff {}

// SAFETY: `&SkBuff` only reads the buffer.
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// Takes ownership of `skb`.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid socket buffer whose ownership passes to the returned value.
    pub unsafe fn from_raw(skb: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: By the safety requirements.
        Self(skb)
    }

    /// Gives up ownership of the buffer, returning the raw pointer.
    pub fn into_raw(self) -> NonNull<bindings::sk_buff> {
        let skb = self.0;
        core::mem::forget(self);
        skb
    }

    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
    }

    /// The length of the packet, in bytes.
    pub fn len(&self) -> u32 {
        // SAFETY: By the type invariant, the buffer is valid.
        unsafe { (*self.as_raw()).len }
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The linear part of the packet: all of it unless the device takes fragments
    /// (`NETIF_F_SG`), which a device without that feature is never given.
    pub fn data(&self) -> &[u8] {
        let skb = self.as_raw();
        // SAFETY: By the type invariant, the buffer is valid; its `data` holds `headlen` bytes
        // that nobody changes while the buffer is shared.
        unsafe {
            let len = bindings::skb_headlen(skb) as usize;
            core::slice::from_raw_parts((*skb).data, len)
        }
    }

    /// The room after the data, in bytes: what [`SkBuff::put`] may add.
    pub fn tailroom(&self) -> u32 {
        // SAFETY: By the type invariant, the buffer is valid.
        unsafe { bindings::skb_tailroom(self.as_raw()) }
    }

    /// Extends the data by `len` bytes of the tail room, e.g. by what a device received there;
    /// [`EINVAL`] if there is not that much room.
    pub fn put(&mut self, len: u32) -> Result {
        if len > self.tailroom() {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant, `self` owns the buffer, which has `len` bytes of room.
        unsafe { bindings::skb_put(self.as_raw(), len) };
        Ok(())
    }

    /// Maps the packet's data for `dev` to read (transmission).
    ///
    /// The buffer must be linear ([`SkBuff::data`] is all of it), as it is for devices without
    /// scatter-gather; [`EINVAL`] otherwise.
    pub fn map_to_device(self, dev: &device::Device<device::Bound>) -> Result<Mapped> {
        if self.data().len() != self.len() as usize {
            return Err(EINVAL);
        }
        let (ptr, len) = (self.data().as_ptr(), self.data().len());
        Mapped::new(self, dev, ptr, len, DataDirection::ToDevice)
    }

    /// Maps the room after the data for `dev` to write (reception); once it is unmapped, the
    /// driver [`put`](SkBuff::put)s what the device wrote.
    pub fn map_from_device(self, dev: &device::Device<device::Bound>) -> Result<Mapped> {
        let len = self.tailroom() as usize;
        // SAFETY: By the type invariant, the buffer is valid: its tail room starts at the end
        // of its data.
        let ptr = unsafe { bindings::skb_tail_pointer(self.as_raw()) };
        Mapped::new(self, dev, ptr, len, DataDirection::FromDevice)
    }

    /// Frees a packet that was handled (transmitted, delivered), as opposed to dropped.
    pub fn consume(self) {
        // SAFETY: By the type invariant, `self` owns the buffer, whose ownership passes here.
        unsafe { bindings::dev_consume_skb_any(self.into_raw().as_ptr()) };
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self` owns the buffer.
        unsafe { bindings::dev_kfree_skb_any(self.as_raw()) };
    }
}

/// A socket buffer mapped for a device's DMA (streaming mapping, `dma_map_single()`).
///
/// Dropping it unmaps and frees the buffer; [`Mapped::unmap`] gives the buffer back.
///
/// # Invariants
///
/// `addr` is a mapping of `len` bytes of `skb`'s memory for `dev`, in direction `dir`.
pub struct Mapped {
    skb: SkBuff,
    dev: ARef<device::Device>,
    addr: DmaAddress,
    len: usize,
    dir: DataDirection,
}

impl Mapped {
    fn new(
        skb: SkBuff,
        dev: &device::Device<device::Bound>,
        ptr: *const u8,
        len: usize,
        dir: DataDirection,
    ) -> Result<Self> {
        // SAFETY: `dev` is bound, so its DMA set-up is valid; `ptr` points to `len` bytes of
        // the buffer, which `skb` keeps alive and unmoved while mapped.
        let addr = unsafe {
            bindings::dma_map_single(dev.as_raw(), ptr.cast_mut().cast(), len, dir.into())
        };
        // SAFETY: `addr` was just returned for `dev`.
        if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
            return Err(ENOMEM);
        }
        // INVARIANT: Mapped above.
        Ok(Self {
            skb,
            dev: dev.into(),
            addr,
            len,
            dir,
        })
    }

    /// The address of the mapping, for the device.
    pub fn dma_address(&self) -> DmaAddress {
        self.addr
    }

    /// The length of the mapping, in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer, which the CPU must not touch while it is mapped.
    pub fn skb(&self) -> &SkBuff {
        &self.skb
    }

    /// Unmaps the buffer, which the device no longer uses, and gives it back.
    pub fn unmap(self) -> SkBuff {
        let this = core::mem::ManuallyDrop::new(self);
        this.do_unmap();
        // SAFETY: `this` is never used again, nor dropped: its buffer moves out once and its
        // device reference is dropped here.
        unsafe {
            drop(core::ptr::read(&this.dev));
            core::ptr::read(&this.skb)
        }
    }

    fn do_unmap(&self) {
        // SAFETY: By the type invariant, `addr` is a mapping of `len` bytes for `dev` in `dir`;
        // it is unmapped once, as `unmap` and `drop` exclude each other.
        unsafe {
            bindings::dma_unmap_single(self.dev.as_raw(), self.addr, self.len, self.dir.into())
        };
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        self.do_unmap();
    }
}
