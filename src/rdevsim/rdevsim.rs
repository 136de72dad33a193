// SPDX-License-Identifier: GPL-2.0

//! rdevsim: a fake device for devlink health, in Rust, after netdevsim.
//!
//! Instances are made in configfs, one folder per instance named by its ID:
//!
//! ```sh
//! mkdir /sys/kernel/config/rdevsim/10        # instance 10, not live yet
//! echo 4 > /sys/kernel/config/rdevsim/10/ports
//! echo 1 > /sys/kernel/config/rdevsim/10/live  # faux/rdevsim10 appears in devlink
//! rmdir /sys/kernel/config/rdevsim/10         # and goes
//! ```
//!
//! Attributes: `ports` (0 to 32, default 1), `graceful_period` and `burst_period` (the `dummy`
//! reporter's defaults, in milliseconds, default 0), settable while the instance is not live,
//! and `live` (`1` creates the instance, `0` removes it). Malformed or out-of-range values are
//! refused with `EINVAL`, changes to a live instance with `EBUSY`.
//!
//! Each instance has a devlink instance `faux/rdevsim<ID>` (`devlink dev info`: serial number
//! the ID), netdevsim's `empty` and `dummy` health reporters and their knobs in
//! `/sys/kernel/debug/rdevsim/rdevsim<ID>/health/`, and one physical port per port, each with a
//! `link` reporter and its knobs in `.../rdevsim<ID>/ports/<index>/health/`.

use kernel::{
    configfs, configfs_attrs, debugfs::Dir, devlink::health::Periods, new_mutex, page::PAGE_SIZE,
    prelude::*, sync::Mutex, time::Delta,
};

mod alloc_mode;
mod dev;
mod health;
mod knobs;
mod message;
mod port_health;

pub(crate) use dev::DevData;
use dev::Device;

module! {
    type: RDevSim,
    name: "rdevsim",
    authors: ["rust-devlink developers"],
    description: "Fake devlink device for devlink health, after netdevsim",
    license: "GPL",
}

/// The most ports an instance has.
const MAX_PORTS: u32 = 32;

#[pin_data]
struct RDevSim {
    #[pin]
    config: configfs::Subsystem<Root>,
}

impl kernel::InPlaceModule for RDevSim {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let item_type = configfs_attrs! {
            container: configfs::Subsystem<Root>,
            data: Root,
            child: Config,
            attributes: [],
        };
        try_pin_init!(Self {
            config <- configfs::Subsystem::new(c"rdevsim", item_type, Root::new()),
        })
    }
}

/// The configfs subsystem: one folder per instance.
#[pin_data]
struct Root {
    /// `/sys/kernel/debug/rdevsim`, where each instance has its folder.
    debugfs: Dir,
}

impl Root {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            debugfs: Dir::new(c"rdevsim"),
        })
    }
}

#[vtable]
impl configfs::GroupOperations for Root {
    type Child = Config;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<Config>, Error>> {
        // A decimal ID, as netdevsim's: no sign, no prefix, no leading zero.
        let bytes = name.to_bytes();
        if bytes.is_empty()
            || !bytes.iter().all(u8::is_ascii_digit)
            || (bytes[0] == b'0' && bytes.len() > 1)
        {
            return Err(EINVAL);
        }
        let id = knobs::parse_u32(bytes)?;
        let item_type = configfs_attrs! {
            container: configfs::Group<Config>,
            data: Config,
            attributes: [
                ports: 0,
                graceful_period: 1,
                burst_period: 2,
                live: 3,
            ],
        };
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            Config::new(id, self.debugfs.clone()),
        ))
    }
}

/// The settings of an instance, and the instance when it is live.
struct Settings {
    ports: u32,
    graceful_ms: u32,
    burst_ms: u32,
    device: Option<Device>,
}

/// An instance's configfs folder.
#[pin_data]
struct Config {
    id: u32,
    debugfs: Dir,
    #[pin]
    settings: Mutex<Settings>,
}

impl Config {
    fn new(id: u32, debugfs: Dir) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            id,
            debugfs,
            settings <- new_mutex!(Settings {
                ports: 1,
                graceful_ms: 0,
                burst_ms: 0,
                device: None,
            }),
        })
    }

    /// Changes a setting of an instance that is not live.
    fn set(&self, page: &[u8], max: u32, f: impl FnOnce(&mut Settings, u32)) -> Result {
        let value = knobs::parse_u32(page)?;
        if value > max {
            return Err(EINVAL);
        }
        let mut settings = self.settings.lock();
        if settings.device.is_some() {
            return Err(EBUSY);
        }
        f(&mut settings, value);
        Ok(())
    }
}

/// Writes `value` and a newline into a configfs page.
fn show(page: &mut [u8; PAGE_SIZE], value: impl core::fmt::Display) -> Result<usize> {
    let mut f = kernel::str::Formatter::new(page);
    core::fmt::Write::write_fmt(&mut f, format_args!("{value}\n")).map_err(|_| EINVAL)?;
    Ok(f.bytes_written())
}

#[vtable]
impl configfs::AttributeOperations<0> for Config {
    type Data = Config;

    fn show(config: &Config, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show(page, config.settings.lock().ports)
    }

    fn store(config: &Config, page: &[u8]) -> Result {
        config.set(page, MAX_PORTS, |s, v| s.ports = v)
    }
}

#[vtable]
impl configfs::AttributeOperations<1> for Config {
    type Data = Config;

    fn show(config: &Config, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show(page, config.settings.lock().graceful_ms)
    }

    fn store(config: &Config, page: &[u8]) -> Result {
        config.set(page, u32::MAX, |s, v| s.graceful_ms = v)
    }
}

#[vtable]
impl configfs::AttributeOperations<2> for Config {
    type Data = Config;

    fn show(config: &Config, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show(page, config.settings.lock().burst_ms)
    }

    fn store(config: &Config, page: &[u8]) -> Result {
        config.set(page, u32::MAX, |s, v| s.burst_ms = v)
    }
}

#[vtable]
impl configfs::AttributeOperations<3> for Config {
    type Data = Config;

    fn show(config: &Config, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show(page, u8::from(config.settings.lock().device.is_some()))
    }

    fn store(config: &Config, page: &[u8]) -> Result {
        let live = knobs::parse_bool(page)?;
        let mut settings = config.settings.lock();
        match (live, settings.device.is_some()) {
            (true, true) => Err(EBUSY),
            (false, false) => Ok(()),
            (true, false) => {
                let periods = Periods::new(
                    Delta::from_millis(settings.graceful_ms.into()),
                    Delta::from_millis(settings.burst_ms.into()),
                )
                .ok_or_else(|| {
                    pr_err!(
                        "instance {}: a burst period needs a graceful period\n",
                        config.id
                    );
                    EINVAL
                })?;
                let device = Device::new(&config.debugfs, config.id, settings.ports, periods)?;
                settings.device = Some(device);
                Ok(())
            }
            (false, true) => {
                let device = settings.device.take();
                drop(settings);
                drop(device);
                Ok(())
            }
        }
    }
}
