// SPDX-License-Identifier: GPL-2.0

//! The network device: its operations, its NAPI poll and its interrupt handler.

use kernel::{
    device, irq,
    net::{
        dev::{self, Device, Duplex, LinkMode, LinkSettings, RxFilter, Stats64, TxLocked, TxQueue},
        napi::{Napi, Poll},
        skbuff::{ChecksumRequest, DmaDevice, SkBuff, MAX_FRAGS},
    },
    netdev_info, netdev_warn, new_mutex, new_spinlock_bh,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Mutex, SpinLockBh,
    },
};

use crate::{
    faults::RecoverHold,
    hw::Hw,
    itr::Moderation,
    regs::*,
    ring::{Offload, Received, RxRing, TxRing, RX_BUF_LEN},
    stats::Counter,
};

/// Free transmit slots below which the queue is stopped after a packet, as the C driver: room
/// for a packet of every fragment and its context descriptor, with some to spare.
const TX_STOP_THRESHOLD: usize = MAX_FRAGS + 7;

/// Free transmit slots from which a stopped queue is woken again, as the C driver's
/// `E1000_TX_WAKE_THRESHOLD`.
const TX_WAKE_THRESHOLD: usize = 32;

/// Software counters, read by `get_stats64`: the receive ones written under the receive
/// ring's lock, the transmit ones under the device's transmit lock.
struct Counters {
    rx_packets: Counter,
    rx_bytes: Counter,
    rx_errors: Counter,
    rx_dropped: Counter,
    tx_packets: Counter,
    tx_bytes: Counter,
    tx_dropped: Counter,
    tx_timeouts: Atomic<u64>,
    /// Resets of the transmit ring, by a recovery or a device reset.
    tx_resets: Atomic<u64>,
    /// Device resets, by a recovery.
    resets: Atomic<u64>,
    /// The device's error statistics, summed (the registers clear when read).
    errors: Errors<Atomic<u64>>,
}

/// The device's receive error statistics.
pub(crate) struct Errors<T> {
    /// Frames with a bad CRC (`CRCERRS`).
    pub(crate) crc: T,
    /// Receive errors (`RXERRC`).
    pub(crate) rx: T,
    /// Frames missed for room in the FIFO (`MPC`).
    pub(crate) missed: T,
    /// Times no receive buffer was available (`RNBC`).
    pub(crate) no_buffer: T,
}

impl Counters {
    fn new() -> Self {
        Self {
            rx_packets: Counter::new(),
            rx_bytes: Counter::new(),
            rx_errors: Counter::new(),
            rx_dropped: Counter::new(),
            tx_packets: Counter::new(),
            tx_bytes: Counter::new(),
            tx_dropped: Counter::new(),
            tx_timeouts: Atomic::new(0),
            tx_resets: Atomic::new(0),
            resets: Atomic::new(0),
            errors: Errors {
                crc: Atomic::new(0),
                rx: Atomic::new(0),
                missed: Atomic::new(0),
                no_buffer: Atomic::new(0),
            },
        }
    }
}

/// What the receive filter is to be (the stack's last `set_rx_mode`), programmed by it while
/// reception runs, and by `start_rx` when it starts.
struct Filter {
    /// Reception runs: `RCTL` and the multicast table may be written.
    running: bool,
    /// `RCTL_UPE` and `RCTL_MPE`, as the stack asks.
    rctl: u32,
    /// The multicast table: a bit per hash of the groups joined.
    mta: [u32; MTA_LEN],
}

impl Filter {
    /// The bit of the multicast table that `addr` hashes to, as the device computes it with
    /// `RCTL.MO` 0 (the C driver's `e1000_hash_mc_addr()`): register and bit in it.
    fn hash(addr: &[u8; 6]) -> (usize, u32) {
        let hash = ((usize::from(addr[4]) >> 4) | (usize::from(addr[5]) << 4)) & 0xfff;
        (hash >> 5, 1 << (hash & 0x1f))
    }
}

/// What the interface is, as set by `open`, `stop` and the driver's removal.
pub(crate) struct State {
    /// The interface is up: the rings are set up and the device runs.
    pub(crate) up: bool,
    /// The driver is being removed: recoveries no longer touch the device.
    pub(crate) removing: bool,
}

