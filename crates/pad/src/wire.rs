//! A tiny binary reader and writer for our versioned formats (invites,
//! envelopes, session state). Big-endian integers, length-prefixed byte
//! strings. The reader never panics: every read is bounds-checked.

/// Malformed binary input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input ends before the field `0`.
    #[error("the data ends too early (in {0})")]
    Truncated(&'static str),
    /// A length field is larger than allowed.
    #[error("{0} is too long")]
    TooLong(&'static str),
    /// Bytes are left over after the last field.
    #[error("unexpected data after the end")]
    Trailing,
    /// A field holds a value no version of the format uses.
    #[error("{0} has an invalid value")]
    Invalid(&'static str),
}

/// Appends fields to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer::default()
    }
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// A byte string with a u16 length prefix (callers bound the length).
    pub(crate) fn bytes16(&mut self, v: &[u8]) -> &mut Self {
        self.u16(u16::try_from(v.len()).unwrap_or(u16::MAX));
        self.raw(&v[..v.len().min(usize::from(u16::MAX))])
    }
    /// A byte string with a u32 length prefix.
    pub(crate) fn bytes32(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.raw(&v[..v.len().min(u32::MAX as usize)])
    }
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }
    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields from a byte slice.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated(what))?;
        let out = self
            .data
            .get(self.pos..end)
            .ok_or(WireError::Truncated(what))?;
        self.pos = end;
        Ok(out)
    }
    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    /// A u16-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes16(
        &mut self,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], WireError> {
        let len = usize::from(self.u16(what)?);
        if len > max {
            return Err(WireError::TooLong(what));
        }
        self.take(len, what)
    }
    /// A u32-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes32(
        &mut self,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], WireError> {
        let len = self.u32(what)? as usize;
        if len > max {
            return Err(WireError::TooLong(what));
        }
        self.take(len, what)
    }
    /// Whether every byte was read (an optional trailing field is absent).
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }
    pub(crate) fn finish(&self) -> Result<(), WireError> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(WireError::Trailing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_truncation_is_an_error() {
        let mut w = Writer::new();
        w.u8(1)
            .u16(2)
            .u32(3)
            .u64(4)
            .bytes16(b"abc")
            .bytes32(b"de")
            .raw(&[9; 4]);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.u16("b").unwrap(), 2);
        assert_eq!(r.u32("c").unwrap(), 3);
        assert_eq!(r.u64("d").unwrap(), 4);
        assert_eq!(r.bytes16(3, "e").unwrap(), b"abc");
        assert_eq!(r.bytes32(8, "f").unwrap(), b"de");
        assert_eq!(r.array::<4>("g").unwrap(), [9; 4]);
        r.finish().unwrap();
        for cut in 0..bytes.len() {
            let mut r = Reader::new(&bytes[..cut]);
            let all = (|| {
                r.u8("a")?;
                r.u16("b")?;
                r.u32("c")?;
                r.u64("d")?;
                r.bytes16(3, "e")?;
                r.bytes32(8, "f")?;
                r.array::<4>("g")
            })();
            assert!(all.is_err(), "cut at {cut}");
        }
        let mut r = Reader::new(&bytes[7..]);
        assert_eq!(r.u64("d").unwrap(), 4);
        assert_eq!(r.bytes16(2, "e"), Err(WireError::TooLong("e")));
    }
}
