// SPDX-License-Identifier: GPL-2.0

//! The health reporters of an instance: netdevsim's `empty` and `dummy`, and their debugfs
//! knobs under `health/`.
//!
//! What a user sees is netdevsim's, key for key, with one difference: netdevsim's dummy dump
//! closes an fmsg array it never opened right after `test_nest`, so that iproute2 stops printing
//! there; here the message is balanced and `test_u32_array` and `test_array_of_objects` show.

use kernel::{
    debugfs::{Dir, File},
    devlink::{fmsg::Object, health, Devlink, Locked},
    net::netlink::ExtAck,
    prelude::*,
    random,
    sync::{
        atomic::{Atomic, Relaxed},
        new_mutex, Arc, Mutex,
    },
    uaccess::UserSliceReader,
};

use crate::{
    alloc_mode, knobs,
    message::{Break, LastMessage},
    DevData,
};

/// The default length of `test_binary`, as in netdevsim.
const BINARY_LEN_DEFAULT: u32 = 16;

/// The longest `test_binary` accepted (netdevsim takes any `u32`, and then fails the dump with
/// `ENOMEM`); 1 MiB, which a dump still carries.
const BINARY_LEN_MAX: u32 = 1 << 20;

/// The `empty` reporter: `dump` and `diagnose` that put nothing, no `recover`.
pub(crate) struct Empty;

#[vtable]
impl health::ReporterOps for Empty {
    const NAME: &'static CStr = c"empty";
    type Context = ();

    fn dump(
        &self,
        _devlink: &Locked<'_>,
        _fmsg: &mut Object<'_>,
        _ctx: Option<&()>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        Ok(())
    }

    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        _fmsg: &mut Object<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        Ok(())
    }
}

/// The `dummy` reporter.
#[pin_data]
pub(crate) struct Dummy {
    binary_len: Atomic<u32>,
    /// `test_binary` holds [`pattern`] rather than random bytes, for tests that check a dump
    /// end to end.
    binary_pattern: Atomic<bool>,
    fail_recover: Atomic<bool>,
    /// Whether reports allocate as netdevsim's do (see [`crate::alloc_mode`]).
    pub(crate) alloc_per_report: Atomic<bool>,
    /// The message of the last report recovered, shown by `diagnose`.
    #[pin]
    recovered: Mutex<LastMessage>,
    periods: health::Periods,
}

impl Dummy {
    pub(crate) fn new(periods: health::Periods) -> impl PinInit<Self> {
        pin_init!(Self {
            binary_len: Atomic::new(BINARY_LEN_DEFAULT),
            binary_pattern: Atomic::new(false),
            fail_recover: Atomic::new(false),
            alloc_per_report: Atomic::new(false),
            recovered <- new_mutex!(LastMessage::new()),
            periods,
        })
    }

