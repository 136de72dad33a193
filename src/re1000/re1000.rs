// SPDX-License-Identifier: GPL-2.0

//! re1000: a driver for the Intel 82540EM Gigabit Ethernet controller (PCI 8086:100e), the
//! `e1000` device of QEMU, written on the kernel's Rust PCI, DMA, interrupt and network device
//! abstractions.
//!
//! One transmit and one receive ring of legacy descriptors, one NAPI context, an INTx (or MSI)
//! interrupt, link state from the MAC's status register. The C `e1000` driver binds the same
//! device: only one of them may be loaded.

use kernel::{
    device::Core,
    irq,
    net::dev::{Feature, Registration},
    pci,
    prelude::*,
    sync::aref::ARef,
};

mod hw;
mod itr;
mod nic;
mod regs;
mod ring;

use hw::Hw;
use nic::{Isr, Nic};
use regs::BAR0_SIZE;

struct Re1000;

/// What a bound device holds; dropped in this order after `unbind`.
#[pin_data]
struct Data<'bound> {
    /// First: no interrupt may reach the network device once it is unregistered.
    #[pin]
    irq: pci::Interrupt<'bound, Isr>,
    netdev: Registration<Nic>,
}

kernel::pci_device_table!(
    PCI_TABLE,
    <Re1000 as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(pci::Vendor::INTEL, 0x100e), ())]
);

impl pci::Driver for Re1000 {
    type IdInfo = ();
    type Data<'bound> = Data<'bound>;
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
            hw.setup_link().ok_or(ENODEV)?;

            let netdev = Registration::<Nic>::new(pdev.as_ref(), |new| {
                new.set_mac_address(&mac)?;
                new.set_features(Feature::Sg | Feature::HwCsum | Feature::Tso);
                Ok(Nic::new(pdev.as_ref(), hw))
            })?;
            let isr = Isr::new(ARef::from(netdev.device()));
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

            Ok(try_pin_init!(Data {
                irq <- pdev.request_interrupt(
                    pci::IrqTypes::all(),
                    irq::Flags::SHARED,
                    c"re1000",
                    Ok::<_, Error>(isr),
                ),
                netdev,
            }? Error))
        })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // The device stops its DMA before the rings go.
        this.netdev.data().hw().quiesce();
    }
}

kernel::module_pci_driver! {
    type: Re1000,
    name: "re1000",
    authors: ["Rust devlink health developers"],
    description: "Intel 82540EM (QEMU e1000) Ethernet driver in Rust",
    license: "GPL v2",
}
