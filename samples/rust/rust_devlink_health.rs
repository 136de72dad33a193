// SPDX-License-Identifier: GPL-2.0

//! Rust devlink health sample.
//!
//! Registers a devlink instance for a faux device, `faux/rust-devlink-sample`, with two health
//! reporters. Writing a message to `/sys/kernel/debug/rust_devlink_health/report` reports an error
//! with that message to `sample`, which dumps the event and recovers:
//!
//! ```sh
//! echo "firmware hang" > /sys/kernel/debug/rust_devlink_health/report
//! devlink health show faux/rust-devlink-sample reporter sample
//! devlink health dump show faux/rust-devlink-sample reporter sample
//! ```
//!
//! `pcie` has no operations at all: devlink counts what is reported to it (written to
//! `/sys/kernel/debug/rust_devlink_health/pcie_error`), and every request for an operation gets
//! `EOPNOTSUPP`.

use kernel::{
    debugfs::{Dir, File},
    device, devlink,
    devlink::{fmsg::Object, health, Locked},
    faux,
    net::netlink::ExtAck,
    prelude::*,
    str::{BStr, CString},
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
    uaccess::UserSliceReader,
};

module! {
    type: SampleModule,
    name: "rust_devlink_health",
    authors: ["Rust for Linux Contributors"],
    description: "Rust devlink health sample",
    license: "GPL",
}

/// The longest message accepted from debugfs, without the trailing newline.
const MAX_MESSAGE: usize = 64;

/// The devlink instance's data.
struct Sample;

#[vtable]
impl devlink::Operations for Sample {
    fn info_get(
        _devlink: &devlink::Guard<'_, Self>,
        req: &mut devlink::InfoRequest<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        req.put_serial_number(c"RDL-SAMPLE-0001")?;
        req.put_version_running(c"fw", c"1.0.0")
    }
}

/// What the sample knows about an error it reports.
struct Event {
    seq: u32,
    message: CString,
}

/// The `sample` reporter's data.
struct Fw {
    events: Atomic<u32>,
    recoveries: Atomic<u32>,
}

#[vtable]
impl health::ReporterOps for Fw {
    const NAME: &'static CStr = c"sample";
    type Context = Event;

    fn recover(
        &self,
        _devlink: &Locked<'_>,
        _ctx: Option<&Event>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        // A real driver would reset the part of the device that failed.
        self.recoveries.fetch_add(1, Relaxed);
        Ok(())
    }

    fn dump(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        ctx: Option<&Event>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        match ctx {
            Some(event) => {
                fmsg.put_object(c"event", |o| {
                    o.put_u32(c"seq", event.seq)
                        .put_str(c"message", &event.message);
                    Ok(())
                })?;
            }
            // From user space, with no dump stored: the current state.
            None => {
                fmsg.put_u32(c"events", self.events.load(Relaxed));
            }
        }
        Ok(())
    }

    fn diagnose(
        &self,
        _devlink: &Locked<'_>,
        fmsg: &mut Object<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        fmsg.put_u32(c"events", self.events.load(Relaxed))
            .put_u32(c"recoveries", self.recoveries.load(Relaxed));
        Ok(())
    }
}

/// The `pcie` reporter: errors that the device corrects by itself, which devlink only counts.
struct Pcie;

#[vtable]
impl health::ReporterOps for Pcie {
    const NAME: &'static CStr = c"pcie";
    type Context = ();
}

/// The message written to a debugfs file: 1 to [`MAX_MESSAGE`] bytes, no NUL, one trailing
/// newline allowed.
fn read_message(reader: &mut UserSliceReader) -> Result<CString> {
    // Room for the message and a trailing newline.
    let mut buf = [0u8; MAX_MESSAGE + 1];
    let len = reader.len();
    if len > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..len])?;
    let text = buf[..len].strip_suffix(b"\n").unwrap_or(&buf[..len]);
    if text.is_empty() || text.len() > MAX_MESSAGE || text.contains(&0) {
        return Err(EINVAL);
    }
    CString::try_from_fmt(fmt!("{}", BStr::from_bytes(text)))
}

/// Reports an error to `pcie` with the message written to debugfs.
fn report_pcie(reporter: &Arc<health::Reporter<Pcie>>, reader: &mut UserSliceReader) -> Result {
    reporter.report(&read_message(reader)?, &())
}

/// Reports an error to `sample` with the message written to debugfs.
fn report(reporter: &Arc<health::Reporter<Fw>>, reader: &mut UserSliceReader) -> Result {
    let message = read_message(reader)?;
    let seq = reporter.events.fetch_add(1, Relaxed) + 1;
    let event = Event { seq, message };
    match reporter.report(&event.message, &event) {
        // Counted, but not recovered: that is the reporter's state, not a failed write.
        Err(e) if e == ECANCELED => Ok(()),
        r => r,
    }
}

struct SampleModule {
    // Dropped first: user space sees the instance whole until it is gone.
    _devlink: devlink::Registration<Sample>,
    // Then the files: no report after the reporters are gone.
    _report: Pin<KBox<File<Arc<health::Reporter<Fw>>>>>,
    _pcie_error: Pin<KBox<File<Arc<health::Reporter<Pcie>>>>>,
    _dir: Dir,
    _faux: faux::Registration,
}

impl kernel::Module for SampleModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let faux = faux::Registration::new(c"rust-devlink-sample", None)?;
        let dev: &device::Device<device::Bound> = faux.as_ref().as_ref();
        let devlink = devlink::Unregistered::new(dev, Sample)?;
        let fw = Fw {
            events: Atomic::new(0),
            recoveries: Atomic::new(0),
        };
        let reporter = Arc::new(health::Reporter::new(&devlink, fw)?, GFP_KERNEL)?;
        let pcie = Arc::new(health::Reporter::new(&devlink, Pcie)?, GFP_KERNEL)?;
        let dir = Dir::new(c"rust_devlink_health");
        let report = KBox::pin_init(
            dir.write_callback_file(c"report", reporter, &report),
            GFP_KERNEL,
        )?;
        let pcie_error = KBox::pin_init(
            dir.write_callback_file(c"pcie_error", pcie, &report_pcie),
            GFP_KERNEL,
        )?;
        // Last: user space sees the instance with its reporters.
        let devlink = devlink::Registration::new(dev, devlink)?;
        Ok(Self {
            _devlink: devlink,
            _report: report,
            _pcie_error: pcie_error,
            _dir: dir,
            _faux: faux,
        })
    }
}