    /// The values that netdevsim's dummy reporter puts into dumps and diagnoses.
    fn put_values(&self, fmsg: &mut Object<'_>) -> Result {
        let len = self.binary_len.load(Relaxed) as usize;
        let mut binary = KVec::from_elem(0u8, len, GFP_KERNEL | __GFP_NOWARN)?;
        if self.binary_pattern.load(Relaxed) {
            for (i, b) in binary.iter_mut().enumerate() {
                *b = pattern(i);
            }
        } else {
            random::fill_bytes(&mut binary);
        }
        fmsg.put_bool(c"test_bool", true)
            .put_u8(c"test_u8", 1)
            .put_u32(c"test_u32", 3)
            .put_u64(c"test_u64", 4)
            .put_str(c"test_string", c"somestring")
            .put_binary(c"test_binary", &binary)
            .put_object(c"test_nest", |o| {
                o.put_bool(c"nested_test_bool", false)
                    .put_u8(c"nested_test_u8", 0);
                Ok(())
            })?
            .put_array(c"test_u32_array", |a| {
                for i in 0..10 {
                    a.push_u32(i);
                }
                Ok(())
            })?
            .put_array(c"test_array_of_objects", |a| {
                for i in 0..10 {
                    a.push_object(|o| {
                        o.put_bool(c"in_array_nested_test_bool", false)
                            .put_u8(c"in_array_nested_test_u8", i);
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
        Ok(())
    }
}

/// Byte `i` of a `test_binary` made with `binary_pattern`: a period of 251 (a prime, which no
/// fmsg item or netlink message size is a multiple of) shifted by one every 64 KiB, so that
/// a piece lost, repeated or out of place anywhere shows.
fn pattern(i: usize) -> u8 {
    ((i % 251 + i / 65536) % 256) as u8
}

#[vtable]
impl health::ReporterOps for Dummy {
    const NAME: &'static CStr = c"dummy";
    type Context = Break;

    fn periods(&self) -> health::Periods {
        self.periods
    }

    fn recover(
        &self,
        _devlink: &Locked<'_>,
        ctx: Option<&Break>,
        extack: &mut ExtAck<'_>,
    ) -> Result {
        if self.fail_recover.load(Relaxed) {
            extack.set_message(c"rdevsim: User setup the recover to fail for testing purposes");
            return Err(EINVAL);
        }
        if let Some(ctx) = ctx {
            let mut recovered = self.recovered.lock();
            if self.alloc_per_report.load(Relaxed) {
                recovered.replace(ctx.message())?;
            } else {
                recovered.set(ctx.message())?;
            }
        }
        Ok(())
    }

    fn dump(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        ctx: Option<&Break>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        if let Some(ctx) = ctx {
            fmsg.put_str(c"break_message", ctx.message());
        }
        self.put_values(fmsg)
    }

    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        if let Some(msg) = self.recovered.lock().get() {
            fmsg.put_str(c"recovered_break_message", msg);
        }
        self.put_values(fmsg)
    }
}

pub(crate) type DummyReporter = health::Reporter<Dummy>;

/// `break_health`: reports an error with the text written; the write fails with the report's
/// error.
pub(crate) fn break_health<R>(
    reporter: &Arc<health::Reporter<R>>,
    reader: &mut UserSliceReader,
) -> Result
where
    R: health::ReporterOps<Context = Break>,
{
    let mut ctx = Break::empty();
    ctx.read(reader)?;
    reporter.report(ctx.message(), &ctx)
}

/// A reporter whose recovery can be made to fail, with a `fail_recover` knob.
pub(crate) trait FailRecover {
    fn fail_recover(&self) -> &Atomic<bool>;
}

pub(crate) fn show_fail_recover<R: health::ReporterOps + FailRecover>(
    reporter: &Arc<health::Reporter<R>>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    let fail = reporter.fail_recover().load(Relaxed);
    writeln!(f, "{}", if fail { 'Y' } else { 'N' })
}

pub(crate) fn store_fail_recover<R: health::ReporterOps + FailRecover>(
    reporter: &Arc<health::Reporter<R>>,
    reader: &mut UserSliceReader,
) -> Result {
    reporter
        .fail_recover()
        .store(knobs::read_bool(reader)?, Relaxed);
    Ok(())
}

fn show_binary_len(
    reporter: &Arc<DummyReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    writeln!(f, "{}", reporter.binary_len.load(Relaxed))
}

fn store_binary_len(reporter: &Arc<DummyReporter>, reader: &mut UserSliceReader) -> Result {
    let len = knobs::read_u32(reader)?;
    if len > BINARY_LEN_MAX {
        return Err(EINVAL);
    }
    reporter.binary_len.store(len, Relaxed);
    Ok(())
}

fn show_binary_pattern(
    reporter: &Arc<DummyReporter>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    let on = reporter.binary_pattern.load(Relaxed);
    writeln!(f, "{}", if on { 'Y' } else { 'N' })
}

fn store_binary_pattern(reporter: &Arc<DummyReporter>, reader: &mut UserSliceReader) -> Result {
    reporter
        .binary_pattern
        .store(knobs::read_bool(reader)?, Relaxed);
    Ok(())
}

impl FailRecover for Dummy {
    fn fail_recover(&self) -> &Atomic<bool> {
        &self.fail_recover
    }
}

/// The reporters of an instance and their knobs.
pub(crate) struct Health {
    // Files first: no knob is used after the reporters are gone.
    _break_health: Pin<KBox<File<Arc<DummyReporter>>>>,
    _binary_len: Pin<KBox<File<Arc<DummyReporter>>>>,
    _binary_pattern: Pin<KBox<File<Arc<DummyReporter>>>>,
    _fail_recover: Pin<KBox<File<Arc<DummyReporter>>>>,
    _alloc_per_report: Pin<KBox<File<Arc<DummyReporter>>>>,
    _dir: Dir,
    _dummy: Arc<DummyReporter>,
    _empty: health::Reporter<Empty>,
}

impl Health {
    pub(crate) fn new(
        devlink: &Devlink<DevData>,
        parent: &Dir,
        periods: health::Periods,
    ) -> Result<Self> {
        let empty = health::Reporter::new(devlink, Empty)?;
        let dummy = Arc::new(
            health::Reporter::new(devlink, Dummy::new(periods))?,
            GFP_KERNEL,
        )?;
        let dir = parent.subdir(c"health");
        let break_health = KBox::pin_init(
            dir.write_callback_file(c"break_health", dummy.clone(), &alloc_mode::break_dummy),
            GFP_KERNEL,
        )?;
        let binary_len = KBox::pin_init(
            dir.read_write_callback_file(
                c"binary_len",
                dummy.clone(),
                &show_binary_len,
                &store_binary_len,
            ),
            GFP_KERNEL,
        )?;
        let binary_pattern = KBox::pin_init(
            dir.read_write_callback_file(
                c"binary_pattern",
                dummy.clone(),
                &show_binary_pattern,
                &store_binary_pattern,
            ),
            GFP_KERNEL,
        )?;
        let fail_recover = KBox::pin_init(
            dir.read_write_callback_file(
                c"fail_recover",
                dummy.clone(),
                &show_fail_recover::<Dummy>,
                &store_fail_recover::<Dummy>,
            ),
            GFP_KERNEL,
        )?;
        let alloc_per_report = KBox::pin_init(
            dir.read_write_callback_file(
                c"alloc_per_report",
                dummy.clone(),
                &alloc_mode::show,
                &alloc_mode::store,
            ),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _break_health: break_health,
            _binary_len: binary_len,
            _binary_pattern: binary_pattern,
            _fail_recover: fail_recover,
            _alloc_per_report: alloc_per_report,
            _dir: dir,
            _dummy: dummy,
            _empty: empty,
        })
    }
}
