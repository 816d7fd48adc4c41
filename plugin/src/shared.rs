//! What the audio thread, the window and the model loader share
//! ([`Shared`]). The audio thread touches only its lock-free queues and
//! atomics; the window's text sits behind a lock it never takes.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::Mutex;

use bach_engine::Key;
use crossbeam::queue::ArrayQueue;

use crate::library::{Loaded, ModelInfo};

/// A note for the window's piano roll, stamped with the plugin's running sample count.
#[derive(Clone, Copy, Debug)]
pub struct RollEvent {
    pub sample: i64,
    pub on: bool,
    pub pitch: u8,
    /// 0..4 for generated voices, 255 for the input.
    pub voice: u8,
    /// The key in use when it was sent, as an index into [`Key::ALL`] (-1
    /// for none yet), so the window names chords in the key they were
    /// played in. It fills padding (the event stays 16 bytes) and travels
    /// in the same lock-free push: nothing more for the audio thread.
    pub key: i8,
}

// The key byte costs the ring nothing: an event is still 16 bytes.
const _: () = assert!(std::mem::size_of::<RollEvent>() == 16);

/// State shared by the audio thread, the window and loader threads.
/// The audio thread only touches the lock-free queues and atomics.
pub struct Shared {
    /// Newly loaded models waiting for the audio thread.
    pub incoming: ArrayQueue<Box<Loaded>>,
    /// Models the audio thread let go of, freed elsewhere.
    pub retired: ArrayQueue<Box<Loaded>>,
    /// Notes for the piano roll.
    pub roll: ArrayQueue<RollEvent>,
    pub now: atomic_float::AtomicF64,
    pub sample_rate: atomic_float::AtomicF64,
    pub tempo: atomic_float::AtomicF64,
    /// The host's position in beats at `now` (NaN when it gives none) and
    /// its bar length in quarter notes, for the roll's bar lines.
    pub beats: atomic_float::AtomicF64,
    pub beats_per_bar: atomic_float::AtomicF64,
    /// The key in use as an index into [`Key::ALL`] (-1 for none yet), and
    /// whether it was estimated from the melody; written after each block.
    pub key: AtomicI32,
    pub key_estimated: AtomicBool,
    /// The latency the lookahead adds, in samples, as told to the host.
    pub latency: AtomicU32,
    /// The host's meter as `numerator << 8 | denominator` (0 for none yet).
    pub meter: AtomicU32,
    /// Every note sent, for "Save as MIDI" (a ring the audio thread writes).
    pub capture: crate::export::Capture,
    /// The window's text (main/GUI threads only).
    pub status: Mutex<Status>,
}

#[derive(Clone, Debug, Default)]
pub struct Status {
    pub info: Option<ModelInfo>,
    pub loading: bool,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// What the last "Save as MIDI" did: Ok(what was saved) or Err(why not).
    pub export: Option<Result<String, String>>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            incoming: ArrayQueue::new(2),
            retired: ArrayQueue::new(4),
            roll: ArrayQueue::new(4096),
            now: 0.0.into(),
            sample_rate: 48_000.0.into(),
            tempo: 120.0.into(),
            beats: f64::NAN.into(),
            beats_per_bar: 4.0.into(),
            key: AtomicI32::new(-1),
            key_estimated: AtomicBool::new(false),
            latency: AtomicU32::new(0),
            meter: AtomicU32::new(0),
            capture: Default::default(),
            status: Mutex::new(Status::default()),
        }
    }
}

impl Shared {
    /// The audio thread's news for the window: plain atomic stores.
    pub fn publish(&self, key: Option<Key>, estimated: bool, latency: u32) {
        let index = key.map_or(-1, |k| k.index() as i32);
        self.key.store(index, Ordering::Relaxed);
        self.key_estimated.store(estimated, Ordering::Relaxed);
        self.latency.store(latency, Ordering::Relaxed);
    }

    /// The host's meter, as last published (4/4 before any).
    pub fn meter(&self) -> bach_engine::Meter {
        let packed = self.meter.load(Ordering::Relaxed);
        bach_engine::Meter::checked((packed >> 8) as i64, (packed & 0xff) as i64)
            .unwrap_or(bach_engine::Meter::COMMON)
    }

    /// The key in use and whether it was estimated, as last published.
    pub fn key_in_use(&self) -> (Option<Key>, bool) {
        let index = self.key.load(Ordering::Relaxed);
        let key = usize::try_from(index).ok().and_then(Key::from_index);
        (key, self.key_estimated.load(Ordering::Relaxed))
    }

    /// Frees models the audio thread has retired (never called from it).
    pub fn free_retired(&self) {
        while self.retired.pop().is_some() {}
    }

    pub fn set_status(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}
