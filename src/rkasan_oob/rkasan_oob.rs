// SPDX-License-Identifier: GPL-2.0

//! Proof that KASAN watches Rust code: writes one byte past a 16-byte heap
//! allocation when loaded.
//!
//! Built only when `RDL_KASAN_PROOF=m` is given to the module build, and
//! loaded only by the `rkasan_oob.sh` selftest, which is not part of the
//! normal suite: it exists to turn `make test T=rkasan_oob.sh` red with a
//! `BUG: KASAN: slab-out-of-bounds` report. Never load it elsewhere.

use core::hint::black_box;
use kernel::prelude::*;

module! {
    type: RKasanOob,
    name: "rkasan_oob",
    authors: ["rust-devlink developers"],
    description: "Deliberate out-of-bounds write, to prove KASAN covers Rust",
    license: "GPL",
}

struct RKasanOob;

impl kernel::Module for RKasanOob {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut buf = KVec::<u8>::with_capacity(16, GFP_KERNEL)?;
        let ptr = buf.as_mut_ptr();
        let past_end = black_box(buf.capacity());
        pr_info!("writing one byte past a {past_end}-byte allocation\n");
        // SAFETY: none; this write is out of bounds on purpose, for KASAN to
        // report. The byte written lands in the allocation's red zone.
        unsafe { ptr.add(past_end).write_volatile(0x5a) };
        Ok(RKasanOob)
    }
}