/// The driver's data of the network device.
#[pin_data]
pub(crate) struct Nic {
    hw: Hw,
    /// What the buffers are mapped for; unmapped only while the device is bound.
    dma: DmaDevice,
    #[pin]
    napi: Napi,
    /// Under the device's transmit lock, which the stack holds around `start_xmit`; the poll,
    /// `open`, `stop` and recoveries take it. No lock of the driver's is on the transmit path,
    /// which netpoll enters with interrupts disabled, from any context.
    tx: TxLocked<TxRing>,
    /// Taken by the poll (a softirq) and by `open`, `stop` and recoveries (process context).
    /// The interrupt handler never touches it.
    #[pin]
    rx: SpinLockBh<RxRing>,
    /// Taken by `set_rx_mode` (bottom halves disabled) and where reception starts or stops:
    /// the stack's filter is never written to a stopped receive unit.
    #[pin]
    filter: SpinLockBh<Filter>,
    /// The interface runs: the poll may wake the queue and unmask the interrupts. Cleared
    /// first when the interface goes down or its transmit ring is reset, set last when it runs
    /// again.
    running: Atomic<bool>,
    /// The interrupt handler saw a link change, which the poll handles.
    link_changed: Atomic<bool>,
    /// The link runs at 1000 Mb/s (as last seen).
    gigabit: Atomic<bool>,
    moderation: Moderation,
    counters: Counters,
    /// Taken by `open` and `stop` (under the RTNL lock) and by recoveries (under the devlink
    /// instance lock), so that a recovery never meets a half set-up device; taken after both
    /// of those locks, never before.
    #[pin]
    state: Mutex<State>,
    /// The stack saw the transmit queue stuck (`tx_timeout`), for the health watchdog.
    tx_timed_out: Atomic<bool>,
    /// Fault injection: the next recovery fails.
    fail_next_recover: Atomic<bool>,
    /// Fault injection: recoveries wait.
    #[pin]
    recover_hold: RecoverHold,
    /// `devlink health test` asked the watchdog for a test event on `hw`.
    test_event: Atomic<bool>,
}

