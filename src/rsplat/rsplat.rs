// SPDX-License-Identifier: GPL-2.0

//! A deliberate `WARN`, for the test harness's self test.
//!
//! Loading this module prints one kernel warning, from Rust, and nothing
//! else: the `rsplat.sh` selftest loads it to prove that the harness's splat
//! check (`scripts/splat.sh`) still sees a splat, and marks the load so that
//! the harness counts this one warning as expected. Never load it elsewhere:
//! anywhere else, the warning turns the run red, as it should.

use kernel::prelude::*;

module! {
    type: RSplat,
    name: "rsplat",
    authors: ["rust-devlink developers"],
    description: "Deliberate kernel warning, for the test harness's self test",
    license: "GPL",
}

struct RSplat;

impl kernel::Module for RSplat {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("warning on purpose, for the harness's splat check\n");
        kernel::warn_on!(true);
        Ok(RSplat)
    }
}
