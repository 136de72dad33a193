// SPDX-License-Identifier: GPL-2.0

//! The devlink instance of a device (`pci/<bus address>`): what `devlink dev info` tells.

use kernel::{devlink, net::dev::MacAddress, net::netlink::ExtAck, prelude::*, str::CString};

/// The driver's data of the devlink instance.
pub(crate) struct Instance {
    /// The MAC address in the EEPROM, as `xx:xx:xx:xx:xx:xx`: the serial number.
    serial: CString,
    /// The EEPROM image version, as `major.minor-build`.
    eeprom: CString,
}

impl Instance {
    /// The data of a device whose EEPROM holds `mac` and version word `version`.
    pub(crate) fn new(mac: &MacAddress, version: u16) -> Result<Self> {
        let [a, b, c, d, e, f] = *mac;
        let serial =
            CString::try_from_fmt(fmt!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}"))?;
        // As the Intel drivers print it (e1000e's `eeprom_vers`).
        let eeprom = CString::try_from_fmt(fmt!(
            "{}.{}-{}",
            version >> 12,
            (version >> 4) & 0xff,
            version & 0xf
        ))?;
        Ok(Self { serial, eeprom })
    }
}

#[vtable]
impl devlink::Operations for Instance {
    fn info_get(
        devlink: &devlink::Guard<'_, Self>,
        req: &mut devlink::InfoRequest<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result {
        req.put_serial_number(&devlink.serial)?;
        req.put_version_fixed(c"asic.id", c"82540EM")?;
        req.put_version_stored(c"fw.eeprom", &devlink.eeprom)
    }
}
