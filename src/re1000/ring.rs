// SPDX-License-Identifier: GPL-2.0

//! The transmit and receive descriptor rings.
//!
//! A ring is an array of descriptors in coherent DMA memory, each two little-endian 64-bit
//! words, and the buffers the descriptors point to, mapped for the device. The device owns the
//! descriptors from its head register to the tail register the driver writes; one slot stays
//! empty, so that a full ring is told from an empty one.
//!
//! A packet to transmit takes a context descriptor if it asks for an offload (checksum or
//! segmentation), then one data descriptor per piece of at most [`TXD_MAX_DATA`] bytes; the
//! device reports on the last one. A received frame takes one descriptor.

use core::ops::{Deref, DerefMut};
use kernel::{
    device,
    dma::Coherent,
    io::{io_read, io_write},
    net::skbuff::{ChecksumRequest, Mapped, MappedPacket, SkBuff, TcpSegmentation},
    prelude::*,
    sync::barrier::{dma_mb, Read},
};

use crate::regs::*;

/// Descriptors per ring (a multiple of 8: the length registers take multiples of 128 bytes).
pub(crate) const RING_LEN: usize = 256;

/// The receive buffer size the device is set for (`RCTL.BSIZE` 2048).
pub(crate) const RX_BUF_LEN: u32 = 2048;

/// The length of an Ethernet header, the shortest frame handed up.
const ETH_HLEN: u32 = 14;

/// Frames up to this length are copied into a buffer of their size, and the receive buffer
/// they came in is given to the device again (the C driver's `copybreak`): a socket's receive
/// memory counts a frame's whole buffer, and a new 2 KiB buffer costs more than a copy.
pub(crate) const COPYBREAK: u32 = 256;

/// What a ring has in common: descriptors, buffers, and where the driver is.
///
/// # Invariants
///
/// `desc` holds `RING_LEN` descriptors; `bufs[i]` is the buffer that descriptor `i` points to (or
/// the packet that it ends), if the device may use it; in a slot the device does not hold, it is
/// a receive buffer kept to be given to the device again, if any (the receive ring only).
/// `next_to_use` and `next_to_clean` are below `RING_LEN`.
pub(crate) struct Ring<B> {
    desc: Coherent<[u64]>,
    bufs: KVVec<Option<B>>,
    /// The next descriptor to hand to the device.
    next_to_use: usize,
    /// The next descriptor the device gives back.
    next_to_clean: usize,
}

impl<B> Ring<B> {
    fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        let desc = Coherent::zeroed_slice(dev, RING_LEN * DESC_WORDS, GFP_KERNEL)?;
        let mut bufs = KVVec::with_capacity(RING_LEN, GFP_KERNEL)?;
        for _ in 0..RING_LEN {
            bufs.push(None, GFP_KERNEL)?;
        }
        Ok(Self {
            desc,
            bufs,
            next_to_use: 0,
            next_to_clean: 0,
        })
    }

    /// The bus address of the descriptors.
    pub(crate) fn dma_address(&self) -> u64 {
        self.desc.dma_address()
    }

    /// Slots the driver may fill.
    pub(crate) fn unused(&self) -> usize {
        (self.next_to_clean + RING_LEN - self.next_to_use - 1) % RING_LEN
    }

    /// Packets the device holds (for the transmit ring: the receive ring keeps buffers in
    /// slots the device does not hold).
    pub(crate) fn pending_packets(&self) -> u64 {
        self.bufs.iter().filter(|b| b.is_some()).count() as u64
    }

    /// Slots the device holds.
    pub(crate) fn pending(&self) -> usize {
        (self.next_to_use + RING_LEN - self.next_to_clean) % RING_LEN
    }

    /// The next descriptor the driver expects back from the device.
    pub(crate) fn next_to_clean(&self) -> usize {
        self.next_to_clean
    }

    /// The next descriptor the driver fills.
    pub(crate) fn next_to_use(&self) -> usize {
        self.next_to_use
    }

    /// The two words of descriptor `i` (modulo the ring's length), as the device sees them.
    pub(crate) fn descriptor(&self, i: usize) -> Result<[u64; 2]> {
        let i = i % RING_LEN;
        Ok([
            u64::from_le(io_read!(self.desc, [try: i * DESC_WORDS])),
            self.status(i)?,
        ])
    }

    fn write_desc(&self, i: usize, addr: u64, rest: u64) -> Result {
        io_write!(self.desc, [try: i * DESC_WORDS], addr.to_le());
        io_write!(self.desc, [try: i * DESC_WORDS + 1], rest.to_le());
        Ok(())
    }

    /// The second word of descriptor `i`, which the device writes back.
    fn status(&self, i: usize) -> Result<u64> {
        Ok(u64::from_le(io_read!(self.desc, [try: i * DESC_WORDS + 1])))
    }

    /// Forgets every buffer (unmapping and freeing it) and every descriptor: for a device that
    /// no longer does DMA.
    pub(crate) fn clear(&mut self) -> Result {
        for slot in self.bufs.iter_mut() {
            *slot = None;
        }
        for i in 0..RING_LEN {
            self.write_desc(i, 0, 0)?;
        }
        self.next_to_use = 0;
        self.next_to_clean = 0;
        Ok(())
    }
}

