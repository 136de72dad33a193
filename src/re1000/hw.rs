// SPDX-License-Identifier: GPL-2.0

//! Register access, reset and set-up of the MAC.
//!
//! Registers are reached through a device-managed BAR, revoked when the device is unbound:
//! every access says whether the device was still there (`None` if not), so that what runs
//! after unbind (a late interrupt, the stack stopping the interface) touches nothing.

use kernel::{
    device, io::Io, net::dev::MacAddress, pci, pci::DevresBar, prelude::*, time::delay::fsleep,
    time::Delta,
};

use crate::{regs::*, ring::RING_LEN};

/// The MAC's registers.
pub(crate) struct Hw {
    bar: DevresBar<BAR0_SIZE>,
}

impl Hw {
    pub(crate) fn new(bar: DevresBar<BAR0_SIZE>) -> Self {
        Self { bar }
    }

    /// Reads register `reg`; `None` if the device is gone.
    pub(crate) fn read(&self, reg: usize) -> Option<u32> {
        self.bar
            .try_access_with(|bar| bar.try_read32(reg).ok())
            .flatten()
    }

    /// Writes `value` to register `reg`; `None` if the device is gone.
    pub(crate) fn write(&self, reg: usize, value: u32) -> Option<()> {
        self.bar
            .try_access_with(|bar| bar.try_write32(value, reg).ok())
            .flatten()
    }

    /// Runs `f` with the PCI device, which stays bound meanwhile; `None` if it is gone.
    fn with_pci<R>(&self, f: impl FnOnce(&pci::Device<device::Bound>) -> R) -> Option<R> {
        self.bar.try_access_with(|bar| f(bar.device()))
    }

    /// Whether the `bits` of the PCI command register (`PCI_COMMAND_MASTER` ...) are all set.
    pub(crate) fn command(&self, bits: u16) -> Option<bool> {
        self.with_pci(|pdev| pdev.config_space().read16(PCI_COMMAND) & bits == bits)
    }

    /// Whether bus mastering (the device's DMA) is enabled.
    pub(crate) fn bus_master(&self) -> Option<bool> {
        self.command(PCI_COMMAND_MASTER)
    }

    /// Sets (`on`) or clears the `bits` of the PCI command register.
    ///
    /// Written directly rather than with `pci_set_master()` and the like: this restores (or,
    /// for fault injection, takes away behind the PCI core's back) what probe set, and the PCI
    /// core's own record of it stays as probe left it.
    pub(crate) fn set_command(&self, bits: u16, on: bool) -> Option<()> {
        self.with_pci(|pdev| {
            let config = pdev.config_space();
            let command = config.read16(PCI_COMMAND);
            let command = if on { command | bits } else { command & !bits };
            config.write16(command, PCI_COMMAND);
        })
    }

    /// Enables memory decoding and bus mastering again, as probe did.
    pub(crate) fn restore_command(&self) -> Option<()> {
        self.set_command(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, true)
    }

    /// Points the ring whose registers start at `base` (`TDBAL` or `RDBAL`: base address low
    /// and high, length, head and tail follow, in the same layout) to the `RING_LEN`
    /// descriptors at `addr`, empty.
    pub(crate) fn set_ring(&self, base: usize, addr: u64) -> Option<()> {
        self.write(base + RING_BAL, addr as u32)?;
        self.write(base + RING_BAH, (addr >> 32) as u32)?;
        self.write(base + RING_LEN_REG, (RING_LEN * DESC_WORDS * 8) as u32)?;
        self.write(base + RING_HEAD, 0)?;
        self.write(base + RING_TAIL, 0)
    }

    /// Masks every interrupt and discards pending causes.
    pub(crate) fn mask_interrupts(&self) {
        self.write(IMC, u32::MAX);
        self.read(ICR);
    }

    /// Stops reception and transmission and masks interrupts: the device no longer does DMA.
    pub(crate) fn quiesce(&self) {
        self.write(IMC, u32::MAX);
        self.write(RCTL, 0);
        self.write(TCTL, TCTL_PSP);
        // Flush the writes before the caller frees what the device used.
        self.read(STATUS);
    }

    /// Resets the MAC, as the C driver does for the 82540 (`e1000_reset_hw()`).
    pub(crate) fn reset(&self) -> Result {
        self.quiesce();
        fsleep(Delta::from_millis(10));
        let ctrl = self.read(CTRL).ok_or(ENODEV)?;
        self.write(CTRL, ctrl | CTRL_RST).ok_or(ENODEV)?;
        // The EEPROM is reloaded after a reset.
        fsleep(Delta::from_millis(5));
        self.mask_interrupts();
        Ok(())
    }

    /// Reads word `word` of the EEPROM.
    pub(crate) fn eeprom_read(&self, word: u32) -> Result<u16> {
        self.write(EERD, (word << EERD_ADDR_SHIFT) | EERD_START)
            .ok_or(ENODEV)?;
        for _ in 0..1000 {
            let value = self.read(EERD).ok_or(ENODEV)?;
            if value & EERD_DONE != 0 {
                return Ok((value >> EERD_DATA_SHIFT) as u16);
            }
            fsleep(Delta::from_micros(10));
        }
        Err(ETIMEDOUT)
    }

    /// The MAC address in the EEPROM (words 0 to 2, low byte first).
    pub(crate) fn read_mac_address(&self) -> Result<MacAddress> {
        let mut mac = [0; 6];
        for (i, pair) in mac.chunks_exact_mut(2).enumerate() {
            let word = self.eeprom_read(i as u32)?;
            pair.copy_from_slice(&word.to_le_bytes());
        }
        Ok(mac)
    }

    /// Receives unicast frames for `mac` only (the multicast table is the receive filter's).
    pub(crate) fn set_mac_address(&self, mac: &MacAddress) -> Option<()> {
        let low = u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]);
        let high = u32::from(u16::from_le_bytes([mac[4], mac[5]])) | RAH_AV;
        self.write(RAL0, low)?;
        self.write(RAH0, high)?;
        for i in 1..RA_LEN {
            self.write(RAL0 + 8 * i, 0)?;
            self.write(RAH0 + 8 * i, 0)?;
        }
        Some(())
    }

    /// Sets the link up, speed and duplex autodetected; the PHY is left as it is.
    pub(crate) fn setup_link(&self) -> Option<()> {
        let ctrl = self.read(CTRL)?;
        let clear = CTRL_LRST | CTRL_ILOS | CTRL_FRCSPD | CTRL_FRCDPX | CTRL_PHY_RST | CTRL_VME;
        self.write(CTRL, (ctrl | CTRL_SLU | CTRL_ASDE) & !clear)
    }

    /// The link state: up, speed in Mb/s, full duplex; `None` if the device is gone (unbound,
    /// or off the bus: reading all ones).
    pub(crate) fn link(&self) -> Option<Link> {
        let status = self.read(STATUS).filter(|&s| s != u32::MAX)?;
        Some(Link {
            up: status & STATUS_LU != 0,
            speed: match (status >> STATUS_SPEED_SHIFT) & 3 {
                0 => 10,
                1 => 100,
                _ => 1000,
            },
            full_duplex: status & STATUS_FD != 0,
        })
    }
}

/// What the MAC says of its link.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) up: bool,
    pub(crate) speed: u32,
    pub(crate) full_duplex: bool,
}
