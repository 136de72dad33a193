// SPDX-License-Identifier: GPL-2.0

//! Socket buffers, the packets of the network stack.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use crate::{
    bindings, device, devres,
    dma::{DataDirection, DmaAddress},
    error::to_result,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        rcu, Arc,
    },
};
use core::{mem::ManuallyDrop, ptr::NonNull};

/// The most fragments a packet has besides its linear part (`MAX_SKB_FRAGS`).
pub const MAX_FRAGS: usize = bindings::MAX_SKB_FRAGS as usize;

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
///     net::{dev::{self, Device, Registration, TxLocked, TxQueue}, skbuff::SkBuff},
///     prelude::*,
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
///         _skb: SkBuff,
///     ) -> dev::TxResult {
///         Ok(())
///     }
/// }
///
/// let fdev = faux::Registration::new(c_str!("rust-skbuff-doc"), None)?;
/// let parent: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = Registration::<Quiet>::new(parent, |new| {
///     new.set_mac_address(&[0x02, 0, 0, 0, 0, 3])?;
///     Ok(Quiet { tx: TxLocked::new(()) })
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

    /// The room after the data, in bytes: what [`SkBuff::put`] may add. None in a buffer with
    /// fragments, whose data does not end in its linear part, or in one that shares its linear
    /// part with a clone.
    pub fn tailroom(&self) -> u32 {
        if !self.tail_is_own() {
            return 0;
        }
        // SAFETY: By the type invariant, the buffer is valid.
        unsafe { bindings::skb_tailroom(self.as_raw()) }
    }

    /// Whether the data ends in the linear part (no fragments), which no clone shares: where
    /// `skb_put()` may extend it (it asserts the first, and the second keeps the writes
    /// private).
    fn tail_is_own(&self) -> bool {
        let skb = self.as_raw();
        // SAFETY: By the type invariant, the buffer is valid.
        unsafe { (*skb).data_len == 0 && !bindings::skb_cloned(skb) }
    }

    /// Extends the data by `len` bytes of the tail room, e.g. by what a device received there;
    /// [`EINVAL`] if there is not that much room ([`SkBuff::tailroom`]).
    pub fn put(&mut self, len: u32) -> Result {
        if !self.tail_is_own() || len > self.tailroom() {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant, `self` owns the buffer, which has `len` bytes of room.
        unsafe { bindings::skb_put(self.as_raw(), len) };
        Ok(())
    }

    /// Maps the packet for `dev` to read (transmission): its linear part, and each of its
    /// fragments if it has any (the device has `NETIF_F_SG`).
    ///
    /// On failure, the buffer is freed as dropped: [`ENODEV`] if the device is no longer bound.
    pub fn map_to_device(self, dev: &DmaDevice) -> Result<MappedPacket> {
        let shinfo = self.shinfo();
        let head = self.data();
        let (ptr, len) = (head.as_ptr(), head.len());
        let mut mapped = Mapped::new(self, dev, DataDirection::ToDevice);
        dev.with_bound(|raw| {
            if len > 0 {
                // SAFETY: `raw` is `mapped.dev`'s device, bound during the call; `ptr` points
                // to the `len` bytes of the buffer's linear part.
                unsafe { mapped.map_single(raw, ptr, len) }?;
            }
            // SAFETY: By the type invariant, the buffer is valid, and so is its shared info;
            // the driver owns the buffer, so that nobody changes its fragments.
            let nr_frags = usize::from(unsafe { (*shinfo).nr_frags });
            for i in 0..nr_frags.min(MAX_FRAGS) {
                // SAFETY: As above; fragment `i` is below `nr_frags`.
                let frag = unsafe { &raw const (*shinfo).frags[i] };
                // SAFETY: `raw` is bound during the call, as above; `frag` is a fragment of
                // the buffer.
                unsafe { mapped.map_frag(raw, frag) }?;
            }
            Ok::<(), Error>(())
        })
        .ok_or(ENODEV)??;
        Ok(mapped)
    }

    /// Maps the room after the data for `dev` to write (reception); once it is unmapped, the
    /// driver [`put`](SkBuff::put)s what the device wrote.
    ///
    /// On failure, the buffer is freed as dropped: [`EINVAL`] if it has no tail room
    /// ([`SkBuff::tailroom`]), [`ENODEV`] if the device is no longer bound.
    pub fn map_from_device(self, dev: &DmaDevice) -> Result<Mapped> {
        let len = self.tailroom() as usize;
        if len == 0 {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant, the buffer is valid: its tail room starts at the end
        // of its data.
        let ptr = unsafe { bindings::skb_tail_pointer(self.as_raw()) };
        let mut mapped = Mapped::new(self, dev, DataDirection::FromDevice);
        // SAFETY: `raw` is `mapped.dev`'s device, bound during the call; `ptr` points to the
        // buffer's tail room, `len` bytes.
        dev.with_bound(|raw| unsafe { mapped.map_single(raw, ptr, len) })
            .ok_or(ENODEV)??;
        Ok(mapped)
    }

    fn shinfo(&self) -> *mut bindings::skb_shared_info {
        // SAFETY: By the type invariant, the buffer is valid.
        unsafe { bindings::skb_shinfo(self.as_raw()) }
    }

    /// The number of fragments besides the linear part ([`SkBuff::data`]).
    pub fn nr_frags(&self) -> usize {
        // SAFETY: By the type invariant, the buffer is valid, and so is its shared info.
        usize::from(unsafe { (*self.shinfo()).nr_frags })
    }

    /// The lengths of the pieces of the packet that [`SkBuff::map_to_device`] maps, in order:
    /// the linear part unless it is empty, then each fragment.
    pub fn pieces(&self) -> impl Iterator<Item = u32> + '_ {
        let shinfo = self.shinfo();
        let head = self.data().len() as u32;
        let frags = (0..self.nr_frags().min(MAX_FRAGS)).map(move |i| {
            // SAFETY: By the type invariant, the buffer is valid, and so is its shared info;
            // fragment `i` is below `nr_frags`.
            unsafe { (*shinfo).frags[i].len }
        });
        Iterator::chain((head > 0).then_some(head).into_iter(), frags)
    }

    /// Where the network (e.g. IP) header starts, from the start of the data.
    pub fn network_offset(&self) -> i32 {
        // SAFETY: By the type invariant, the buffer is valid.
        unsafe { bindings::skb_network_offset(self.as_raw()) }
    }

    /// Where the transport (e.g. TCP) header starts, from the start of the data.
    pub fn transport_offset(&self) -> i32 {
        // SAFETY: By the type invariant, the buffer is valid.
        unsafe { bindings::skb_transport_offset(self.as_raw()) }
    }

    /// The checksum the stack leaves to the device (`CHECKSUM_PARTIAL`), if any: it is given
    /// such packets only if it has a checksum feature (`NETIF_F_HW_CSUM` ...).
    pub fn checksum_request(&self) -> Option<ChecksumRequest> {
        let skb = self.as_raw();
        // SAFETY: By the type invariant, the buffer is valid.
        if !unsafe { bindings::skb_csum_partial(skb) } {
            return None;
        }
        // SAFETY: As above; the checksum fields are valid for a `CHECKSUM_PARTIAL` buffer.
        let (start, offset) = unsafe {
            (
                bindings::skb_checksum_start_offset(skb),
                bindings::skb_csum_offset(skb),
            )
        };
        let start = u32::try_from(start).ok()?;
        Some(ChecksumRequest {
            start,
            store_at: start + u32::from(offset),
        })
    }

    /// Computes the checksum the stack left to the device in software, for a request the
    /// device cannot carry out (e.g. its offsets are out of the device's reach).
    pub fn checksum_help(&mut self) -> Result {
        // SAFETY: By the type invariant, `self` owns the buffer.
        to_result(unsafe { bindings::skb_checksum_help(self.as_raw()) })
    }

    /// Whether the packet is to be cut into segments (generic segmentation offload): the device
    /// is given such packets only if it has a segmentation feature (`NETIF_F_TSO` ...).
    pub fn is_gso(&self) -> bool {
        // SAFETY: By the type invariant, the buffer is valid, and so is its shared info.
        unsafe { (*self.shinfo()).gso_size != 0 }
    }

    /// The number of packets this one stands for on the wire: its segments, or 1.
    pub fn gso_segments(&self) -> u16 {
        // SAFETY: By the type invariant, the buffer is valid, and so is its shared info.
        let (size, segs) = unsafe { ((*self.shinfo()).gso_size, (*self.shinfo()).gso_segs) };
        if size == 0 {
            1
        } else {
            segs.max(1)
        }
    }

    /// Prepares a TCP over IPv4 packet for segmentation by the device (`NETIF_F_TSO`), as most
    /// devices want it: the IP total length and checksum zeroed, and the TCP checksum seeded with
    /// the pseudo-header sum without length, which the device completes for each segment.
    ///
    /// Returns `None` for a packet that is not to be segmented, and [`EINVAL`] for one that is
    /// not TCP over IPv4 or whose headers are not in the linear part. The headers are made
    /// private to this buffer first (they may be shared with a clone kept for retransmission),
    /// which may fail with [`ENOMEM`].
    pub fn prepare_tcp4_segmentation(&mut self) -> Result<Option<TcpSegmentation>> {
        const IPV4_MIN_HLEN: usize = 20;
        const TCP_MIN_HLEN: usize = 20;
        const IPPROTO_TCP: u8 = bindings::IPPROTO_TCP as u8;

        let shinfo = self.shinfo();
        // SAFETY: By the type invariant, the buffer is valid, and so is its shared info.
        let (mss, segs, gso_type) =
            unsafe { ((*shinfo).gso_size, (*shinfo).gso_segs, (*shinfo).gso_type) };
        if mss == 0 {
            return Ok(None);
        }
        if gso_type & bindings::SKB_GSO_TCPV4 as u32 == 0 {
            return Err(EINVAL);
        }
        let ip = usize::try_from(self.network_offset()).map_err(|_| EINVAL)?;
        let tcp = usize::try_from(self.transport_offset()).map_err(|_| EINVAL)?;
        let head = self.data();
        if tcp < ip + IPV4_MIN_HLEN || head.len() < tcp + TCP_MIN_HLEN || head[ip] >> 4 != 4 {
            return Err(EINVAL);
        }
        let header_len = tcp + usize::from(head[tcp + 12] >> 4) * 4;
        if head[ip + 9] != IPPROTO_TCP || header_len < tcp + TCP_MIN_HLEN || header_len > head.len()
        {
            return Err(EINVAL);
        }

        // SAFETY: By the type invariant, `self` owns the buffer.
        to_result(unsafe { bindings::skb_cow_head(self.as_raw(), 0) })?;
        // SAFETY: The linear part holds `header_len` bytes (checked above, and kept by
        // `skb_cow_head()`, which may move the data); once `skb_cow_head()` succeeded, no clone
        // shares the headers, which are this buffer's own to write.
        let hdr = unsafe { core::slice::from_raw_parts_mut((*self.as_raw()).data, header_len) };
        let word = |at: usize| u32::from_ne_bytes([hdr[at], hdr[at + 1], hdr[at + 2], hdr[at + 3]]);
        let (saddr, daddr) = (word(ip + 12), word(ip + 16));
        // SAFETY: Plain arithmetic on the values given.
        let pseudo = unsafe { bindings::csum_tcpudp_magic(saddr, daddr, 0, IPPROTO_TCP, 0) };
        hdr[ip + 2..ip + 4].fill(0);
        hdr[ip + 10..ip + 12].fill(0);
        hdr[tcp + 16..tcp + 18].copy_from_slice(&(!pseudo).to_ne_bytes());

        // The offsets are below `header_len`, below the length of the linear part (a `u32`).
        Ok(Some(TcpSegmentation {
            ip_start: ip as u32,
            tcp_start: tcp as u32,
            header_len: header_len as u32,
            payload_len: self.len() - header_len as u32,
            mss,
            segments: segs.max(1),
        }))
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

/// A checksum the stack leaves to the device: the ones' complement sum of the bytes from
/// [`start`](Self::start) to the end of the packet, stored at [`store_at`](Self::store_at).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksumRequest {
    start: u32,
    store_at: u32,
}

impl ChecksumRequest {
    /// Where the summed bytes start, from the start of the data.
    pub fn start(&self) -> u32 {
        self.start
    }

    /// Where the 16-bit checksum goes, from the start of the data.
    pub fn store_at(&self) -> u32 {
        self.store_at
    }
}

/// A TCP over IPv4 packet prepared for segmentation by the device, with what the device needs to
/// know to cut it: offsets are from the start of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegmentation {
    ip_start: u32,
    tcp_start: u32,
    header_len: u32,
    payload_len: u32,
    mss: u16,
    segments: u16,
}

