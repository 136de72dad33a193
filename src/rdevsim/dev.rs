// SPDX-License-Identifier: GPL-2.0

//! An rdevsim instance: a faux device with a devlink instance, its ports, its health reporters
//! and its debugfs folder.

use kernel::{
    debugfs::Dir,
    device, devlink,
    devlink::{
        health::Periods,
        port::{Flavour, Port},
    },
    faux,
    net::netlink::ExtAck,
    prelude::*,
    str::CString,
};

use crate::{health::Health, port_health::PortHealth};

/// The driver's data of a devlink instance.
pub(crate) struct DevData {
    /// The serial number: the instance's ID, as text.
    serial: CString,
}

#[vtable]
impl devlink::Operations for DevData {
    fn info_get(
        _devlink: &devlink::Guard<'_, Self>,
        req: &mut devlink::InfoRequest<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        req.put_serial_number(&_devlink.serial)?;
        // The versions netdevsim shows.
        req.put_version_stored(c"fw.mgmt", c"10.20.30")?;
        req.put_version_running(c"fw.mgmt", c"10.20.30")
    }
}

/// A live instance. Dropping it removes the instance.
pub(crate) struct Device {
    // Dropped in this order: the devlink registration (user space sees the instance whole
    // until it is gone), the knobs and reporters, the ports, the folders, the device.
    _devlink: devlink::Registration<DevData>,
    _health: Health,
    _ports: KVec<PortHealth>,
    _ports_dir: Dir,
    _dir: Dir,
    _faux: faux::Registration,
}

impl Device {
    /// Creates instance `id` with `ports` ports, and the `dummy` reporter's default periods;
    /// its debugfs folder goes under `root`.
    pub(crate) fn new(root: &Dir, id: u32, ports: u32, periods: Periods) -> Result<Self> {
        let name = CString::try_from_fmt(fmt!("rdevsim{id}"))?;
        let faux = faux::Registration::new(&name, None)?;
        let dev: &device::Device<device::Bound> = faux.as_ref().as_ref();
        let serial = CString::try_from_fmt(fmt!("{id}"))?;
        let devlink = devlink::Unregistered::new(dev, DevData { serial })?;
        let dir = root.subdir(&name);
        let ports_dir = dir.subdir(c"ports");
        let mut port_list = KVec::with_capacity(ports as usize, GFP_KERNEL)?;
        for index in 0..ports {
            let port = Port::new(&devlink, index, Flavour::Physical { number: index })?;
            port_list.push(PortHealth::new(port, &ports_dir)?, GFP_KERNEL)?;
        }
        let health = Health::new(&devlink, &dir, periods)?;
        // Last: user space sees the instance with all its ports and reporters.
        let reg = devlink::Registration::new(dev, devlink)?;
        Ok(Self {
            _devlink: reg,
            _health: health,
            _ports: port_list,
            _ports_dir: ports_dir,
            _dir: dir,
            _faux: faux,
        })
    }
}
