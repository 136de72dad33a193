// SPDX-License-Identifier: GPL-2.0

//! Fault injection, through debugfs: knobs that change the device, not the reporters, so that
//! the watchdog finds the fault the way it would find a real one.
//!
//! Under `/sys/kernel/debug/re1000-<PCI address>/`, one folder per device at the root of
//! debugfs (a folder that all devices share would need data that the module owns, which no
//! driver can reach yet without `unsafe`):
//! - `stall_tx` (write `1`): clears `TCTL.EN`; the transmit unit stops with descriptors pending;
//! - `bus_master` (read, write `0` or `1`): the bus-master bit of the PCI command register;
//!   cleared, the device does no more DMA;
//! - `mem_decode` (read, write `0` or `1`): the memory-decoding bit of the PCI command
//!   register; cleared, the device no longer answers at its registers (QEMU reads zero there,
//!   hardware all ones), as if it had left the bus;
//! - `fail_recover` (read, write a boolean): the next recovery (of either reporter) fails;
//! - `recover_hold` (read, write a boolean): set, recoveries (of either reporter) wait in
//!   their op, holding the devlink instance lock, until it is cleared (10 s at most, or until
//!   a signal), so that tests can tear the device down while a recovery runs;
//! - `recovering` (read): how many recoveries wait there now.
//!
//! Other writes fail with `EINVAL` and change nothing.

use kernel::{
    debugfs::{Dir, File},
    net::dev::Device,
    new_condvar, new_mutex,
    prelude::*,
    str::{kstrtobool_bytes, CString},
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        CondVar, CondVarTimeoutResult, Mutex,
    },
    time::msecs_to_jiffies,
    uaccess::UserSliceReader,
};

use crate::{nic::Nic, regs::*};

/// The longest value a knob takes, newline included.
const MAX_LEN: usize = 8;

/// Reads a boolean (`kstrtobool()`: `1`, `y`, `on` ...) written to a knob.
fn read_bool(reader: &mut UserSliceReader) -> Result<bool> {
    let mut buf = [0u8; MAX_LEN];
    let len = reader.len();
    if len == 0 || len > MAX_LEN {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..len])?;
    kstrtobool_bytes(&buf[..len])
}

type Netdev = ARef<Device<Nic>>;

fn store_stall_tx(netdev: &Netdev, reader: &mut UserSliceReader) -> Result {
    if !read_bool(reader)? {
        return Err(EINVAL);
    }
    let nic = netdev.data();
    let hw = nic.hw();
    let tctl = hw.read(TCTL).ok_or(ENODEV)?;
    hw.write(TCTL, tctl & !TCTL_EN).ok_or(ENODEV)
}

fn show_command<const BIT: u16>(
    netdev: &Netdev,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    match netdev.data().hw().command(BIT) {
        Some(on) => writeln!(f, "{}", u8::from(on)),
        None => writeln!(f, "gone"),
    }
}

fn store_command<const BIT: u16>(netdev: &Netdev, reader: &mut UserSliceReader) -> Result {
    let on = read_bool(reader)?;
    netdev.data().hw().set_command(BIT, on).ok_or(ENODEV)
}

fn flag(netdev: &Netdev) -> &Atomic<bool> {
    netdev.data().get_ref().fail_next_recover()
}

fn show_fail_recover(netdev: &Netdev, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    writeln!(f, "{}", if flag(netdev).load(Relaxed) { 'Y' } else { 'N' })
}

fn store_fail_recover(netdev: &Netdev, reader: &mut UserSliceReader) -> Result {
    let on = read_bool(reader)?;
    flag(netdev).store(on, Relaxed);
    Ok(())
}

/// The longest a recovery waits for `recover_hold` to be cleared: a test that fails to clear
/// it holds the devlink instance lock no longer than this.
const RECOVER_HOLD_MAX_MS: u32 = 10_000;

/// `recover_hold`: recoveries wait while it is set.
#[pin_data]
pub(crate) struct RecoverHold {
    #[pin]
    held: Mutex<bool>,
    #[pin]
    let_go: CondVar,
    /// The recoveries waiting now.
    waiting: Atomic<u32>,
}

impl RecoverHold {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            held <- new_mutex!(false, "re1000::recover_hold"),
            let_go <- new_condvar!("re1000::recover_let_go"),
            waiting: Atomic::new(0),
        })
    }

    /// Waits while the hold is set, for [`RECOVER_HOLD_MAX_MS`] at most, or until a signal.
    pub(crate) fn wait(&self) {
        let mut left = msecs_to_jiffies(RECOVER_HOLD_MAX_MS);
        let mut held = self.held.lock();
        self.waiting.add(1, Relaxed);
        while *held {
            match self.let_go.wait_interruptible_timeout(&mut held, left) {
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                _ => break,
            }
        }
        self.waiting.fetch_sub(1, Relaxed);
    }

    fn set(&self, hold: bool) {
        *self.held.lock() = hold;
        if !hold {
            self.let_go.notify_all();
        }
    }
}

fn hold(netdev: &Netdev) -> &RecoverHold {
    netdev.data().get_ref().recover_hold()
}

fn show_recover_hold(netdev: &Netdev, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    writeln!(f, "{}", if *hold(netdev).held.lock() { 'Y' } else { 'N' })
}

fn store_recover_hold(netdev: &Netdev, reader: &mut UserSliceReader) -> Result {
    let on = read_bool(reader)?;
    hold(netdev).set(on);
    Ok(())
}

fn show_recovering(netdev: &Netdev, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    writeln!(f, "{}", hold(netdev).waiting.load(Relaxed))
}

/// The knobs of a device; dropping them removes them.
pub(crate) struct Faults {
    // Files first, then their folder.
    _files: [Pin<KBox<File<Netdev>>>; 6],
    _dir: Dir,
}

impl Faults {
    /// Adds the knobs of `netdev`'s device, named `name`.
    pub(crate) fn new(name: &CStr, netdev: &Netdev) -> Result<Self> {
        let dir = Dir::new(&CString::try_from_fmt(fmt!("re1000-{}", name))?);
        let files = [
            KBox::pin_init(
                dir.write_callback_file(c"stall_tx", netdev.clone(), &store_stall_tx),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                dir.read_write_callback_file(
                    c"bus_master",
                    netdev.clone(),
                    &show_command::<PCI_COMMAND_MASTER>,
                    &store_command::<PCI_COMMAND_MASTER>,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                dir.read_write_callback_file(
                    c"mem_decode",
                    netdev.clone(),
                    &show_command::<PCI_COMMAND_MEMORY>,
                    &store_command::<PCI_COMMAND_MEMORY>,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                dir.read_write_callback_file(
                    c"fail_recover",
                    netdev.clone(),
                    &show_fail_recover,
                    &store_fail_recover,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                dir.read_write_callback_file(
                    c"recover_hold",
                    netdev.clone(),
                    &show_recover_hold,
                    &store_recover_hold,
                ),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                dir.read_callback_file(c"recovering", netdev.clone(), &show_recovering),
                GFP_KERNEL,
            )?,
        ];
        Ok(Self {
            _files: files,
            _dir: dir,
        })
    }
}