impl TcpSegmentation {
    /// Where the IPv4 header starts.
    pub fn ip_start(&self) -> u32 {
        self.ip_start
    }

    /// Where the IPv4 header checksum goes.
    pub fn ip_checksum_at(&self) -> u32 {
        self.ip_start + 10
    }

    /// Where the TCP header starts (one past the end of the IPv4 header).
    pub fn tcp_start(&self) -> u32 {
        self.tcp_start
    }

    /// Where the TCP checksum goes.
    pub fn tcp_checksum_at(&self) -> u32 {
        self.tcp_start + 16
    }

    /// The length of the headers (link, IPv4 and TCP), repeated in front of each segment.
    pub fn header_len(&self) -> u32 {
        self.header_len
    }

    /// The TCP payload to cut, in bytes.
    pub fn payload_len(&self) -> u32 {
        self.payload_len
    }

    /// The largest TCP payload of a segment (the MSS).
    pub fn mss(&self) -> u16 {
        self.mss
    }

    /// The number of segments.
    pub fn segments(&self) -> u16 {
        self.segments
    }

    /// The bytes the segments take on the wire, headers included.
    pub fn wire_len(&self) -> u64 {
        u64::from(self.header_len) * u64::from(self.segments) + u64::from(self.payload_len)
    }
}

