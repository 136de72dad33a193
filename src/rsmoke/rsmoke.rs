// SPDX-License-Identifier: GPL-2.0

//! Smoke-test module for the build and VM loop.
//!
//! Proves that an out-of-tree Rust module builds against the prepared kernel
//! tree, loads with `insmod`, takes module parameters and serves debugfs:
//! `/sys/kernel/debug/rsmoke/counter` reads back a `u32` and accepts a new
//! one; anything that does not parse as a `u32` is refused with `EINVAL` and
//! leaves the value as it was.

use kernel::{
    debugfs::{Dir, File},
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

module! {
    type: RSmoke,
    name: "rsmoke",
    authors: ["rust-devlink developers"],
    description: "Smoke test for out-of-tree Rust modules",
    license: "GPL",
    params: {
        initial: u32 {
            default: 0,
            description: "Initial value of the debugfs counter",
        },
    },
}

#[pin_data(PinnedDrop)]
struct RSmoke {
    // Declared before `_dir`: files are removed before their directory.
    #[pin]
    counter: File<Atomic<u32>>,
    _dir: Dir,
}

impl kernel::InPlaceModule for RSmoke {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let initial = module_parameters::initial.value();
        let dir = Dir::new(c"rsmoke");
        pr_info!("loaded, counter {initial}\n");
        try_pin_init!(Self {
            counter <- dir.read_write_file(c"counter", Atomic::new(initial)),
            _dir: dir,
        })
    }
}

#[pinned_drop]
impl PinnedDrop for RSmoke {
    fn drop(self: Pin<&mut Self>) {
        pr_info!("unloaded, counter {}\n", self.counter.load(Relaxed));
    }
}
