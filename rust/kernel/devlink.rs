// SPDX-License-Identifier: GPL-2.0

//! devlink: device-level management of network devices.
//!
//! A driver allocates an [`Unregistered`] devlink instance per device, with private data of its
//! own type that every [`Operations`] callback reaches, optionally registers [`port::Port`]s
//! and creates [`health::Reporter`]s on the instance or its ports, then registers the instance,
//! last, with a [`Registration`], which it drops first.
//!
//! devlink health lets a driver report errors of its device to health reporters, keep a dump of
//! the device state at the time of the error, diagnose it and recover, driven from user space
//! with `devlink health`.
//!
//! # Lifetimes
//!
//! Ownership follows the C rules: dropping a [`Registration`] unregisters the instance; ports
//! and reporters are unregistered and destroyed when dropped, and hold a reference to their
//! instance (a reporter also to its port), so that the instance is freed only after all of
//! them, and a port unregistered only after its reporters.
//!
//! # Examples
//!
//! A device with a health reporter that user space sees in `devlink health show`:
//!
//! ```
//! use kernel::{
//!     c_str, device, devlink, devlink::health, devlink::Locked, faux, net::netlink::ExtAck,
//!     prelude::*,
//! };
//!
//! struct Board;
//!
//! #[vtable]
//! impl devlink::Operations for Board {
//!     fn info_get(
//!         _devlink: &devlink::Guard<'_, Self>,
//!         req: &mut devlink::InfoRequest<'_>,
//!         _extack: &mut ExtAck<'_>,
//!     ) -> Result {
//!         req.put_serial_number(c_str!("0001"))?;
//!         req.put_version_running(c_str!("fw"), c_str!("1.2.3"))
//!     }
//! }
//!
//! struct Link;
//!
//! #[vtable]
//! impl health::ReporterOps for Link {
//!     const NAME: &'static CStr = c_str!("link");
//!     type Context = ();
//!
//!     fn recover(&self, _dl: &Locked<'_>, _ctx: Option<&()>, _ext: &mut ExtAck<'_>) -> Result {
//!         Ok(())
//!     }
//! }
//!
//! let fdev = faux::Registration::new(c_str!("rust-devlink-example"), None)?;
//! let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
//! let devlink = devlink::Unregistered::new(dev, Board)?;
//! let link = health::Reporter::new(&devlink, Link)?;
//! // Last: user space sees the instance whole, with its reporter.
//! let _reg = devlink::Registration::new(dev, devlink)?;
//! link.report(c_str!("link flapped"), &())?;
//! # Ok::<(), Error>(())
//! ```
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)
//!
//! Reference: <https://docs.kernel.org/networking/devlink/>

pub mod fmsg;
pub mod health;
mod info;
mod instance;
pub mod port;

pub use info::InfoRequest;
pub use instance::{Devlink, Guard, Locked, Operations, Registration, Unregistered};
