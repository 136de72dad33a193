// SPDX-License-Identifier: GPL-2.0
// expect: error[E0478]: lifetime bound not satisfied
//! Must not build: devlink instance data that borrows a value freed while the instance lives.
//!
//! The registration is leaked (safe), the value it borrows freed, and `devlink dev info` would
//! then read it.

use kernel::{c_str, device, devlink, faux, net::netlink::ExtAck, prelude::*};

struct Borrowing<'a> {
    serial: &'a CStr,
}

#[vtable]
impl<'a> devlink::Operations for Borrowing<'a> {
    fn info_get(
        devlink: &devlink::Guard<'_, Self>,
        req: &mut devlink::InfoRequest<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        req.put_serial_number(devlink.serial)
    }
}

struct BuildFail {
    _fdev: faux::Registration,
}

impl kernel::Module for BuildFail {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let fdev = faux::Registration::new(c_str!("build-fail"), None)?;
        let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
        let serial = KBox::new(*b"0001\0", GFP_KERNEL)?;
        let serial = CStr::from_bytes_with_nul(&serial[..]).map_err(|_| EINVAL)?;
        let reg = devlink::Unregistered::new(dev, Borrowing { serial })?;
        core::mem::forget(devlink::Registration::new(dev, reg)?);
        Ok(Self { _fdev: fdev })
    }
}

module! {
    type: BuildFail,
    name: "devlink_borrowed_instance",
    authors: ["Rust for Linux Contributors"],
    description: "Must not build",
    license: "GPL",
}