/// What the device is asked to do to a packet besides sending it.
pub(crate) enum Offload {
    None,
    Checksum(ChecksumRequest),
    Segmentation(TcpSegmentation),
}

impl Offload {
    /// Whether the device can carry out a checksum request: its offsets are bytes.
    pub(crate) fn checksum_fits(req: &ChecksumRequest) -> bool {
        req.store_at() <= u32::from(u8::MAX)
    }

    /// The context descriptor that sets the offload up, if any.
    fn context(&self) -> Option<(u64, u64)> {
        match self {
            Offload::None => None,
            Offload::Checksum(req) => {
                let tcp = u64::from(req.start()) | (u64::from(req.store_at()) << 8);
                Some((tcp << 32, TXD_CMD_DEXT))
            }
            Offload::Segmentation(seg) => {
                // The IP checksum ends where TCP starts; the TCP one at the end (0).
                let ip = u64::from(seg.ip_start())
                    | (u64::from(seg.ip_checksum_at()) << 8)
                    | (u64::from(seg.tcp_start() - 1) << 16);
                let tcp = u64::from(seg.tcp_start()) | (u64::from(seg.tcp_checksum_at()) << 8);
                let cmd = u64::from(seg.payload_len())
                    | TXD_CMD_DEXT
                    | TXD_CMD_TSE
                    | TXD_CTX_TCP
                    | TXD_CTX_IP
                    | (u64::from(seg.header_len()) << 40)
                    | (u64::from(seg.mss()) << 48);
                Some((ip | (tcp << 32), cmd))
            }
        }
    }

    /// The command and options of the packet's data descriptors.
    fn data_command(&self) -> u64 {
        match self {
            Offload::None => TXD_CMD_IFCS,
            Offload::Checksum(_) => TXD_CMD_IFCS | TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_POPTS_TXSM,
            Offload::Segmentation(_) => {
                TXD_CMD_IFCS
                    | TXD_CMD_DEXT
                    | TXD_DTYP_DATA
                    | TXD_CMD_TSE
                    | TXD_POPTS_TXSM
                    | TXD_POPTS_IXSM
            }
        }
    }
}

/// A packet in the transmit ring, at its last descriptor, with what it counts for once sent.
pub(crate) struct TxPacket {
    buf: MappedPacket,
    packets: u64,
    bytes: u64,
}

/// The transmit ring.
///
/// # Invariants
///
/// For the first descriptor `i` of each packet the device holds, `last[i]` is its last, where
/// the packet is kept.
pub(crate) struct TxRing {
    ring: Ring<TxPacket>,
    last: KVec<u16>,
}

/// What a clean-up gave back: packets and bytes on the wire (segments count), and buffers
/// and their bytes as the stack handed them.
#[derive(Default)]
pub(crate) struct Done {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) buffers: u32,
    pub(crate) buffer_bytes: u32,
}

impl Deref for TxRing {
    type Target = Ring<TxPacket>;

    fn deref(&self) -> &Ring<TxPacket> {
        &self.ring
    }
}

impl DerefMut for TxRing {
    fn deref_mut(&mut self) -> &mut Ring<TxPacket> {
        &mut self.ring
    }
}

