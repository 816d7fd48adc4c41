//! The live piano roll: the last bars of melody and harmony, each voice in
//! its colour, with note names on the pitch axis, bar lines from the host's
//! position and meter, a legend, and the chord labels above it.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use egui::{Align2, Color32, FontId, Pos2, Rect, Stroke};

use super::chords::{self, Chords, Played, Show};
use crate::shared::{RollEvent, Shared};

/// Voice colours: S, A, T, B.
pub const COLOURS: [Color32; 4] = [
    Color32::from_rgb(230, 80, 80),
    Color32::from_rgb(240, 180, 60),
    Color32::from_rgb(80, 190, 120),
    Color32::from_rgb(80, 140, 230),
];
/// The melody as played in (passed through), in grey.
pub const INPUT_COLOUR: Color32 = Color32::from_rgb(200, 200, 200);
/// The legend: (name, colour), voices first.
pub const LEGEND: [(&str, Color32); 5] = [
    ("Soprano", COLOURS[0]),
    ("Alto", COLOURS[1]),
    ("Tenor", COLOURS[2]),
    ("Bass", COLOURS[3]),
    ("Melody in", INPUT_COLOUR),
];
/// Bars shown.
const BARS: f64 = 4.0;
/// Pitch range drawn: C2 to C6 with a little room.
const LOW: f32 = 34.0;
const HIGH: f32 = 86.0;
/// Room on the left for the note names.
const GUTTER: f32 = 34.0;

/// The notes drawn: start and end samples (end `None` while sounding).
#[derive(Default)]
pub struct Roll {
    notes: VecDeque<Played>,
}

/// Scientific pitch name of a C (MIDI 60 is C4).
pub fn c_name(pitch: u8) -> String {
    format!("C{}", pitch as i32 / 12 - 1)
}

impl Roll {
    /// Takes the notes the audio thread sent and forgets those scrolled out.
    pub fn drain(&mut self, shared: &Shared) {
        while let Some(e) = shared.roll.pop() {
            self.take(e);
        }
        let now = shared.now.load(Ordering::Relaxed) as i64;
        let window = window_samples(shared);
        while self
            .notes
            .front()
            .is_some_and(|n| n.end.is_some_and(|end| end < now - window))
        {
            self.notes.pop_front();
        }
        while self.notes.len() > 4096 {
            self.notes.pop_front();
        }
    }

    fn take(&mut self, e: RollEvent) {
        if e.on {
            self.notes.push_back(Played {
                start: e.sample,
                end: None,
                pitch: e.pitch,
                voice: e.voice,
                key: e.key,
            });
        } else if let Some(n) = self
            .notes
            .iter_mut()
            .rev()
            .find(|n| n.end.is_none() && n.pitch == e.pitch && n.voice == e.voice)
        {
            n.end = Some(e.sample);
        }
    }

    /// Names the chords of the steps played since the last frame.
    pub fn name_chords(&self, chords: &mut Chords, shared: &Shared) {
        chords.update(|| self.notes.iter(), &clock(shared), window_samples(shared));
    }