impl Nic {
    /// The data of a device whose rings are `pdev`'s.
    pub(crate) fn new(
        pdev: &device::Device<device::Bound>,
        hw: Hw,
    ) -> impl PinInit<Self, Error> + '_ {
        pin_init::pin_init_scope(move || {
            let tx = TxRing::new(pdev)?;
            let rx = RxRing::new(pdev)?;
            let dma = DmaDevice::new(pdev)?;
            Ok(try_pin_init!(Self {
                hw,
                dma,
                napi <- Napi::new(),
                tx: TxLocked::new(tx),
                rx <- new_spinlock_bh!(rx, "re1000::rx"),
                filter <- new_spinlock_bh!(
                    Filter {
                        running: false,
                        rctl: 0,
                        mta: [0; MTA_LEN],
                    },
                    "re1000::filter"
                ),
                running: Atomic::new(false),
                link_changed: Atomic::new(false),
                gigabit: Atomic::new(true),
                moderation: Moderation::new(),
                counters: Counters::new(),
                state <- new_mutex!(
                    State {
                        up: false,
                        removing: false,
                    },
                    "re1000::state"
                ),
                tx_timed_out: Atomic::new(false),
                fail_next_recover: Atomic::new(false),
                recover_hold <- RecoverHold::new(),
                test_event: Atomic::new(false),
            }? Error))
        })
    }

    pub(crate) fn hw(&self) -> &Hw {
        &self.hw
    }

    pub(crate) fn state(&self) -> &Mutex<State> {
        &self.state
    }

    /// Whether the stack saw the transmit queue stuck since the last call.
    pub(crate) fn take_tx_timed_out(&self) -> bool {
        self.tx_timed_out.xchg(false, Relaxed)
    }

    /// Makes the next recovery fail (fault injection).
    pub(crate) fn fail_next_recover(&self) -> &Atomic<bool> {
        &self.fail_next_recover
    }

    /// Makes recoveries wait (fault injection).
    pub(crate) fn recover_hold(&self) -> &RecoverHold {
        &self.recover_hold
    }

    /// Whether a recovery is to fail, as asked by fault injection; asked once per recovery.
    pub(crate) fn recover_fails(&self) -> bool {
        self.fail_next_recover.xchg(false, Relaxed)
    }

    /// Asks the watchdog for a test event on the `hw` reporter.
    pub(crate) fn request_test_event(&self) {
        self.test_event.store(true, Relaxed);
    }

    /// Whether a test event was asked for since the last call.
    pub(crate) fn take_test_event(&self) -> bool {
        self.test_event.xchg(false, Relaxed)
    }

    /// Adds what the device counted since the last read to the error statistics, and returns
    /// them; `None` if the device is gone.
    pub(crate) fn update_error_counters(&self) -> Option<Errors<u64>> {
        let e = &self.counters.errors;
        // A device gone from the bus reads all ones: nothing was counted.
        if self.hw.read(STATUS)? == u32::MAX {
            return None;
        }
        let add = |sum: &Atomic<u64>, reg| -> Option<u64> {
            let v = self.hw.read(reg)?;
            Some(sum.fetch_add(u64::from(v), Relaxed) + u64::from(v))
        };
        Some(Errors {
            crc: add(&e.crc, CRCERRS)?,
            rx: add(&e.rx, RXERRC)?,
            missed: add(&e.missed, MPC)?,
            no_buffer: add(&e.no_buffer, RNBC)?,
        })
    }

    /// The counters a health diagnosis shows: transmit timeouts, ring resets, device resets,
    /// receive errors and drops.
    pub(crate) fn health_counters(&self) -> HealthCounters {
        let c = &self.counters;
        HealthCounters {
            tx_timeouts: c.tx_timeouts.load(Relaxed),
            tx_resets: c.tx_resets.load(Relaxed),
            resets: c.resets.load(Relaxed),
            rx_errors: c.rx_errors.get(),
            rx_dropped: c.rx_dropped.get(),
            tx_dropped: c.tx_dropped.get(),
        }
    }

    /// Sets the device up for traffic and starts the queue: the body of `open`.
    fn bring_up(&self, dev: &Device<Self>) -> Result {
        let mac = dev.mac_address();
        self.hw.set_mac_address(&mac).ok_or(ENODEV)?;
        self.start_tx(dev).ok_or(ENODEV)?;
        self.start_rx(dev).ok_or(ENODEV)?;
        self.link_changed.store(true, Relaxed);
        self.running.store(true, Relaxed);
        self.napi.enable();
        self.hw.write(IMS, INT_MASK).ok_or(ENODEV)?;
        dev.start_queue();
        // A link check through the poll, as after a link change.
        self.hw.write(ICS, INT_LSC);
        Ok(())
    }

    /// Stops reception and transmission and masks the interrupts; the device does no DMA
    /// once this returns.
    fn quiesce(&self) {
        let mut filter = self.filter.lock();
        filter.running = false;
        self.hw.quiesce();
    }

    /// Stops the queue and the device, and frees the rings' buffers: the body of `stop`, in
    /// the order of the C driver's `e1000_down()`: no transmission and no poll in progress,
    /// then the device stopped and reset, then the rings emptied.
    fn bring_down(&self, dev: &Device<Self>) {
        self.running.store(false, Relaxed);
        // Process context, not under the transmit lock: never refused.
        if let Err(e) = dev.tx_disable() {
            netdev_warn!(dev, "transmissions not disabled: {:?}\n", e);
        }
        // A poll in progress would unmask the interrupts again: it is over before they are
        // masked.
        self.napi.disable();
        self.quiesce();
        dev.carrier_off();
        // A reset ends the DMA the device may still be doing; the link is set up again for
        // the next `open`.
        if self.hw.reset().is_ok() {
            self.hw.setup_link();
        }
        self.clear_tx(dev, false);
        let _ = self.rx.lock().clear();
    }

    /// Empties the transmit ring of a device that no longer transmits, and forgets what the
    /// queue limits accounted for it, under the transmit lock; the packets in it are counted
    /// as dropped if `count` (a ring reset of a running interface).
    fn clear_tx(&self, dev: &Device<Self>, count: bool) {
        // Process context, from `stop` or a recovery: never refused.
        let cleared = dev.with_tx_lock(|tx| {
            if count {
                self.counters.tx_dropped.add(tx.pending_packets());
            }
            let _ = tx.clear();
            // Under the lock: no packet is accounted between the two.
            tx.reset_queue();
        });
        if let Err(e) = cleared {
            netdev_warn!(dev, "transmit ring not cleared: {:?}\n", e);
        }
    }

    /// Stops the device for good, as the driver is unbound: no recovery, `open` or poll starts
    /// it again, and it masks its interrupts, which a poll would otherwise unmask after the
    /// handler is freed (a storm on a shared line).
    pub(crate) fn begin_removal(&self) {
        let mut state = self.state.lock();
        state.removing = true;
        self.running.store(false, Relaxed);
        self.napi.disable();
        self.quiesce();
    }

    /// Kicks the receive ring, as the C driver's watchdog does: an interrupt (`RXDMT0`), so
    /// that the poll refills a ring that allocation failures left empty, which no frame can
    /// reach to raise one.
    pub(crate) fn kick_rx(&self, state: &State) {
        if state.up && !state.removing && self.running.load(Relaxed) {
            self.hw.write(ICS, INT_RXDMT0);
        }
    }

    /// Resets the transmit ring of a running interface: the queue and the poll are stopped,
    /// the transmit unit disabled, the packets in the ring dropped, and the unit set up again
    /// with the empty ring. Traffic resumes; the interface stays registered and up.
    pub(crate) fn reset_tx(&self, dev: &Device<Self>, state: &State) -> Result {
        if state.removing {
            return Err(ENODEV);
        }
        if !state.up {
            return Ok(());
        }
        self.running.store(false, Relaxed);
        // No transmission in progress, none starts, and no poll cleans the ring meanwhile.
        dev.tx_disable()?;
        self.napi.disable();
        self.hw.write(TCTL, TCTL_PSP).ok_or(ENODEV)?;
        self.hw.read(STATUS).ok_or(ENODEV)?;
        self.clear_tx(dev, true);
        self.counters.tx_resets.add(1, Relaxed);
        let started = self.start_tx(dev);
        self.running.store(started.is_some(), Relaxed);
        self.napi.enable();
        started.ok_or(ENODEV)?;
        dev.wake_queue();
        // The handler masks the interrupts and leaves unmasking them to the poll, which was
        // disabled: unmask them, and have the poll run to find what completed meanwhile.
        self.hw.write(IMS, INT_MASK).ok_or(ENODEV)?;
        self.hw.write(ICS, INT_TXDW);
        Ok(())
    }

    /// Resets the whole device and sets it up again as it was (memory decoding and bus
    /// mastering, MAC, link, address, rings if the interface is up); the interface stays
    /// registered.
    pub(crate) fn reset(&self, dev: &Device<Self>, state: &State) -> Result {
        if state.removing {
            return Err(ENODEV);
        }
        if state.up {
            self.bring_down(dev);
        }
        self.hw.restore_command().ok_or(ENODEV)?;
        self.hw.reset()?;
        self.hw.setup_link().ok_or(ENODEV)?;
        self.counters.resets.add(1, Relaxed);
        if state.up {
            self.counters.tx_resets.add(1, Relaxed);
            self.bring_up(dev)?;
        }
        Ok(())
    }

    /// Programs the transmit unit with the (empty) ring.
    fn start_tx(&self, dev: &Device<Self>) -> Option<()> {
        let ring = dev.with_tx_lock(|tx| tx.dma_address()).ok()?;
        let hw = &self.hw;
        hw.set_ring(TDBAL, ring)?;
        hw.write(TIPG, TIPG_COPPER)?;
        hw.write(TIDV, 0)?;
        hw.write(TADV, 0)?;
        hw.write(TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD | TCTL_RTLC)
    }

    /// Gives the device empty buffers for every unused receive slot (those it gave back and
    /// the driver kept first, then new ones), and tells it.
    fn refill_rx(&self, rx: &mut RxRing, alloc: impl Fn(u32) -> Result<SkBuff>) {
        let mut tail = None;
        while rx.unused() > 0 {
            match rx.push_kept() {
                Ok(Some(t)) => {
                    tail = Some(t);
                    continue;
                }
                Ok(None) => (),
                Err(_) => break,
            }
            let Ok(skb) = alloc(RX_BUF_LEN) else {
                self.counters.rx_dropped.add(1);
                break;
            };
            let Ok(buf) = skb.map_from_device(&self.dma) else {
                self.counters.rx_dropped.add(1);
                break;
            };
            match rx.push(buf) {
                Ok(t) => tail = Some(t),
                Err(_) => break,
            }
        }
        if let Some(tail) = tail {
            self.hw.write(RDT, tail);
        }
    }

    /// Programs the receive unit, fills the ring and enables reception.
    fn start_rx(&self, dev: &Device<Self>) -> Option<()> {
        let hw = &self.hw;
        hw.write(RCTL, 0)?;
        hw.write(RDTR, 0)?;
        hw.write(RADV, 0)?;
        hw.write(ITR, self.moderation.start())?;
        let mut rx = self.rx.lock();
        hw.set_ring(RDBAL, rx.dma_address())?;
        self.refill_rx(&mut rx, |len| dev.alloc_rx_skb(len));
        drop(rx);
        let mut filter = self.filter.lock();
        filter.running = true;
        self.write_filter(&filter)
    }

    /// Writes the multicast table and `RCTL` as `filter` says, reception enabled.
    fn write_filter(&self, filter: &Filter) -> Option<()> {
        for (i, bits) in filter.mta.iter().enumerate() {
            self.hw.write(MTA + 4 * i, *bits)?;
        }
        self.hw
            .write(RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC | filter.rctl)
    }

    /// Tells the stack what the link is.
    fn update_link(&self, dev: &Device<Self>) {
        match self.hw.link() {
            Some(link) if link.up => {
                self.gigabit.store(link.speed == 1000, Relaxed);
                if !dev.carrier_ok() {
                    netdev_info!(
                        dev,
                        "link up, {} Mb/s, {} duplex\n",
                        link.speed,
                        if link.full_duplex { "full" } else { "half" }
                    );
                    dev.carrier_on();
                }
            }
            _ => {
                if dev.carrier_ok() {
                    netdev_info!(dev, "link down\n");
                    dev.carrier_off();
                }
            }
        }
    }

    /// What the device is to do for `skb` besides sending it: segment it, complete its checksum,
    /// or nothing (a checksum out of its reach is computed here). `None` if the packet cannot be
    /// sent.
    /// `request` is the packet's checksum request, as read before.
    fn offload(&self, skb: &mut SkBuff, request: Option<ChecksumRequest>) -> Option<Offload> {
        if let Some(seg) = skb.prepare_tcp4_segmentation().ok()? {
            let fits = seg.header_len() <= u32::from(u8::MAX);
            return fits.then_some(Offload::Segmentation(seg));
        }
        match request {
            Some(req) if Offload::checksum_fits(&req) => Some(Offload::Checksum(req)),
            Some(_) => skb.checksum_help().ok().map(|()| Offload::None),
            None => Some(Offload::None),
        }
    }

    /// Frees the buffers of sent packets, and wakes the queue if it was stopped for room.
    fn clean_tx(&self, dev: &Device<Self>, poll: &mut Poll<'_>) {
        // Busy only under netpoll, which only tries the lock: its next poll cleans.
        let Ok(mut tx) = poll.tx_lock(dev) else {
            return;
        };
        let consumer = tx.consumer();
        let Ok(done) = tx.clean(|skb| consumer.consume(skb)) else {
            return;
        };
        self.counters.tx_packets.add(done.packets);
        self.counters.tx_bytes.add(done.bytes);
        self.moderation.sent(done.packets, done.bytes);
        if done.buffers > 0 && tx.completed(done.buffers, done.buffer_bytes).is_err() {
            netdev_warn!(
                dev,
                "{} bytes completed, more than in flight\n",
                done.buffer_bytes
            );
        }
        if dev.queue_stopped()
            && dev.carrier_ok()
            && self.running.load(Relaxed)
            && tx.unused() >= TX_WAKE_THRESHOLD
        {
            dev.wake_queue();
        }
    }

    /// Hands up to `budget` received frames to the stack; returns how many.
    ///
    /// Frames are taken off the ring in batches and handed up without the lock, which the stack
    /// may want when it answers one at once.
    fn clean_rx(&self, poll: &Poll<'_>, budget: u32) -> u32 {
        const BATCH: usize = 16;
        let mut work = 0;
        while work < budget {
            let mut batch: [Option<SkBuff>; BATCH] = Default::default();
            let mut taken = 0;
            let mut more = true;
            {
                let mut rx = self.rx.lock();
                while taken < BATCH && work + (taken as u32) < budget {
                    match rx.pop(|len| poll.alloc_skb(len)) {
                        Ok(Some(Received::Frame(skb))) => {
                            self.counters.rx_packets.add(1);
                            self.counters.rx_bytes.add(u64::from(skb.len()));
                            self.moderation.received(1, u64::from(skb.len()));
                            batch[taken] = Some(skb);
                        }
                        Ok(Some(Received::Error)) => self.counters.rx_errors.add(1),
                        Ok(None) | Err(_) => {
                            more = false;
                            break;
                        }
                    }
                    taken += 1;
                }
                self.refill_rx(&mut rx, |len| poll.alloc_skb(len));
            }
            work += taken as u32;
            for skb in batch.into_iter().flatten() {
                poll.receive(skb);
            }
            if !more {
                break;
            }
        }
        work
    }
}

