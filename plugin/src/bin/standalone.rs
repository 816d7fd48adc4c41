//! Bach Instrument as a standalone program (nice-plug's standalone wrapper):
//! the same plugin and window without a host, its preview organ on the
//! sound card. `--backend dummy` runs it with no audio or MIDI device,
//! which is how the window's screenshot test opens it.

fn main() {
    nice_plug::nice_export_standalone::<bach_plugin::BachInstrument>();
}