/// A piece of a packet mapped for a device: its bus address and length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaSegment {
    addr: DmaAddress,
    len: u32,
}

impl DmaSegment {
    /// The address of the piece, for the device.
    pub fn dma_address(&self) -> DmaAddress {
        self.addr
    }

    /// The length of the piece, in bytes.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the piece is empty (it never is, once mapped).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A device that socket buffers are mapped for ([`SkBuff::map_to_device`]), while it is bound
/// to its driver.
///
/// What is mapped for it is unmapped when the mapping is dropped, if the device is still bound
/// then. Unbinding revokes it (a device-managed action), after which the DMA set-up of the
/// device is no longer the driver's to use (another driver may bind it, the IOMMU may give it
/// another domain): a mapping that outlived the binding (one leaked out of the driver's data,
/// say) is not unmapped, and its buffer, which the device might still reach, is leaked.
///
/// Cloning it, and dropping the last clone, is cheap and allowed in any context.
///
/// # Examples
///
/// ```
/// use kernel::{device, net::skbuff::DmaDevice, prelude::*};
///
/// fn set_up(dev: &device::Device<device::Bound>) -> Result<DmaDevice> {
///     // Once per binding, kept in the driver's data; each mapping holds a clone.
///     DmaDevice::new(dev)
/// }
/// ```
#[derive(Clone)]
pub struct DmaDevice(Arc<Binding>);

/// Whether a device is still bound, for the mappings made for it.
///
/// # Invariants
///
/// While `bound` is set, `dev` is a valid device bound to its driver; it is cleared by the
/// device-managed [`Revoker`] at unbind, and then stays clear. Readers check it inside an RCU
/// read-side critical section, which the revoker waits for.
struct Binding {
    dev: *mut bindings::device,
    bound: Atomic<bool>,
}

// SAFETY: `dev` is only used while the device is bound, from any thread, as the DMA API allows.
unsafe impl Send for Binding {}

// SAFETY: As for `Send`; `bound` is atomic.
unsafe impl Sync for Binding {}

/// Revokes a [`Binding`] when the device is unbound (or its registration fails).
struct Revoker(Arc<Binding>);

impl Drop for Revoker {
    fn drop(&mut self) {
        // INVARIANT: Cleared for good; readers that saw it set are waited for.
        self.0.bound.store(false, Relaxed);
        // Device-managed actions run in process context.
        rcu::synchronize_rcu();
    }
}

impl DmaDevice {
    /// `dev`, for as long as it is bound.
    pub fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        // INVARIANT: `dev` is bound; the revoker clears `bound` when it is unbound.
        let binding = Arc::new(
            Binding {
                dev: dev.as_raw(),
                bound: Atomic::new(true),
            },
            GFP_KERNEL,
        )?;
        devres::register(dev, Revoker(binding.clone()), GFP_KERNEL)?;
        Ok(Self(binding))
    }