#[vtable]
impl dev::Operations for Nic {
    const DRIVER: &'static CStr = c"re1000";

    fn napi(&self) -> &Napi {
        &self.napi
    }

    fn open(&self, dev: &Device<Self>) -> Result {
        let mut state = self.state.lock();
        if state.removing {
            return Err(ENODEV);
        }
        self.bring_up(dev)?;
        state.up = true;
        Ok(())
    }

    fn stop(&self, dev: &Device<Self>) -> Result {
        let mut state = self.state.lock();
        if state.up {
            self.bring_down(dev);
            state.up = false;
        }
        Ok(())
    }

    type TxData = TxRing;

    fn tx_data(&self) -> &TxLocked<TxRing> {
        &self.tx
    }

    fn start_xmit(
        &self,
        dev: &Device<Self>,
        tx: &mut TxQueue<'_, TxRing>,
        mut skb: SkBuff,
    ) -> dev::TxResult {
        let request = skb.checksum_request();
        let context = skb.is_gso() || request.is_some();
        let needed = TxRing::needed(skb.pieces(), context);
        // Checked before the headers are touched for an offload: a packet given back is sent
        // again as it came. The device is told of packets that earlier calls left for a batch.
        if tx.unused() < needed {
            dev.stop_queue();
            self.hw.write(TDT, tx.tail());
            return Err(skb);
        }
        let len = skb.len();
        let queued = self.offload(&mut skb, request).and_then(|offload| {
            // On failure the buffer is freed as dropped (or the device is gone).
            let buf = skb.map_to_device(&self.dma).ok()?;
            tx.push(buf, offload).ok()
        });
        if queued.is_none() {
            self.counters.tx_dropped.add(1);
        }
        if tx.unused() < TX_STOP_THRESHOLD {
            dev.stop_queue();
        }
        if queued.is_none() || tx.sent(len) {
            self.hw.write(TDT, tx.tail());
        }
        Ok(())
    }

