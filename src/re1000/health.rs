// SPDX-License-Identifier: GPL-2.0

//! The health reporters: `tx` on the port (a stalled transmit ring) and `hw` on the instance
//! (a device that no longer answers, or runs without bus mastering).
//!
//! Errors are found by the watchdog (`watchdog.rs`), which reports them with what it saw as the
//! context; `dump` writes that context (or, asked by user space, the live state), `recover`
//! resets the transmit ring or the whole device while the interface stays registered.

use kernel::{
    devlink::{
        fmsg::{Array, Object},
        health::{Periods, ReporterOps},
        Locked,
    },
    net::dev::Device,
    net::netlink::ExtAck,
    prelude::*,
    sync::aref::ARef,
    time::Delta,
};

use crate::{nic::Nic, regs::*, ring::TxRing};

/// Descriptors dumped around the device's head: two before, the head, two after.
const DESCS_AROUND_HEAD: usize = 5;

/// What the transmit ring looked like.
#[derive(Clone, Copy)]
pub(crate) struct TxRingState {
    /// The device's head and tail registers.
    pub(crate) head: u32,
    pub(crate) tail: u32,
    /// Where the driver fills and where it expects completions.
    pub(crate) next_to_use: u32,
    pub(crate) next_to_clean: u32,
    /// Descriptors handed to the device and not given back.
    pub(crate) pending: u32,
    pub(crate) tctl: u32,
    pub(crate) status: u32,
    /// `(index, first word, second word)` of the descriptors around the head.
    pub(crate) descs: [(u32, u64, u64); DESCS_AROUND_HEAD],
}

impl TxRingState {
    /// The state of `dev`'s transmit ring now; `None` if the device is gone. Process context.
    pub(crate) fn read(dev: &Device<Nic>) -> Option<Self> {
        // Under the transmit lock, as the ring moves with every packet.
        dev.with_tx_lock(|tx| Self::read_locked(&dev.data(), tx))
            .ok()
            .flatten()
    }

    fn read_locked(nic: &Nic, tx: &TxRing) -> Option<Self> {
        let hw = nic.hw();
        let head = hw.read(TDH)?;
        let mut descs = [(0, 0, 0); DESCS_AROUND_HEAD];
        for (n, d) in descs.iter_mut().enumerate() {
            let i = (head as usize + crate::ring::RING_LEN * 2 + n - 2) % crate::ring::RING_LEN;
            let [w0, w1] = tx.descriptor(i).ok()?;
            *d = (i as u32, w0, w1);
        }
        Some(Self {
            head,
            tail: hw.read(TDT)?,
            next_to_use: tx.next_to_use() as u32,
            next_to_clean: tx.next_to_clean() as u32,
            pending: tx.pending() as u32,
            tctl: hw.read(TCTL)?,
            status: hw.read(STATUS)?,
            descs,
        })
    }