    /// Runs `f` with the device, which stays bound meanwhile (an RCU read-side critical
    /// section: `f` must not sleep); `None` if it is no longer bound.
    fn with_bound<R>(&self, f: impl FnOnce(*mut bindings::device) -> R) -> Option<R> {
        let _guard = rcu::read_lock();
        // By the type invariant of `Binding`, the device stays bound until the guard goes.
        self.0.bound.load(Relaxed).then(|| f(self.0.dev))
    }
}

/// A socket buffer mapped for a device's DMA (streaming mappings), in up to `N` pieces: the
/// linear part (`dma_map_single()`) and each fragment (`skb_frag_dma_map()`), in the packet's
/// order.
///
/// A receive buffer is one piece ([`SkBuff::map_from_device`]); a packet to transmit is a
/// [`MappedPacket`] ([`SkBuff::map_to_device`]). Dropping it unmaps and frees the buffer;
/// [`Mapped::unmap`] gives the buffer back. Once the device is unbound, neither happens (see
/// [`DmaDevice`]): the buffer is leaked.
///
/// # Invariants
///
/// `segs[..count]` are mappings for `dev` in direction `dir` of pieces of `skb`'s memory: the
/// first of the linear part if `single` is set (from the tail pointer, for
/// [`DataDirection::FromDevice`]), the others of pages; made while `dev` was bound. While
/// mapped, `skb` is not changed. `skb` is initialised until it is given back or dropped, once.
pub struct Mapped<const N: usize = 1> {
    skb: ManuallyDrop<SkBuff>,
    dev: DmaDevice,
    dir: DataDirection,
    single: bool,
    count: usize,
    segs: [DmaSegment; N],
}