    fn poll(&self, dev: &Device<Self>, poll: &mut Poll<'_>, budget: u32) -> u32 {
        if self.link_changed.xchg(false, Relaxed) {
            self.update_link(dev);
        }
        self.clean_tx(dev, poll);
        self.clean_rx(poll, budget)
    }

    fn poll_complete(&self, _dev: &Device<Self>) {
        if let Some(itr) = self.moderation.update(self.gigabit.load(Relaxed)) {
            self.hw.write(ITR, itr);
        }
        // Masked for a device going down; unmasked by whatever brings it up again.
        if self.running.load(Relaxed) {
            self.hw.write(IMS, INT_MASK);
        }
    }

    fn set_rx_mode(&self, _dev: &Device<Self>, rx: &RxFilter<'_>) {
        let rctl = if rx.promiscuous() {
            RCTL_UPE | RCTL_MPE
        } else if rx.all_multicast() {
            RCTL_MPE
        } else {
            0
        };
        let mut mta = [0; MTA_LEN];
        for addr in rx.multicast() {
            let (reg, bit) = Filter::hash(&addr);
            mta[reg] |= bit;
        }
        let mut filter = self.filter.lock();
        filter.rctl = rctl;
        filter.mta = mta;
        if filter.running {
            self.write_filter(&filter);
        }
    }

