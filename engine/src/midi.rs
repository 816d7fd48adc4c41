//! MIDI files (being written).
