// SPDX-License-Identifier: GPL-2.0

//! The transmit and receive descriptor rings.
//!
//! A ring is an array of legacy descriptors in coherent DMA memory, each two little-endian
//! 64-bit words (buffer address, then length, command or status, errors), and the buffers the
//! descriptors point to, mapped for the device. The device owns the descriptors from its head
//! register to the tail register the driver writes; one slot stays empty, so that a full ring
//! is told from an empty one.

use core::ops::Deref;
use kernel::{
    device,
    dma::Coherent,
    io::{io_read, io_write},
    net::skbuff::{Mapped, SkBuff},
    prelude::*,
    sync::barrier::{dma_mb, Read},
};

use crate::regs::*;

/// Descriptors per ring (a multiple of 8: the length registers take multiples of 128 bytes).
pub(crate) const RING_LEN: usize = 256;

/// The receive buffer size the device is set for (`RCTL.BSIZE` 2048).
pub(crate) const RX_BUF_LEN: u32 = 2048;

/// What a ring has in common: descriptors, buffers, and where the driver is.
///
/// # Invariants
///
/// `desc` holds `RING_LEN` descriptors; `bufs[i]` is the buffer that descriptor `i` points to,
/// if the device may use it; `next_to_use` and `next_to_clean` are below `RING_LEN`.
pub(crate) struct Ring {
    desc: Coherent<[u64]>,
    bufs: KVec<Option<Mapped>>,
    /// The next descriptor to hand to the device.
    next_to_use: usize,
    /// The next descriptor the device gives back.
    next_to_clean: usize,
}

impl Ring {
    fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        let desc = Coherent::zeroed_slice(dev, RING_LEN * DESC_WORDS, GFP_KERNEL)?;
        let mut bufs = KVec::with_capacity(RING_LEN, GFP_KERNEL)?;
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

    /// Slots the device holds.
    pub(crate) fn pending(&self) -> usize {
        (self.next_to_use + RING_LEN - self.next_to_clean) % RING_LEN
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

/// The transmit ring: one descriptor per (linear) packet.
pub(crate) struct TxRing(Ring);

/// What a clean-up gave back.
#[derive(Default)]
pub(crate) struct Done {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
}

impl Deref for TxRing {
    type Target = Ring;

    fn deref(&self) -> &Ring {
        &self.0
    }
}

impl TxRing {
    pub(crate) fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        Ring::new(dev).map(Self)
    }

    /// Hands `buf` to the device; returns the new tail, for `TDT`. The caller checked that a
    /// slot is unused.
    pub(crate) fn push(&mut self, buf: Mapped) -> Result<u32> {
        let ring = &mut self.0;
        let i = ring.next_to_use;
        let len = buf.len() as u64;
        ring.write_desc(
            i,
            buf.dma_address(),
            len | TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS,
        )?;
        ring.bufs[i] = Some(buf);
        ring.next_to_use = (i + 1) % RING_LEN;
        Ok(ring.next_to_use as u32)
    }

    /// Frees the buffers of the packets the device sent.
    pub(crate) fn clean(&mut self) -> Result<Done> {
        let ring = &mut self.0;
        let mut done = Done::default();
        while ring.next_to_clean != ring.next_to_use {
            let i = ring.next_to_clean;
            if ring.status(i)? & TXD_STAT_DD == 0 {
                break;
            }
            // The descriptor is read before the buffer is unmapped.
            dma_mb(Read);
            if let Some(buf) = ring.bufs[i].take() {
                let skb = buf.unmap();
                done.packets += 1;
                done.bytes += u64::from(skb.len());
                skb.consume();
            }
            ring.write_desc(i, 0, 0)?;
            ring.next_to_clean = (i + 1) % RING_LEN;
        }
        Ok(done)
    }

    pub(crate) fn clear(&mut self) -> Result {
        self.0.clear()
    }
}

/// The receive ring: buffers of `RX_BUF_LEN` bytes, one frame each.
pub(crate) struct RxRing(Ring);

/// A frame the device received, or a descriptor it gave back with a bad one.
pub(crate) enum Received {
    Frame(SkBuff),
    Error,
}

impl Deref for RxRing {
    type Target = Ring;

    fn deref(&self) -> &Ring {
        &self.0
    }
}

impl RxRing {
    pub(crate) fn new(dev: &device::Device<device::Bound>) -> Result<Self> {
        Ring::new(dev).map(Self)
    }

    /// Hands an empty buffer to the device; returns the new tail, for `RDT`.
    pub(crate) fn push(&mut self, buf: Mapped) -> Result<u32> {
        let ring = &mut self.0;
        let i = ring.next_to_use;
        // The status is written back OR-ed into what is there: it starts at zero.
        ring.write_desc(i, buf.dma_address(), 0)?;
        ring.bufs[i] = Some(buf);
        ring.next_to_use = (i + 1) % RING_LEN;
        Ok(ring.next_to_use as u32)
    }

    /// The next descriptor the device filled, if any.
    pub(crate) fn pop(&mut self) -> Result<Option<Received>> {
        let ring = &mut self.0;
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
        let Some(buf) = ring.bufs[i].take() else {
            return Ok(Some(Received::Error));
        };
        let mut skb = buf.unmap();
        let len = (status & 0xffff) as u32;
        if status & RXD_STAT_EOP == 0 || status & RXD_ERR_FRAME != 0 || skb.put(len).is_err() {
            return Ok(Some(Received::Error));
        }
        Ok(Some(Received::Frame(skb)))
    }

    pub(crate) fn clear(&mut self) -> Result {
        self.0.clear()
    }
}
