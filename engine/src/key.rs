//! Placeholder until the key estimator lands (branch `keyest`).

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Major,
    Minor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub tonic: u8,
    pub mode: Mode,
}

impl Key {
    pub fn shift(self) -> i32 {
        let t = (self.tonic % 12) as i32;
        if t <= 6 {
            -t
        } else {
            12 - t
        }
    }
}