    fn get_stats64(&self, _dev: &Device<Self>, stats: &mut Stats64<'_>) {
        let c = &self.counters;
        let crc = c.errors.crc.load(Relaxed);
        stats.set_rx_packets(c.rx_packets.get());
        stats.set_rx_bytes(c.rx_bytes.get());
        // Frames the device dropped for a bad CRC are receive errors too, as in C.
        stats.set_rx_errors(c.rx_errors.get() + crc);
        stats.set_rx_crc_errors(crc);
        stats.set_rx_missed_errors(c.errors.missed.load(Relaxed));
        stats.set_rx_dropped(c.rx_dropped.get());
        stats.set_tx_packets(c.tx_packets.get());
        stats.set_tx_bytes(c.tx_bytes.get());
        stats.set_tx_dropped(c.tx_dropped.get());
    }

    fn tx_timeout(&self, dev: &Device<Self>, queue: u32) {
        self.counters.tx_timeouts.add(1, Relaxed);
        // Reported by the health watchdog, as reporting sleeps and this runs in a timer.
        self.tx_timed_out.store(true, Relaxed);
        // As the device sees the ring: the transmit lock is not to be taken here.
        let (head, tail) = (self.hw.read(TDH), self.hw.read(TDT));
        netdev_warn!(
            dev,
            "transmit queue {} timed out, head {}, tail {}\n",
            queue,
            head.unwrap_or(u32::MAX),
            tail.unwrap_or(u32::MAX)
        );
    }

