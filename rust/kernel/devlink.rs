// SPDX-License-Identifier: GPL-2.0

//! devlink: device-level management of network devices.
//!
//! devlink health lets a driver report errors of its device to health reporters, keep a dump of
//! the device state at the time of the error, diagnose it and recover, driven from user space
//! with `devlink health`.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)
//!
//! Reference: <https://docs.kernel.org/networking/devlink/devlink-health.html>

pub mod fmsg;
