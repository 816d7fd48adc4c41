//! The built `.vst3` through the VST3 ABI (a minimal host on the raw `vst3`
//! bindings): harmony with the melody, voices in range, output independent of
//! buffer size, transport changes (those tests in `common`, shared with
//! tests/clap.rs), parameters and state; and the same notes as the CLAP build.

mod common;

use bach_e2e::vst3_host::Vst3Bach;
use bach_e2e::{ClapBach, Instance};
use common::{session, transport_session};

#[test]
fn harmony_sounds_at_the_melody_sample_offsets() {
    common::harmony_sounds_at_the_melody_sample_offsets::<Vst3Bach>();
}

#[test]
fn three_voices_in_their_ranges() {
    common::three_voices_in_their_ranges::<Vst3Bach>();
}

#[test]
fn output_is_the_same_for_every_buffer_size() {
    common::output_is_the_same_for_every_buffer_size::<Vst3Bach>();
}

#[test]
fn loop_seek_and_stop_end_generated_notes() {
    common::loop_seek_and_stop_end_generated_notes::<Vst3Bach>();
}

#[test]
fn deactivation_ends_generated_notes() {
    common::deactivation_ends_generated_notes::<Vst3Bach>();
}

#[test]
fn vst3_and_clap_builds_play_the_same_notes() {
    let full = transport_session();
    let mut vst3 = Vst3Bach::load(4096);
    let seed = vst3.param("Seed");
    let a = vst3.run(&full, 512, &[(seed, 11.0)]);
    let mut clap = ClapBach::load(4096);
    let seed = clap.param("Seed");
    let b = clap.run(&full, 512, &[(seed, 11.0)]);
    // 100 note events with the shipped model, 28 of them the melody.
    assert!(a.len() > 80, "{} notes", a.len());
    // CLAP sends the song position in 31-bit fixed point, VST3 as f64: a grid
    // step may land one sample apart. Everything else must match.
    assert_eq!(a.len(), b.len(), "same number of notes");
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x.on, x.channel, x.pitch) == (y.on, y.channel, y.pitch)
                && (x.sample - y.sample).abs() <= 1,
            "VST3 {x:?} vs CLAP {y:?}"
        );
    }
}

#[test]
fn parameters_and_state_survive_get_and_set_state() {
    let mut plugin = Vst3Bach::load(512);
    let (seed, tenor, temperature) = (
        plugin.param("Seed"),
        plugin.param("Tenor"),
        plugin.param("Temperature"),
    );
    let s = session();
    let first = plugin.run(&s, 512, &[(seed, 1234.0), (tenor, 0.0), (temperature, 1.3)]);
    assert!(first.iter().all(|n| n.channel != 2 || !n.on), "tenor off");
    assert!((plugin.param_value(seed) - 1234.0).abs() < 0.01);
    let state = plugin.get_state();
    let mut other = Vst3Bach::load(512);
    assert!((other.param_value(seed) - 1234.0).abs() > 0.5);
    other.restore(&state);
    assert!((other.param_value(seed) - 1234.0).abs() < 0.01);
    assert!(other.param_value(tenor).abs() < 1e-6);
    let t = other.param_value(temperature);
    assert!((t - 1.3).abs() < 1e-4, "temperature {t}");
    // The restored instance plays what the saved one played.
    let restored = other.run(&s, 512, &[]);
    assert_eq!(first, restored);
    let text = String::from_utf8_lossy(&state);
    assert!(text.contains("chorale-satb"), "model choice saved: {text}");
    // A broken state is refused with an error code, never a crash, and the
    // instance keeps its parameters.
    let mut third = Vst3Bach::load(512);
    third.deactivate();
    assert!(!third.try_set_state(b"{ not json"));
    assert!((third.param_value(seed) - 1.0).abs() < 0.01);
}
