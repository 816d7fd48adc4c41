//! The built `.clap` through the CLAP ABI: harmony with the melody, voices in
//! range, output independent of buffer size, transport changes (those
//! tests in `common`, shared with tests/vst3.rs), state.

mod common;

use bach_e2e::{ClapBach, Instance};
use common::session;

#[test]
fn harmony_sounds_at_the_melody_sample_offsets() {
    common::harmony_sounds_at_the_melody_sample_offsets::<ClapBach>();
}

#[test]
fn three_voices_in_their_ranges() {
    common::three_voices_in_their_ranges::<ClapBach>();
}

#[test]
fn output_is_the_same_for_every_buffer_size() {
    common::output_is_the_same_for_every_buffer_size::<ClapBach>();
}

#[test]
fn loop_seek_and_stop_end_generated_notes() {
    common::loop_seek_and_stop_end_generated_notes::<ClapBach>();
}

#[test]
fn deactivation_ends_generated_notes() {
    common::deactivation_ends_generated_notes::<ClapBach>();
}

#[test]
fn parameters_and_state_survive_save_and_restore() {
    let mut plugin = ClapBach::load(512);
    let (seed, tenor, temperature) = (
        plugin.param("Seed"),
        plugin.param("Tenor"),
        plugin.param("Temperature"),
    );
    let s = session();
    // Set through automation events, then save.
    let first = plugin.run(
        &s,
        512,
        &[(seed, 1234.0), (tenor, 0.0), (temperature, 0.65)],
    );
    assert!(first.iter().all(|n| n.channel != 2 || !n.on), "tenor off");
    let state = plugin.save_state();
    let mut other = ClapBach::load(512);
    assert!((other.param_value(seed) - 1234.0).abs() > 0.5);
    other.restore(&state);
    assert!((other.param_value(seed) - 1234.0).abs() < 0.01);
    assert!(other.param_value(tenor).abs() < 1e-6);
    // Continuous parameters travel normalised over CLAP: 0.65 of 0..2 is 1.3.
    let t = other.param_value(temperature);
    assert!((t - 0.65).abs() < 1e-4, "temperature {t}");
    // Same seed, same input: the restored instance plays the same notes (a bounce matches).
    let mut again = ClapBach::load(512);
    let replay = again.run(
        &s,
        512,
        &[(seed, 1234.0), (tenor, 0.0), (temperature, 0.65)],
    );
    assert_eq!(first, replay);
    let restored = other.run(&s, 512, &[]);
    assert_eq!(first, restored);
    // The model choice is part of the state.
    let text = String::from_utf8_lossy(&state);
    assert!(text.contains("chorale-satb"), "model choice saved: {text}");
}
