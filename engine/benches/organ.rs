//! The preview voice's cost: one 512-frame block at 48 kHz with four notes
//! sounding (a chorale's S, A, T, B held), and with the organ full.
//!
//! Run: `cargo bench -p bach-engine --bench organ`

use std::hint::black_box;

use bach_engine::organ::{pan, Organ, POLYPHONY};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("organ");
    let (mut left, mut right) = (vec![0f32; 512], vec![0f32; 512]);
    for (name, notes) in [("four-voices-512", 4), ("all-pipes-512", POLYPHONY)] {
        let mut organ = Organ::new(48_000.0);
        for v in 0..notes {
            organ.note_on(v as u8, 48 + 5 * v as u8, 90, pan(v % 4, 4));
        }
        group.bench_function(name, |b| {
            b.iter(|| {
                organ.render(&mut left, &mut right);
                black_box((&left, &right));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
