// SPDX-License-Identifier: GPL-2.0
// expect: error[E0478]: lifetime bound not satisfied
//! Must not build: health reporter data that borrows a value freed while the reporter lives.
//!
//! The reporter is leaked (safe), the value it borrows freed, and `devlink health diagnose`
//! would then read it.

use kernel::{
    c_str, device, devlink, devlink::fmsg::Object, devlink::health, devlink::Locked, faux,
    net::netlink::ExtAck, prelude::*,
};

struct Board;

#[vtable]
impl devlink::Operations for Board {}

struct Borrowing<'a> {
    errors: &'a u32,
}

#[vtable]
impl<'a> health::ReporterOps for Borrowing<'a> {
    const NAME: &'static CStr = c_str!("borrowing");
    type Context = ();

    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        fmsg.put_u32(c_str!("errors"), *self.errors);
        Ok(())
    }
}

struct BuildFail {
    _reg: devlink::Registration<Board>,
    _fdev: faux::Registration,
}

impl kernel::Module for BuildFail {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let fdev = faux::Registration::new(c_str!("build-fail"), None)?;
        let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
        let reg = devlink::Registration::new(dev, devlink::Unregistered::new(dev, Board)?)?;
        let errors = KBox::new(0u32, GFP_KERNEL)?;
        let reporter = health::Reporter::new(&reg, Borrowing { errors: &errors })?;
        core::mem::forget(reporter);
        Ok(Self {
            _reg: reg,
            _fdev: fdev,
        })
    }
}

module! {
    type: BuildFail,
    name: "devlink_borrowed_reporter",
    authors: ["Rust for Linux Contributors"],
    description: "Must not build",
    license: "GPL",
}