    pub fn legend(ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for (name, colour) in LEGEND {
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
                ui.painter().rect_filled(rect, 2.0, colour);
                ui.label(name);
                ui.add_space(6.0);
            }
        });
    }

    /// The chord labels, then the roll under them.
    pub fn show(
        &self,
        ui: &mut egui::Ui,
        shared: &Shared,
        chords: &Chords,
        labels: Show,
    ) -> egui::Response {
        let size = egui::vec2(
            ui.available_width(),
            ui.available_height().max(140.0 + chords::STRIP),
        );
        let (whole, response) = ui.allocate_exact_size(size, egui::Sense::hover());
        let painter = ui.painter_at(whole);
        let strip = Rect::from_min_max(
            Pos2::new(whole.left() + GUTTER, whole.top()),
            Pos2::new(whole.right(), whole.top() + chords::STRIP),
        );
        let outer = Rect::from_min_max(Pos2::new(whole.left(), strip.bottom()), whole.max);
        let rect = Rect::from_min_max(Pos2::new(outer.left() + GUTTER, outer.top()), outer.max);
        painter.rect_filled(rect, 2.0, Color32::from_gray(24));

        let now = shared.now.load(Ordering::Relaxed) as i64;
        let window = window_samples(shared).max(1);
        let x = |s: i64| rect.left() + rect.width() * (1.0 - (now - s) as f32 / window as f32);
        let y = |p: f32| rect.bottom() - rect.height() * ((p - LOW) / (HIGH - LOW));
        let text = ui.visuals().text_color();
        let font = FontId::proportional(11.0);

        // Pitch axis: a line and a name at every C.
        for c in (36u8..=84).step_by(12) {
            let yy = y(c as f32);
            painter.hline(rect.x_range(), yy, Stroke::new(1.0, Color32::from_gray(48)));
            painter.text(
                Pos2::new(outer.left() + 2.0, yy),
                Align2::LEFT_CENTER,
                c_name(c),
                font.clone(),
                text,
            );
        }

        // Bar lines from the host's position and meter, when it gives them.
        let beats = shared.beats.load(Ordering::Relaxed);
        let per_bar = shared.beats_per_bar.load(Ordering::Relaxed);
        let sr = shared.sample_rate.load(Ordering::Relaxed);
        let tempo = shared.tempo.load(Ordering::Relaxed).clamp(20.0, 400.0);
        if beats.is_finite() && per_bar > 0.0 {
            let samples_per_beat = 60.0 / tempo * sr;
            let first_bar = ((beats - window as f64 / samples_per_beat) / per_bar).ceil() as i64;
            let last_bar = (beats / per_bar).floor() as i64;
            for bar in first_bar.max(0)..=last_bar {
                let at = now - ((beats - bar as f64 * per_bar) * samples_per_beat) as i64;
                let xx = x(at);
                painter.vline(xx, rect.y_range(), Stroke::new(1.0, Color32::from_gray(70)));
                painter.text(
                    Pos2::new(xx + 3.0, rect.top() + 2.0),
                    Align2::LEFT_TOP,
                    format!("{}", bar + 1),
                    font.clone(),
                    Color32::from_gray(150),
                );
            }
        }

        for n in &self.notes {
            let colour = COLOURS
                .get(n.voice as usize)
                .copied()
                .unwrap_or(INPUT_COLOUR);
            let (x0, x1) = (x(n.start).max(rect.left()), x(n.end.unwrap_or(now)));
            if x1 < rect.left() {
                continue;
            }
            let yy = y(n.pitch as f32);
            let r = Rect::from_min_max(
                Pos2::new(x0, yy - 2.0),
                Pos2::new(x1.max(x0 + 2.0), yy + 2.0),
            );
            painter.rect_filled(r, 1.0, colour);
        }
        painter.rect_stroke(
            rect,
            2.0,
            Stroke::new(1.0, Color32::from_gray(80)),
            egui::StrokeKind::Inside,
        );
        chords::draw(&painter, strip, x, chords.labels(), labels);
        response
    }
}

/// Where the host's beats fall on the plugin's samples, as last published.
fn clock(shared: &Shared) -> chords::Clock {
    let sr = shared.sample_rate.load(Ordering::Relaxed);
    let tempo = shared.tempo.load(Ordering::Relaxed).clamp(20.0, 400.0);
    chords::Clock {
        now: shared.now.load(Ordering::Relaxed) as i64,
        beats: shared.beats.load(Ordering::Relaxed),
        samples_per_beat: 60.0 / tempo * sr,
        meter: shared.meter(),
    }
}

fn window_samples(shared: &Shared) -> i64 {
    let sr = shared.sample_rate.load(Ordering::Relaxed);
    let tempo = shared.tempo.load(Ordering::Relaxed).clamp(20.0, 400.0);
    let per_bar = shared.beats_per_bar.load(Ordering::Relaxed);
    let per_bar = if per_bar > 0.0 { per_bar } else { 4.0 };
    (BARS * per_bar * 60.0 / tempo * sr) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_names_follow_scientific_pitch() {
        assert_eq!(c_name(60), "C4");
        assert_eq!(c_name(36), "C2");
        assert_eq!(c_name(84), "C6");
    }
}