/// A packet to transmit mapped for a device: its linear part and every fragment.
pub type MappedPacket = Mapped<{ MAX_FRAGS + 1 }>;

impl<const N: usize> Mapped<N> {
    fn new(skb: SkBuff, dev: &DmaDevice, dir: DataDirection) -> Self {
        // INVARIANT: Nothing is mapped yet.
        Self {
            skb: ManuallyDrop::new(skb),
            dev: dev.clone(),
            dir,
            single: false,
            count: 0,
            segs: [DmaSegment::default(); N],
        }
    }

    /// Fails if the mapping has no room for another piece.
    fn room(&self) -> Result {
        if self.count < N {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// Records the mapping at `addr` of `len` bytes for `dev`, or fails if it is an error.
    ///
    /// # Safety
    ///
    /// `dev` is `self.dev`, bound during the call; `addr` was just returned for it.
    unsafe fn push(&mut self, dev: *mut bindings::device, addr: DmaAddress, len: usize) -> Result {
        // SAFETY: By the safety requirements, `addr` was just returned for `dev`, which is
        // bound.
        if unsafe { bindings::dma_mapping_error(dev, addr) } != 0 {
            return Err(ENOMEM);
        }
        let seg = DmaSegment {
            addr,
            len: u32::try_from(len)?,
        };
        // INVARIANT: The callers map the linear part first, then fragments, checking for room.
        self.segs[self.count] = seg;
        self.count += 1;
        Ok(())
    }

    /// Maps `len` bytes of the linear part, at `ptr`, for `dev`; the first mapping.
    ///
    /// # Safety
    ///
    /// `dev` is the device of `self.dev`, bound during the call ([`DmaDevice::with_bound`]);
    /// `ptr` points to `len` bytes of the linear part of `self.skb` (its data or tail room).
    unsafe fn map_single(
        &mut self,
        dev: *mut bindings::device,
        ptr: *const u8,
        len: usize,
    ) -> Result {
        self.room()?;
        // SAFETY: By the safety requirements, `dev` is bound, so its DMA set-up is valid, and
        // `ptr` points to `len` bytes of the buffer's linear part, which `skb` keeps alive and
        // unmoved while mapped.
        let addr =
            unsafe { bindings::dma_map_single(dev, ptr.cast_mut().cast(), len, self.dir.into()) };
        // SAFETY: `addr` was just returned for `dev`, `self.dev`, which is bound.
        unsafe { self.push(dev, addr, len) }?;
        self.single = true;
        Ok(())
    }

    /// Maps a fragment of the buffer for `dev`.
    ///
    /// # Safety
    ///
    /// `dev` is the device of `self.dev`, bound during the call ([`DmaDevice::with_bound`]);
    /// `frag` is a fragment of `self.skb`.
    unsafe fn map_frag(
        &mut self,
        dev: *mut bindings::device,
        frag: *const bindings::skb_frag_t,
    ) -> Result {
        self.room()?;
        // SAFETY: By the safety requirements, `frag` is a fragment of the buffer, which `skb`
        // keeps alive while mapped.
        let len = unsafe { (*frag).len } as usize;
        // SAFETY: By the safety requirements, `dev` is bound, so its DMA set-up is valid; the
        // fragment's memory is `len` bytes, which `skb` keeps alive while mapped.
        let addr = unsafe { bindings::__skb_frag_dma_map(dev, frag, 0, len, self.dir.into()) };
        // SAFETY: `addr` was just returned for `dev`, `self.dev`, which is bound.
        unsafe { self.push(dev, addr, len) }
    }

    /// The mapped pieces of the packet, in order.
    pub fn segments(&self) -> &[DmaSegment] {
        &self.segs[..self.count]
    }

    /// The address of the first piece, for the device (the whole buffer, for reception).
    pub fn dma_address(&self) -> DmaAddress {
        self.segs.first().map_or(0, |seg| seg.addr)
    }

    /// The length of the first piece, in bytes.
    pub fn len(&self) -> usize {
        self.segs.first().map_or(0, |seg| seg.len as usize)
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The buffer, which the CPU must not touch while it is mapped.
    pub fn skb(&self) -> &SkBuff {
        &self.skb
    }

    /// Unmaps the buffer, which the device no longer uses, and gives it back; [`ENODEV`] if
    /// the device is no longer bound (the buffer is leaked, see [`DmaDevice`]).
    pub fn unmap(self) -> Result<SkBuff> {
        let mut this = ManuallyDrop::new(self);
        let unmapped = this.unmap_all();
        // SAFETY: `this` is never used again, nor dropped: its device is dropped here, and its
        // buffer moves out below, once, or is leaked.
        unsafe { core::ptr::drop_in_place(&mut this.dev) };
        if !unmapped {
            return Err(ENODEV);
        }
        // SAFETY: By the type invariant, `skb` is initialised; it is taken once, as `this` is
        // not dropped.
        Ok(unsafe { ManuallyDrop::take(&mut this.skb) })
    }

    /// Unmaps every piece; `false` if there were some and the device is no longer bound.
    fn unmap_all(&self) -> bool {
        if self.count == 0 {
            return true;
        }
        let dir = self.dir.into();
        self.dev
            .with_bound(|dev| {
                for (i, seg) in self.segments().iter().enumerate() {
                    // SAFETY: By the type invariant, `seg` is a mapping for `dev`, bound during
                    // the call, in `dir`, of the linear part if it is first and `single` is
                    // set, of a page otherwise; it is unmapped once, as `unmap` and `drop`
                    // exclude each other.
                    unsafe {
                        if i == 0 && self.single {
                            bindings::dma_unmap_single(dev, seg.addr, seg.len as usize, dir);
                        } else {
                            bindings::dma_unmap_page_attrs(dev, seg.addr, seg.len as usize, dir, 0);
                        }
                    }
                }
            })
            .is_some()
    }
}

impl Mapped {
    /// Appends the first `len` bytes that the device wrote into this receive buffer to `to`,
    /// and leaves the buffer mapped, for the device to fill again.
    ///
    /// For a small frame, a buffer of its size with a copy of it is cheaper than a new
    /// receive buffer, and takes less of a socket's receive memory (which counts the whole
    /// buffer a frame arrived in): what drivers call copybreak. The driver copies once the
    /// device gave the buffer back (its descriptor done), and gives it to the device again
    /// after. The bytes are copied by the kernel's `memcpy()`, never read through a Rust
    /// reference: a device that still writes meanwhile makes them garbage, not undefined
    /// behaviour.
    ///
    /// It takes the buffer mutably, as the CPU owns it from the first sync to the last: a
    /// second copy at the same time would give it back to the device during the first.
    ///
    /// Fails with [`EINVAL`] unless the mapping is one of [`SkBuff::map_from_device`] of at
    /// least `len` bytes and `to` has room for them ([`SkBuff::tailroom`]); with [`ENODEV`]
    /// if the device is no longer bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{
    ///     net::skbuff::{Mapped, SkBuff},
    ///     prelude::*,
    /// };
    ///
    /// /// A copy, in a buffer from `alloc`, of the frame of `len` bytes that the device wrote
    /// /// into `buf`, if it is small; then `buf` stays mapped, for the ring's next free slot.
    /// fn copy_small(
    ///     buf: &mut Mapped,
    ///     len: u32,
    ///     alloc: impl FnOnce(u32) -> Result<SkBuff>,
    /// ) -> Result<Option<SkBuff>> {
    ///     if len > 256 {
    ///         return Ok(None);
    ///     }
    ///     let mut skb = alloc(len)?;
    ///     buf.copy_received(len, &mut skb)?;
    ///     Ok(Some(skb))
    /// }
    /// ```
    pub fn copy_received(&mut self, len: u32, to: &mut SkBuff) -> Result {
        if self.dir != DataDirection::FromDevice
            || !self.single
            || len as usize > self.len()
            || !to.tail_is_own()
            || len > to.tailroom()
        {
            return Err(EINVAL);
        }
        let addr = self.dma_address();
        let size = len as usize;
        let dir = self.dir.into();
        // SAFETY: By the type invariant, the buffer is valid; for a mapping from the device,
        // its tail pointer is where the mapping starts, unmoved while the buffer is mapped.
        let from = unsafe { bindings::skb_tail_pointer(self.skb.as_raw()) };
        let to = to.as_raw();
        self.dev
            .with_bound(|dev| {
                // SAFETY: By the type invariant, `addr` is a mapping for `dev`, bound during
                // the call, in `dir`, of at least `size` bytes (checked above).
                unsafe { bindings::dma_sync_single_for_cpu(dev, addr, size, dir) };
                // SAFETY: `from` points to `size` bytes of the mapped buffer, which `self.skb`
                // keeps alive and the CPU owns until the next sync (`&mut self`: no other copy
                // runs); `to` is a valid buffer that the caller owns (`&mut`), linear and not
                // cloned, with `size` bytes of tail room (checked above), and is not
                // `self.skb`, which is never lent mutably.
                unsafe { bindings::skb_put_data(to, from.cast(), len) };
                // SAFETY: As for the sync for the CPU above; the CPU no longer reads it, and
                // this call is the only one using it (`&mut self`).
                unsafe { bindings::dma_sync_single_for_device(dev, addr, size, dir) };
            })
            .ok_or(ENODEV)
    }
}

impl<const N: usize> Drop for Mapped<N> {
    fn drop(&mut self) {
        if self.unmap_all() {
            // SAFETY: By the type invariant, `skb` is initialised; it is dropped once, here.
            unsafe { ManuallyDrop::drop(&mut self.skb) };
        }
    }
}

#[macros::kunit_tests(rust_net_skbuff)]
mod tests {
    use super::*;

    /// A linear buffer with `room` bytes of tail room, or more.
    fn linear(room: u32) -> Result<SkBuff> {
        // SAFETY: Any size and flags may be asked for.
        let skb =
            unsafe { bindings::__alloc_skb(room, GFP_KERNEL.as_raw(), 0, bindings::NUMA_NO_NODE) };
        // SAFETY: A new buffer, which the test owns.
        NonNull::new(skb)
            .map(|skb| unsafe { SkBuff::from_raw(skb) })
            .ok_or(ENOMEM)
    }

    #[test]
    fn put_into_linear() -> Result {
        let mut skb = linear(64)?;
        let room = skb.tailroom();
        assert!(room >= 64);
        skb.put(10)?;
        assert_eq!(skb.len(), 10);
        assert_eq!(skb.tailroom(), room - 10);
        assert_eq!(skb.put(room - 9), Err(EINVAL));
        assert_eq!(skb.len(), 10);
        Ok(())
    }

    /// A clone shares the linear part: writing after the data would write into it.
    #[test]
    fn no_put_into_cloned() -> Result {
        let mut skb = linear(64)?;
        skb.put(10)?;
        // SAFETY: `skb` is a valid buffer.
        let clone = unsafe { bindings::skb_clone(skb.as_raw(), GFP_KERNEL.as_raw()) };
        // SAFETY: A new buffer, which the test owns.
        let clone = NonNull::new(clone)
            .map(|skb| unsafe { SkBuff::from_raw(skb) })
            .ok_or(ENOMEM)?;
        assert_eq!(skb.tailroom(), 0);
        assert_eq!(skb.put(0), Err(EINVAL));
        assert_eq!(skb.put(1), Err(EINVAL));
        assert_eq!(skb.len(), 10);
        drop(clone);
        skb.put(1)?;
        assert_eq!(skb.len(), 11);
        Ok(())
    }

    /// `skb_put()` asserts (`BUG`) a buffer without fragments, even to add nothing.
    #[test]
    fn no_put_into_nonlinear() -> Result {
        let mut err = 0;
        // SAFETY: Any sizes and flags may be asked for; `err` is valid for writes.
        let skb =
            unsafe { bindings::alloc_skb_with_frags(64, 4096, 0, &mut err, GFP_KERNEL.as_raw()) };
        // SAFETY: A new buffer, which the test owns; its page fragment of 4096 bytes becomes
        // data, as its allocator's callers do.
        let mut skb = NonNull::new(skb)
            .map(|skb| unsafe {
                (*skb.as_ptr()).len = 4096;
                (*skb.as_ptr()).data_len = 4096;
                SkBuff::from_raw(skb)
            })
            .ok_or(ENOMEM)?;
        assert_eq!(skb.tailroom(), 0);
        assert_eq!(skb.put(0), Err(EINVAL));
        assert_eq!(skb.len(), 4096);
        Ok(())
    }
}