impl TxRing {
    pub(crate) fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        let mut last = KVec::with_capacity(RING_LEN, GFP_KERNEL)?;
        for _ in 0..RING_LEN {
            last.push(0, GFP_KERNEL)?;
        }
        Ok(Self {
            ring: Ring::new(dev)?,
            last,
        })
    }

    /// The descriptors a packet of pieces of `lens` bytes takes, with a context descriptor if
    /// `context`.
    pub(crate) fn needed(lens: impl Iterator<Item = u32>, context: bool) -> usize {
        let data: usize = lens.map(|len| len.div_ceil(TXD_MAX_DATA) as usize).sum();
        usize::from(context) + data
    }

    /// The tail to tell the device: one past the last descriptor handed to it.
    pub(crate) fn tail(&self) -> u32 {
        self.ring.next_to_use as u32
    }

    /// Hands `buf` to the device with `offload`; returns the new tail, for `TDT`. The caller
    /// checked that [`TxRing::needed`] slots are unused.
    pub(crate) fn push(&mut self, buf: MappedPacket, offload: Offload) -> Result<u32> {
        let context = offload.context();
        let lens = buf.segments().iter().map(|seg| seg.len());
        if buf.is_empty() || Self::needed(lens, context.is_some()) > self.ring.unused() {
            return Err(ENOSPC);
        }
        let ring = &mut self.ring;
        let first = ring.next_to_use;
        let mut i = first;
        if let Some((word0, word1)) = context {
            ring.write_desc(i, word0, word1)?;
            i = (i + 1) % RING_LEN;
        }
        let cmd = offload.data_command();
        let segs = buf.segments();
        let mut last = i;
        for (n, seg) in segs.iter().enumerate() {
            let mut done = 0;
            while done < seg.len() {
                let len = (seg.len() - done).min(TXD_MAX_DATA);
                let end = n + 1 == segs.len() && done + len == seg.len();
                let flags = if end { TXD_CMD_EOP | TXD_CMD_RS } else { 0 };
                ring.write_desc(
                    i,
                    seg.dma_address() + u64::from(done),
                    u64::from(len) | cmd | flags,
                )?;
                last = i;
                i = (i + 1) % RING_LEN;
                done += len;
            }
        }
        let (packets, bytes) = match &offload {
            Offload::Segmentation(seg) => (u64::from(seg.segments()), seg.wire_len()),
            _ => (1, u64::from(buf.skb().len())),
        };
        ring.bufs[last] = Some(TxPacket {
            buf,
            packets,
            bytes,
        });
        // INVARIANT: The packet's descriptors run from `first` to `last`.
        self.last[first] = last as u16;
        ring.next_to_use = i;
        Ok(i as u32)
    }

    /// Gives the buffers of the packets the device sent to `consume`.
    pub(crate) fn clean(&mut self, mut consume: impl FnMut(SkBuff)) -> Result<Done> {
        let ring = &mut self.ring;
        let mut done = Done::default();
        while ring.next_to_clean != ring.next_to_use {
            let first = ring.next_to_clean;
            // By the type invariant, the device reports on the packet's last descriptor.
            let last = usize::from(self.last[first]);
            if ring.status(last)? & TXD_STAT_DD == 0 {
                break;
            }
            // The descriptor is read before the buffers are unmapped.
            dma_mb(Read);
            let mut i = first;
            loop {
                if let Some(packet) = ring.bufs[i].take() {
                    done.packets += packet.packets;
                    done.bytes += packet.bytes;
                    done.buffers += 1;
                    done.buffer_bytes += packet.buf.skb().len();
                    // The device is gone if this fails: the buffer stays with it.
                    if let Ok(skb) = packet.buf.unmap() {
                        consume(skb);
                    }
                }
                ring.write_desc(i, 0, 0)?;
                if i == last {
                    break;
                }
                i = (i + 1) % RING_LEN;
            }
            ring.next_to_clean = (last + 1) % RING_LEN;
        }
        Ok(done)
    }
}

