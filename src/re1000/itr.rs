// SPDX-License-Identifier: GPL-2.0

//! Interrupt moderation, as the C driver's default ("dynamic conservative"): after each poll
//! that ends an interrupt's work, the traffic seen since the interrupt classifies each
//! direction as latency-bound or bulk, and the interrupt rate follows: 20000 interrupts per
//! second for the first, 4000 for bulk, fewer interrupts then carrying more packets each.

use kernel::sync::atomic::{Atomic, Relaxed};

use crate::stats::Counter;

/// Interrupts per second the device starts with (and is held to below 1000 Mb/s, at 4000).
const START_RATE: u32 = 20000;

/// What traffic in one direction looks like, with the interrupt rate it wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Latency {
    /// Small packets, few of them: 20000 interrupts per second (the C driver's "lowest
    /// latency", 70000, is not used in its conservative mode, nor here).
    Low = 1,
    /// Large packets or many: 4000 interrupts per second.
    Bulk = 2,
}

impl Latency {
    fn from_bulk(bulk: bool) -> Self {
        if bulk {
            Latency::Bulk
        } else {
            Latency::Low
        }
    }

    /// The class after `packets` of `bytes` in all were seen since the last interrupt, as
    /// `e1000_update_itr()` has it.
    fn next(self, packets: u64, bytes: u64) -> Self {
        if packets == 0 {
            return self;
        }
        let per_packet = bytes / packets;
        match self {
            Latency::Low if bytes > 10000 => {
                if per_packet > 8000 || packets < 10 || per_packet > 1200 {
                    Latency::Bulk
                } else {
                    Latency::Low
                }
            }
            Latency::Low if per_packet > 2000 => Latency::Bulk,
            Latency::Low => Latency::Low,
            Latency::Bulk if bytes > 25000 => {
                if packets > 35 {
                    Latency::Low
                } else {
                    Latency::Bulk
                }
            }
            Latency::Bulk if bytes < 6000 => Latency::Low,
            Latency::Bulk => Latency::Bulk,
        }
    }

    fn rate(self) -> u32 {
        match self {
            Latency::Low => 20000,
            Latency::Bulk => 4000,
        }
    }
}

/// The traffic since the last interrupt, and the current classes and rate.
///
/// Counted by the poll and read when it completes, which NAPI serialises; the interrupt handler
/// starts the counts over, racing the poll as in the C driver (a lost count only skews one
/// classification).
pub(crate) struct Moderation {
    /// The class of each direction: bulk or not.
    rx_bulk: Atomic<bool>,
    tx_bulk: Atomic<bool>,
    rate: Atomic<u32>,
    rx_packets: Counter,
    rx_bytes: Counter,
    tx_packets: Counter,
    tx_bytes: Counter,
}

impl Moderation {
    pub(crate) fn new() -> Self {
        Self {
            rx_bulk: Atomic::new(false),
            tx_bulk: Atomic::new(false),
            rate: Atomic::new(START_RATE),
            rx_packets: Counter::new(),
            rx_bytes: Counter::new(),
            tx_packets: Counter::new(),
            tx_bytes: Counter::new(),
        }
    }

    /// The value of the `ITR` register for `rate` interrupts per second: the interval, in
    /// units of 256 ns.
    pub(crate) fn register(rate: u32) -> u32 {
        1_000_000_000 / (rate * 256)
    }

    /// The `ITR` value to start with, and resets the classes to it.
    pub(crate) fn start(&self) -> u32 {
        self.rx_bulk.store(false, Relaxed);
        self.tx_bulk.store(false, Relaxed);
        self.rate.store(START_RATE, Relaxed);
        self.interrupted();
        Self::register(START_RATE)
    }

    /// An interrupt came: counting starts again.
    pub(crate) fn interrupted(&self) {
        self.rx_packets.set(0);
        self.rx_bytes.set(0);
        self.tx_packets.set(0);
        self.tx_bytes.set(0);
    }

    pub(crate) fn received(&self, packets: u64, bytes: u64) {
        self.rx_packets.add(packets);
        self.rx_bytes.add(bytes);
    }

    pub(crate) fn sent(&self, packets: u64, bytes: u64) {
        self.tx_packets.add(packets);
        self.tx_bytes.add(bytes);
    }

    /// Classifies the traffic since the interrupt; returns the new `ITR` value if the rate
    /// changes. Rising rates go up a quarter of the new rate at a time, which favours bulk.
    pub(crate) fn update(&self, gigabit: bool) -> Option<u32> {
        let new = if gigabit {
            let rx = Latency::from_bulk(self.rx_bulk.load(Relaxed))
                .next(self.rx_packets.get(), self.rx_bytes.get());
            let tx = Latency::from_bulk(self.tx_bulk.load(Relaxed))
                .next(self.tx_packets.get(), self.tx_bytes.get());
            self.rx_bulk.store(rx == Latency::Bulk, Relaxed);
            self.tx_bulk.store(tx == Latency::Bulk, Relaxed);
            rx.max(tx).rate()
        } else {
            Latency::Bulk.rate()
        };
        let old = self.rate.load(Relaxed);
        if new == old {
            return None;
        }
        let new = if new > old {
            (old + new / 4).min(new)
        } else {
            new
        };
        self.rate.store(new, Relaxed);
        Some(Self::register(new))
    }
}
