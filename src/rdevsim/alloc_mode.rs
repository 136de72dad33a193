// SPDX-License-Identifier: GPL-2.0

//! `health/alloc_per_report`: reports to `dummy` that allocate as netdevsim's do.
//!
//! rdevsim keeps the text of a short report in the report itself, and reuses the buffer of the
//! message it keeps for `diagnose`; netdevsim allocates both anew at every report: the text with
//! `memdup_user_nul()`, freed after the report, and, when it recovers, `kfree()` of the message
//! kept, then `kstrdup()`. An instance with this knob set does netdevsim's allocations, so that
//! `make bench` can tell what `kernel::devlink` costs apart from what the two designs do.

use kernel::{
    prelude::*,
    sync::{atomic::Relaxed, Arc},
    uaccess::UserSliceReader,
};

use crate::{
    health::{break_health, DummyReporter},
    knobs,
    message::Break,
};

/// `break_health` of `dummy`: as any reporter's, or, in this mode, as netdevsim's.
pub(crate) fn break_dummy(reporter: &Arc<DummyReporter>, reader: &mut UserSliceReader) -> Result {
    if !reporter.alloc_per_report.load(Relaxed) {
        return break_health(reporter, reader);
    }
    let mut ctx = Break::empty();
    ctx.read_allocated(reader)?;
    reporter.report(ctx.message(), &ctx)
}

pub(crate) fn show(
    reporter: &Arc<DummyReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    let on = reporter.alloc_per_report.load(Relaxed);
    writeln!(f, "{}", if on { 'Y' } else { 'N' })
}

pub(crate) fn store(reporter: &Arc<DummyReporter>, reader: &mut UserSliceReader) -> Result {
    reporter
        .alloc_per_report
        .store(knobs::read_bool(reader)?, Relaxed);
    Ok(())
}