    fn put(&self, fmsg: &mut Object<'_>) -> Result {
        fmsg.put_u32(c"head", self.head)
            .put_u32(c"tail", self.tail)
            .put_u32(c"next_to_use", self.next_to_use)
            .put_u32(c"next_to_clean", self.next_to_clean)
            .put_u32(c"pending", self.pending)
            .put_u32(c"tctl", self.tctl)
            .put_bool(c"tctl_en", self.tctl & TCTL_EN != 0)
            .put_u32(c"status", self.status)
            .put_array(c"descriptors", |a: &mut Array<'_>| {
                for (i, w0, w1) in self.descs {
                    a.push_object(|o| {
                        o.put_u32(c"index", i)
                            .put_u64(c"addr", w0)
                            .put_u32(c"length", (w1 & 0xffff) as u32)
                            .put_u32(c"cmd", ((w1 >> 24) & 0xff) as u32)
                            .put_u32(c"status", ((w1 >> 32) & 0xff) as u32);
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
        Ok(())
    }
}

/// Holds a recovery while fault injection asks (`recover_hold`), and fails one it asked to
/// fail (`fail_recover`).
fn injected_failure(nic: &Nic, extack: &mut ExtAck<'_>) -> Result {
    nic.recover_hold().wait();
    if nic.recover_fails() {
        extack.set_message(c"re1000: recover set to fail by fault injection");
        return Err(EIO);
    }
    Ok(())
}

/// Why the watchdog reported the transmit ring.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxCause {
    /// Descriptors pending and neither the device's head nor the driver's clean-up moved.
    NoProgress,
    /// The stack saw the queue stopped for its timeout (`ndo_tx_timeout`).
    Timeout,
}

/// What the watchdog saw of a stalled transmit ring: the context of a `tx` report.
pub(crate) struct TxStall {
    pub(crate) cause: TxCause,
    pub(crate) queue: u32,
    /// How long the ring made no progress.
    pub(crate) stuck_ms: u64,
    pub(crate) ring: TxRingState,
}

/// The `tx` reporter, on the port: a transmit ring that does not move.
pub(crate) struct TxReporter {
    netdev: ARef<Device<Nic>>,
}

impl TxReporter {
    pub(crate) fn new(netdev: ARef<Device<Nic>>) -> Self {
        Self { netdev }
    }
}

#[vtable]
impl ReporterOps for TxReporter {
    const NAME: &'static CStr = c"tx";
    /// At most one automatic ring reset a second: a ring that stalls again at once is left in
    /// error, for the user to look at.
    const PERIODS: Periods = Periods::new(Delta::from_millis(1000), Delta::ZERO).unwrap();
    type Context = TxStall;

    fn recover(
        &self,
        _devlink: &Locked<'_>,
        _ctx: Option<&TxStall>,
        extack: &mut ExtAck<'_>,
    ) -> Result {
        let nic = self.netdev.data();
        injected_failure(&nic, extack)?;
        let state = nic.state().lock();
        nic.reset_tx(&self.netdev, &state).inspect_err(|_| {
            extack.set_message(c"re1000: the device is gone");
        })
    }

    fn dump(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        ctx: Option<&TxStall>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        match ctx {
            Some(stall) => {
                fmsg.put_str(
                    c"cause",
                    match stall.cause {
                        TxCause::NoProgress => c"no progress",
                        TxCause::Timeout => c"transmit timeout",
                    },
                )
                .put_u32(c"queue", stall.queue)
                .put_u64(c"stuck_ms", stall.stuck_ms)
                .put_object(c"ring", |o| stall.ring.put(o))?;
            }
            None => {
                let ring = TxRingState::read(&self.netdev).ok_or(ENODEV)?;
                fmsg.put_object(c"ring", |o| ring.put(o))?;
            }
        }
        Ok(())
    }

    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        let nic = self.netdev.data();
        let up = nic.state().lock().up;
        let c = nic.health_counters();
        fmsg.put_bool(c"up", up)
            .put_bool(c"queue_stopped", self.netdev.queue_stopped())
            .put_u64(c"tx_timeouts", c.tx_timeouts)
            .put_u64(c"tx_resets", c.tx_resets)
            .put_u64(c"tx_dropped", c.tx_dropped);
        let ring = TxRingState::read(&self.netdev).ok_or(ENODEV)?;
        fmsg.put_u32(c"head", ring.head)
            .put_u32(c"tail", ring.tail)
            .put_u32(c"pending", ring.pending)
            .put_bool(c"tctl_en", ring.tctl & TCTL_EN != 0);
        Ok(())
    }
}

/// Why the watchdog reported the device.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HwCause {
    /// Registers read all ones: the device left the bus.
    NotResponding,
    /// Bus mastering is off in the command register, which the driver set at probe.
    BusMasterOff,
    /// The MAC of a running interface has reception off: it lost its set-up (reset behind
    /// the driver's back), or reads zero as when its memory decoding is off.
    LostSetup,
    /// A test event (`devlink health test`).
    Test,
}

impl HwCause {
    pub(crate) fn message(self) -> &'static CStr {
        match self {
            HwCause::NotResponding => c"device not responding",
            HwCause::BusMasterOff => c"bus mastering disabled",
            HwCause::LostSetup => c"device lost its configuration",
            HwCause::Test => c"test event",
        }
    }
}

/// What the watchdog saw of the device: the context of an `hw` report.
pub(crate) struct HwFault {
    pub(crate) cause: HwCause,
    pub(crate) registers: Registers,
    pub(crate) bus_master: bool,
}

/// The registers an `hw` dump names. `ICR` is left out: reading it clears the interrupt
/// causes, which the interrupt handler would then miss.
const DUMPED: [(&CStr, usize); 19] = [
    (c"CTRL", CTRL),
    (c"STATUS", STATUS),
    (c"EECD", EECD),
    (c"CTRL_EXT", CTRL_EXT),
    (c"IMS", IMS),
    (c"ITR", ITR),
    (c"RCTL", RCTL),
    (c"RDBAL", RDBAL + RING_BAL),
    (c"RDBAH", RDBAL + RING_BAH),
    (c"RDLEN", RDLEN),
    (c"RDH", RDH),
    (c"RDT", RDT),
    (c"TCTL", TCTL),
    (c"TIPG", TIPG),
    (c"TDBAL", TDBAL + RING_BAL),
    (c"TDBAH", TDBAL + RING_BAH),
    (c"TDLEN", TDLEN),
    (c"TDH", TDH),
    (c"TDT", TDT),
];