    fn get_link_ksettings(&self, _dev: &Device<Self>, settings: &mut LinkSettings) -> Result {
        settings.set_port_twisted_pair();
        settings.set_autoneg(true);
        // The copper modes of the 82540EM (no 1000BASE-T half duplex), as the C driver.
        for mode in [
            LinkMode::Base10THalf,
            LinkMode::Base10TFull,
            LinkMode::Base100THalf,
            LinkMode::Base100TFull,
            LinkMode::Base1000TFull,
            LinkMode::Autoneg,
            LinkMode::TwistedPair,
        ] {
            settings.add_link_mode(mode);
        }
        let link = self.hw.link().filter(|l| l.up);
        settings.set_speed(link.map(|l| l.speed));
        settings.set_duplex(link.map(|l| {
            if l.full_duplex {
                Duplex::Full
            } else {
                Duplex::Half
            }
        }));
        Ok(())
    }
}

/// What a health diagnosis shows of the counters.
pub(crate) struct HealthCounters {
    pub(crate) tx_timeouts: u64,
    pub(crate) tx_resets: u64,
    pub(crate) resets: u64,
    pub(crate) rx_errors: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) tx_dropped: u64,
}

/// The interrupt handler: it masks the device's interrupts and schedules the poll, which
/// unmasks them when it is done.
pub(crate) struct Isr {
    netdev: ARef<Device<Nic>>,
}

impl Isr {
    pub(crate) fn new(netdev: ARef<Device<Nic>>) -> Self {
        Self { netdev }
    }
}

impl irq::Handler for Isr {
    fn handle(&self) -> irq::IrqReturn {
        let nic = self.netdev.data();
        // Reading the causes clears them; none (or a device gone) is another device's
        // interrupt on a shared line.
        let icr = match nic.hw.read(ICR) {
            Some(icr) if icr != 0 && icr != u32::MAX => icr,
            _ => return irq::IrqReturn::None,
        };
        if icr & (INT_LSC | INT_RXSEQ) != 0 {
            nic.link_changed.store(true, Relaxed);
        }
        nic.hw.write(IMC, u32::MAX);
        nic.moderation.interrupted();
        // If a poll is scheduled already, it unmasks them; if the device is down, they stay
        // masked until it is brought up.
        nic.napi.schedule();
        irq::IrqReturn::Handled
    }
}
