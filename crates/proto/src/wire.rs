//! Protobuf wire format reading: bounds-checked, never panics.

use std::fmt;

/// A low-level wire format error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    /// The input ended inside a value.
    Truncated,
    /// A varint longer than 10 bytes.
    VarintTooLong,
    /// A field number of 0 or above 2^29-1.
    BadFieldNumber,
    /// Wire types 3/4 (groups) or 6/7.
    BadWireType(u8),
    /// A length beyond the remaining input.
    BadLength,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated => f.write_str("truncated input"),
            WireError::VarintTooLong => f.write_str("varint longer than 10 bytes"),
            WireError::BadFieldNumber => f.write_str("invalid field number"),
            WireError::BadWireType(t) => write!(f, "unsupported wire type {t}"),
            WireError::BadLength => f.write_str("length exceeds the remaining input"),
        }
    }
}

/// One field's raw value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

impl WireValue<'_> {
    /// The wire type name, for errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            WireValue::Varint(_) => "varint",
            WireValue::Fixed64(_) => "fixed64",
            WireValue::Len(_) => "length-delimited",
            WireValue::Fixed32(_) => "fixed32",
        }
    }
}

/// A cursor over protobuf bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Whether all input was consumed.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A base-128 varint.
    pub fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.buf = self.buf.get(i + 1..).unwrap_or_default();
                return Ok(value);
            }
        }
        if self.buf.len() >= 10 {
            Err(WireError::VarintTooLong)
        } else {
            Err(WireError::Truncated)
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.buf.len() {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// A little-endian fixed32.
    pub fn fixed32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        <[u8; 4]>::try_from(b).map(u32::from_le_bytes).map_err(|_| WireError::Truncated)
    }

    /// A little-endian fixed64.
    pub fn fixed64(&mut self) -> Result<u64, WireError> {
        let b = self.take(8)?;
        <[u8; 8]>::try_from(b).map(u64::from_le_bytes).map_err(|_| WireError::Truncated)
    }

    /// The next field (number and value), or `None` at the end.
    pub fn field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, WireError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(WireError::BadFieldNumber);
        }
        let number = u32::try_from(number).map_err(|_| WireError::BadFieldNumber)?;
        let value = match (key & 7) as u8 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(self.fixed64()?),
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| WireError::BadLength)?;
                if len > self.buf.len() {
                    return Err(WireError::BadLength);
                }
                WireValue::Len(self.take(len)?)
            }
            5 => WireValue::Fixed32(self.fixed32()?),
            t => return Err(WireError::BadWireType(t)),
        };
        Ok(Some((number, value)))
    }
}

/// All fields of a message in order, for small special messages.
pub(crate) fn fields(buf: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, WireError> {
    let mut reader = Reader::new(buf);
    let mut out = Vec::new();
    while let Some(f) = reader.field()? {
        out.push(f);
    }
    Ok(out)
}
