//! The strip above the roll: what its labels show ([`Show`], the window's
//! switch) and how they are laid out so none is drawn over another.

use bach_engine::chord::labels_to_write;
use egui::{Align2, Color32, FontId, Painter, Pos2, Rect};

use super::Label;

/// The height of the labels' strip above the roll: a row for the key, one
/// for the symbol, one for the numeral.
pub const STRIP: f32 = 44.0;
/// The least room between two labels; a label closer to the one before is
/// left out rather than drawn over it.
const GAP: f32 = 6.0;
/// The key's colour (the window's accent for notices).
const KEY_COLOUR: Color32 = Color32::from_rgb(240, 180, 60);

/// What the labels above the roll show (the window's switch, saved with
/// the project as a `u8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    Symbols = 0,
    Numerals = 1,
    Both = 2,
}

impl Show {
    pub const ALL: [(Show, &'static str); 3] = [
        (Show::Symbols, "Symbols"),
        (Show::Numerals, "Numerals"),
        (Show::Both, "Both"),
    ];

    /// From the saved value; anything unknown shows both.
    pub fn from_u8(v: u8) -> Show {
        match v {
            0 => Show::Symbols,
            1 => Show::Numerals,
            _ => Show::Both,
        }
    }

    pub fn symbols(self) -> bool {
        self != Show::Numerals
    }

    pub fn numerals(self) -> bool {
        self != Show::Symbols
    }
}

/// Draws `labels` (oldest first) in `strip`, each at `x(label.sample)`:
/// the key where it changes, then the symbol and the numeral as `show`
/// asks. Labels scrolled off the left are left out; where labels would
/// overlap, those on a beat (a quarter note, on the host's 16th grid) are
/// written first and one off the beat only where room is left, so the
/// chords a musician reads the harmony by are never hidden by passing ones.
/// A key is drawn even when its label is left out.
pub fn draw<'a>(
    painter: &Painter,
    strip: Rect,
    x: impl Fn(i64) -> f32,
    labels: impl Iterator<Item = &'a Label>,
    show: Show,
) {
    let symbol_font = FontId::proportional(14.0);
    let numeral_font = FontId::proportional(12.0);
    let key_font = FontId::proportional(11.0);
    let symbol_colour = Color32::from_gray(230);
    let numeral_colour = Color32::from_gray(160);
    // The labels on screen, laid out first (the GUI thread's, not the
    // audio thread's, allocations) to know their widths.
    let mut shown = Vec::new();
    let mut key_end = f32::NEG_INFINITY;
    for label in labels {
        let left = x(label.sample);
        if left < strip.left() || left > strip.right() {
            continue;
        }
        if let Some(key) = label.key {
            if left >= key_end + GAP {
                let r = painter.text(
                    Pos2::new(left, strip.top()),
                    Align2::LEFT_TOP,
                    key.name(),
                    key_font.clone(),
                    KEY_COLOUR,
                );
                key_end = r.right();
            }
        }
        let symbol = show.symbols().then(|| {
            painter.layout_no_wrap(
                label.symbol.as_str().to_owned(),
                symbol_font.clone(),
                symbol_colour,
            )
        });
        let numeral = show.numerals().then(|| {
            painter.layout_no_wrap(
                label.numeral.as_str().to_owned(),
                numeral_font.clone(),
                numeral_colour,
            )
        });
        let wide = [&symbol, &numeral]
            .into_iter()
            .flatten()
            .map(|g| g.size().x)
            .fold(0.0, f32::max);
        shown.push((
            left,
            left + wide + GAP,
            label.step % 4 == 0,
            symbol,
            numeral,
        ));
    }
    let spans: Vec<(f32, f32)> = shown.iter().map(|s| (s.0, s.1)).collect();
    let on_beat: Vec<bool> = shown.iter().map(|s| s.2).collect();
    let keep = labels_to_write(&spans, &on_beat);
    for ((left, _, _, symbol, numeral), kept) in shown.into_iter().zip(keep) {
        if !kept {
            continue;
        }
        if let Some(g) = symbol {
            painter.galley(Pos2::new(left, strip.top() + 13.0), g, symbol_colour);
        }
        if let Some(g) = numeral {
            // Under the symbol, or in its place when only numerals show.
            let y = if show.symbols() { 29.0 } else { 13.0 };
            painter.galley(Pos2::new(left, strip.top() + y), g, numeral_colour);
        }
    }
}