/// The values of the registers of [`DUMPED`], in that order.
#[derive(Clone, Copy)]
pub(crate) struct Registers([u32; DUMPED.len()]);

impl Registers {
    /// Reads them; `None` if the device is gone (unbound).
    pub(crate) fn read(nic: &Nic) -> Option<Self> {
        let mut values = [0; DUMPED.len()];
        for (v, (_, reg)) in values.iter_mut().zip(DUMPED.iter()) {
            *v = nic.hw().read(*reg)?;
        }
        Some(Self(values))
    }

    fn put(&self, fmsg: &mut Object<'_>) -> Result {
        for (v, (name, _)) in self.0.iter().zip(DUMPED.iter()) {
            fmsg.put_u32(name, *v);
        }
        Ok(())
    }
}

/// The `hw` reporter, on the instance: the device as a whole.
pub(crate) struct HwReporter {
    netdev: ARef<Device<Nic>>,
}

impl HwReporter {
    pub(crate) fn new(netdev: ARef<Device<Nic>>) -> Self {
        Self { netdev }
    }
}

#[vtable]
impl ReporterOps for HwReporter {
    const NAME: &'static CStr = c"hw";
    /// A device reset takes the link down for a few seconds: at most one automatic reset in
    /// ten seconds.
    const PERIODS: Periods = Periods::new(Delta::from_millis(10_000), Delta::ZERO).unwrap();
    type Context = HwFault;

    fn recover(
        &self,
        _devlink: &Locked<'_>,
        _ctx: Option<&HwFault>,
        extack: &mut ExtAck<'_>,
    ) -> Result {
        let nic = self.netdev.data();
        injected_failure(&nic, extack)?;
        if nic.hw().read(STATUS) == Some(u32::MAX) {
            extack.set_message(c"re1000: the device does not respond");
            return Err(ENODEV);
        }
        let state = nic.state().lock();
        if state.removing {
            // Unbound while the recovery waited for the instance lock or the state: the
            // removal stops the device, which a reset would start again.
            extack.set_message(c"re1000: the device is gone");
            return Err(ENODEV);
        }
        nic.reset(&self.netdev, &state).inspect_err(|_| {
            extack.set_message(c"re1000: the device did not come back from its reset");
        })
    }

    fn dump(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        ctx: Option<&HwFault>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        let nic = self.netdev.data();
        let (registers, bus_master) = match ctx {
            Some(fault) => {
                fmsg.put_str(c"cause", fault.cause.message());
                (fault.registers, fault.bus_master)
            }
            None => (
                Registers::read(&nic).ok_or(ENODEV)?,
                nic.hw().bus_master().ok_or(ENODEV)?,
            ),
        };
        fmsg.put_bool(c"bus_master", bus_master)
            .put_object(c"registers", |o| registers.put(o))?;
        Ok(())
    }

    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        let nic = self.netdev.data();
        let hw = nic.hw();
        let link = hw.link().ok_or(ENODEV)?;
        let errors = nic.update_error_counters().ok_or(ENODEV)?;
        let c = nic.health_counters();
        fmsg.put_bool(c"link_up", link.up);
        if link.up {
            fmsg.put_u32(c"speed", link.speed)
                .put_str(c"duplex", if link.full_duplex { c"full" } else { c"half" });
        }
        fmsg.put_bool(c"bus_master", hw.bus_master().ok_or(ENODEV)?)
            .put_u64(c"resets", c.resets)
            .put_u64(c"crc_errors", errors.crc)
            .put_u64(c"rx_errors", errors.rx)
            .put_u64(c"missed", errors.missed)
            .put_u64(c"no_buffer", errors.no_buffer)
            .put_u64(c"rx_bad_frames", c.rx_errors)
            .put_u64(c"rx_dropped", c.rx_dropped);
        Ok(())
    }

    fn test(&self, _devlink: &Locked<'_>, _extack: &mut ExtAck<'_>) -> Result {
        // Reported by the watchdog, as this runs with the instance lock held.
        self.netdev.data().request_test_event();
        Ok(())
    }
}