/// The receive ring: buffers of `RX_BUF_LEN` bytes, one frame each.
///
/// A frame that does not fit in one buffer (the device is not set for them, but cannot be
/// trusted to obey) spans descriptors without `EOP` up to one with it: every piece of it is
/// dropped, up to and with its last (`discarding`), so that no piece is taken for a frame of
/// its own (CVE-2009-4536 in the C driver).
pub(crate) struct RxRing {
    ring: Ring<Mapped>,
    /// Dropping the pieces of a frame, up to the descriptor with `EOP`.
    discarding: bool,
}

/// A frame the device received, or a descriptor it gave back with a bad one.
pub(crate) enum Received {
    Frame(SkBuff),
    Error,
}

impl Deref for RxRing {
    type Target = Ring<Mapped>;

    fn deref(&self) -> &Ring<Mapped> {
        &self.ring
    }
}

impl RxRing {
    pub(crate) fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        Ok(Self {
            ring: Ring::new(dev)?,
            discarding: false,
        })
    }

    /// Forgets every buffer and descriptor, as [`Ring::clear`], and any frame being dropped.
    pub(crate) fn clear(&mut self) -> Result {
        self.discarding = false;
        self.ring.clear()
    }

    /// Hands an empty buffer to the device; returns the new tail, for `RDT`.
    pub(crate) fn push(&mut self, buf: Mapped) -> Result<u32> {
        let ring = &mut self.ring;
        let i = ring.next_to_use;
        // The status is written back OR-ed into what is there: it starts at zero.
        ring.write_desc(i, buf.dma_address(), 0)?;
        ring.bufs[i] = Some(buf);
        ring.next_to_use = (i + 1) % RING_LEN;
        Ok(ring.next_to_use as u32)
    }

    /// Hands the device again the buffer kept in the next slot to fill, if there is one;
    /// returns the new tail, for `RDT`.
    pub(crate) fn push_kept(&mut self) -> Result<Option<u32>> {
        let ring = &mut self.ring;
        let i = ring.next_to_use;
        let Some(buf) = &ring.bufs[i] else {
            return Ok(None);
        };
        ring.write_desc(i, buf.dma_address(), 0)?;
        ring.next_to_use = (i + 1) % RING_LEN;
        Ok(Some(ring.next_to_use as u32))
    }

    /// The next descriptor the device filled, if any.
    ///
    /// A frame of up to [`COPYBREAK`] bytes comes in a buffer from `small`, and its receive
    /// buffer stays in its slot, as does the buffer of a bad frame; a larger frame comes in its
    /// receive buffer.
    pub(crate) fn pop(
        &mut self,
        small: impl FnOnce(u32) -> Result<SkBuff>,
    ) -> Result<Option<Received>> {
        let ring = &mut self.ring;
        let i = ring.next_to_clean;
        if i == ring.next_to_use {
            return Ok(None);
        }
        let status = ring.status(i)?;
        if status & RXD_STAT_DD == 0 {
            return Ok(None);
        }
        // The length is read after the status says the descriptor is done.
        dma_mb(Read);
        let status = ring.status(i)?;
        ring.write_desc(i, 0, 0)?;
        ring.next_to_clean = (i + 1) % RING_LEN;
        let Some(buf) = &mut ring.bufs[i] else {
            return Ok(Some(Received::Error));
        };
        let len = (status & 0xffff) as u32;
        let end = status & RXD_STAT_EOP != 0;
        if self.discarding || !end {
            // A piece of a frame too long for a buffer: dropped, up to its last piece.
            self.discarding = !end;
            return Ok(Some(Received::Error));
        }
        // Shorter than an Ethernet header (the device strips the CRC): no frame.
        if status & RXD_ERR_FRAME != 0 || len < ETH_HLEN {
            return Ok(Some(Received::Error));
        }
        if len <= COPYBREAK {
            if let Ok(mut skb) = small(len) {
                if buf.copy_received(len, &mut skb).is_ok() {
                    return Ok(Some(Received::Frame(skb)));
                }
            }
        }
        let Some(buf) = ring.bufs[i].take() else {
            return Ok(Some(Received::Error));
        };
        let Ok(mut skb) = buf.unmap() else {
            return Ok(Some(Received::Error));
        };
        if skb.put(len).is_err() {
            return Ok(Some(Received::Error));
        }
        Ok(Some(Received::Frame(skb)))
    }
}
