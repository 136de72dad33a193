// SPDX-License-Identifier: GPL-2.0

//! Parsing of what users write to knobs (debugfs and configfs): small, whole values only.

use kernel::{
    prelude::*,
    str::{parse_int::ParseInt, BStr},
    uaccess::UserSliceReader,
};

/// The longest value a knob takes, whitespace included.
const MAX_LEN: usize = 32;

/// The text of a value, without the surrounding whitespace; `EINVAL` if it is empty, too long
/// or not ASCII.
pub(crate) fn value(text: &[u8]) -> Result<&str> {
    if text.len() > MAX_LEN {
        return Err(EINVAL);
    }
    let text = core::str::from_utf8(text).map_err(|_| EINVAL)?.trim();
    if text.is_empty() || !text.is_ascii() {
        return Err(EINVAL);
    }
    Ok(text)
}

/// Reads the value written to a debugfs file.
fn read<'a>(reader: &mut UserSliceReader, buf: &'a mut [u8; MAX_LEN]) -> Result<&'a str> {
    let len = reader.len();
    if len > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..len])?;
    value(&buf[..len])
}

/// Parses a `u32` (decimal, or with a `0x`/`0o`/`0b` prefix).
pub(crate) fn parse_u32(text: &[u8]) -> Result<u32> {
    u32::from_str(BStr::from_bytes(value(text)?.as_bytes()))
}

/// Parses a boolean: `y`, `yes`, `1`, `on`, `true` or `n`, `no`, `0`, `off`, `false`, in any
/// case.
pub(crate) fn parse_bool(text: &[u8]) -> Result<bool> {
    let v = value(text)?;
    const TRUE: [&str; 5] = ["y", "yes", "1", "on", "true"];
    const FALSE: [&str; 5] = ["n", "no", "0", "off", "false"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(v)) {
        Ok(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(v)) {
        Ok(false)
    } else {
        Err(EINVAL)
    }
}

/// Reads a `u32` written to a debugfs file.
pub(crate) fn read_u32(reader: &mut UserSliceReader) -> Result<u32> {
    let mut buf = [0u8; MAX_LEN];
    parse_u32(read(reader, &mut buf)?.as_bytes())
}

/// Reads a boolean written to a debugfs file.
pub(crate) fn read_bool(reader: &mut UserSliceReader) -> Result<bool> {
    let mut buf = [0u8; MAX_LEN];
    parse_bool(read(reader, &mut buf)?.as_bytes())
}
