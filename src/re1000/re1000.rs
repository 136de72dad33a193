// SPDX-License-Identifier: GPL-2.0

//! re1000: a driver for the Intel 82540EM Gigabit Ethernet controller (PCI 8086:100e), the
//! `e1000` device of QEMU, written on the kernel's Rust PCI, DMA, interrupt and network device
//! abstractions.
//!
//! One transmit and one receive ring of legacy descriptors, one NAPI context, an INTx (or MSI)
//! interrupt, link state from the MAC's status register. The C `e1000` driver binds the same
//! device: only one of them may be loaded.
//!
//! Each device has a devlink instance (`pci/<address>`) with one physical port, the network
//! device's, and two health reporters fed by a watchdog: `tx` on the port, `hw` on the
//! instance (see `health.rs`, `watchdog.rs`), with fault injection knobs in debugfs
//! (`faults.rs`).

use kernel::{
    device::Core,
    devlink::{
        self,
        health::Reporter,
        port::{Flavour, Port},
    },
    devres::Devres,
    driver, irq,
    net::dev::{Feature, Registration, Unregistered},
    pci,
    prelude::*,
    sync::{aref::ARef, Arc},
    InPlaceModule,
};

mod faults;
mod health;
mod hw;
mod instance;
mod itr;
mod nic;
mod regs;
mod ring;
mod stats;
mod watchdog;

use faults::Faults;
use health::{HwReporter, TxReporter};
use hw::Hw;
use instance::Instance;
use nic::{Isr, Nic};
use regs::{BAR0_SIZE, EEPROM_VERSION_WORD};
use watchdog::Watchdog;

#[pin_data]
struct Re1000Module {
    #[pin]
    _driver: driver::Registration<pci::Adapter<Re1000>>,
}

impl InPlaceModule for Re1000Module {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _driver <- driver::Registration::new(c"re1000", module),
        })
    }
}

struct Re1000;

/// What a bound device holds; dropped in this order after `unbind`.
struct Data {
    /// First: user space sees the devlink instance whole until it is gone.
    _devlink: devlink::Registration<Instance>,
    netdev: Registration<Nic, Attached>,
    /// Registered as long as the network device, which keeps it too.
    _port: Port,
}

/// What uses the network device, dropped in this order before it is unregistered.
struct Attached {
    /// No interrupt may reach the network device once it is unregistered.
    _irq: Devres<pci::Interrupt<Isr>>,
    /// No fault is injected, then no error reported, once the network device is gone.
    _faults: Faults,
    /// Holds the reporters, destroyed as it stops.
    _watchdog: watchdog::Running,
}

kernel::pci_device_table!(
    PCI_TABLE,
    <Re1000 as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(pci::Vendor::INTEL, 0x100e), ())]
);

impl pci::Driver for Re1000 {
    type IdInfo = ();
    type Data<'bound> = Data;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            pdev.enable_device_mem()?;
            pdev.set_master();
            let bar = pdev
                .iomap_region_sized::<BAR0_SIZE>(0, c"re1000")?
                .into_devres()?;
            let hw = Hw::new(bar);
            hw.reset()?;
            let mac = hw.read_mac_address()?;
            let version = hw.eeprom_read(EEPROM_VERSION_WORD)?;
            hw.setup_link().ok_or(ENODEV)?;

            let devlink = devlink::Unregistered::new(pdev.as_ref(), Instance::new(&mac, version)?)?;
            let port = Port::new(&devlink, 0, Flavour::Physical { number: 0 })?;
            let netdev = Unregistered::<Nic>::new_on_port(pdev.as_ref(), &port, |new| {
                new.set_mac_address(&mac)?;
                new.set_features(Feature::Sg | Feature::HwCsum | Feature::Tso);
                Ok(Nic::new(pdev.as_ref(), hw))
            })?;
            let netref = ARef::from(netdev.device());
            let tx = Reporter::new_on_port(&port, TxReporter::new(netref.clone()))?;
            let hw = Reporter::new(&devlink, HwReporter::new(netref.clone()))?;
            let watchdog = Watchdog::start(
                netref.clone(),
                Arc::new(tx, GFP_KERNEL)?,
                Arc::new(hw, GFP_KERNEL)?,
            )?;
            let faults = Faults::new(pdev.as_ref().name(), &netref)?;
            let irq = pdev.request_interrupt(
                pci::IrqTypes::all(),
                irq::Flags::SHARED,
                c"re1000",
                Ok::<_, Error>(Isr::new(netref)),
            )?;
            // The devlink instance with its port and reporters, then the network device,
            // last: user space cannot open an interface that a failure would take away.
            let devlink = devlink::Registration::new(pdev.as_ref(), devlink)?;
            let netdev = netdev.register(Attached {
                _irq: irq,
                _faults: faults,
                _watchdog: watchdog,
            })?;
            dev_info!(
                pdev,
                "{}: {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
                netdev.device().name(),
                mac[0],
                mac[1],
                mac[2],
                mac[3],
                mac[4],
                mac[5]
            );
            Ok(try_init!(Data {
                _devlink: devlink,
                netdev,
                _port: port,
            }? Error))
        })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // The device stops its DMA before the rings go, and its interrupts before the handler.
        this.netdev.data().begin_removal();
    }
}

module! {
    type: Re1000Module,
    name: "re1000",
    authors: ["Rust devlink health developers"],
    description: "Intel 82540EM (QEMU e1000) Ethernet driver in Rust",
    license: "GPL v2",
}
