//! A fixed-capacity text buffer for chord names, so naming a chord never
//! allocates.

use core::fmt;

/// Up to [`Text::CAPACITY`] bytes of UTF-8. Writing what does not fit
/// fails and leaves the text as it was before that write.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text {
    bytes: [u8; Text::CAPACITY],
    len: u8,
}

impl Text {
    /// Room for the longest chord symbol or numeral (`viiø4/3/VII` is 12
    /// bytes) with some to spare.
    pub const CAPACITY: usize = 32;

    /// An empty text.
    pub const fn new() -> Text {
        Text {
            bytes: [0; Text::CAPACITY],
            len: 0,
        }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this is valid UTF-8.
        core::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::new()
    }
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let start = self.len as usize;
        let end = start + s.len();
        if end > Text::CAPACITY {
            return Err(fmt::Error);
        }
        self.bytes[start..end].copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
