//! The same sessions through a debug build with nice-plug's
//! `assert_process_allocs`: any allocation in `process()` aborts the test binary.

use bach_e2e::{
    alloc_checked_library, hanging, keys, play, stop, ClapBach, Instance, Segment, Session,
    BACH_ID, INSTRUMENT_ID,
};

#[test]
fn allocation_checked_build_plays_every_session_without_aborting() {
    let path = alloc_checked_library();
    let mut notes = Vec::new();
    for (i, pitch) in [72u8, 74, 76, 77, 76, 74, 72].into_iter().enumerate() {
        let t = 24_000 + i as i64 * 20_011;
        notes.push((t, true, pitch));
        notes.push((t + 19_000, false, pitch));
    }
    let session = Session {
        segments: vec![
            Segment {
                looped: Some((0.0, 4.0)),
                ..play(0, 120.0, 0.0)
            },
            play(120_000, 90.0, 33.0),
            stop(160_000, 90.0),
        ],
        notes: keys(notes),
        length: 200_000,
    };
    // Both plugins: the instrument with its preview organ playing.
    for (id, size) in [BACH_ID, INSTRUMENT_ID]
        .into_iter()
        .flat_map(|id| [1, 37, 512, 4096].map(|size| (id, size)))
    {
        let mut plugin = ClapBach::load_plugin(&path, id, 4096);
        let seed = plugin.param("Seed");
        let out = plugin.run(&session, size, &[(seed, 3.0)]);
        assert!(
            out.iter().any(|n| n.on && n.channel == 1),
            "{id}, size {size}: harmony"
        );
        assert!(hanging(&out).is_empty());
        if id == INSTRUMENT_ID {
            let loudest = plugin.audio[0].iter().fold(0f32, |m, s| m.max(s.abs()));
            assert!(loudest > 0.01, "size {size}: the preview sounds");
        }
    }
}
