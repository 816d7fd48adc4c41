//! The score as a piano roll: time across, pitch up, a colour per part,
//! bar lines in grey with bar numbers above, every C named on the pitch axis
//! (C4 is middle C), and a legend of the parts' colours below. The labels use
//! a built-in pixel font ([`super::glyphs`]), so no system fonts are needed.

use bach_engine::chord::labels_to_write;
use bach_engine::score::Score;
use plotters::prelude::*;

use super::end_step;
use super::glyphs::{draw_text, text_width, GLYPH_H, GLYPH_W};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 520;

/// Room for the note names (left), bar numbers (top) and the legend (bottom).
const LEFT: i32 = 50;
const RIGHT: i32 = 10;
const TOP: i32 = 26;
const BOTTOM: i32 = 36;
/// Labels are drawn at twice the font's size.
const SCALE: u32 = 2;
const INK: (u8, u8, u8) = (40, 40, 40);

/// Part colours: soprano, alto, tenor, bass, then more.
const COLOURS: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The colour of part `i`.
pub fn colour(i: usize) -> (u8, u8, u8) {
    let c = COLOURS[i % COLOURS.len()];
    (c.0, c.1, c.2)
}

/// The name of a MIDI pitch: 60 is C4 (middle C), 61 C#4.
pub fn note_name(pitch: u8) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ];
    format!("{}{}", NAMES[pitch as usize % 12], pitch as i32 / 12 - 1)
}

/// The piano roll as PNG bytes, `WIDTH` × `HEIGHT` pixels, with the parts'
/// names in the legend.
pub fn render(score: &Score) -> Result<Vec<u8>, String> {
    let labels: Vec<String> = score.parts.iter().map(|p| p.name.clone()).collect();
    render_labelled(score, &labels)
}

/// [`render`] with the legend's label for each part given (a missing one is
/// the part's name).
pub fn render_labelled(score: &Score, labels: &[String]) -> Result<Vec<u8>, String> {
    render_with_chords(score, labels, &[])
}

/// A chord change to write above the roll: its step, symbol and numeral,
/// and whether it falls on a beat.
pub type ChordLabel<'a> = (u32, &'a str, &'a str, bool);

/// [`render_labelled`] with each chord change's symbol written above the
/// roll at its step and its numeral under the symbol. Where labels would
/// overlap, those on a beat are written first and a change off the beat
/// only where room is left (the `--chords` file has them all): the chords
/// a musician reads the harmony by, not its passing notes.
pub fn render_with_chords(
    score: &Score,
    labels: &[String],
    chords: &[ChordLabel],
) -> Result<Vec<u8>, String> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    let texts = draw(score, chords, &mut rgb)?;
    for (at, text) in texts {
        draw_text(&mut rgb, WIDTH, at, &text, SCALE, INK);
    }
    legend(score, labels, &mut rgb)?;
    let mut bytes = Vec::new();
    {
        let mut encoder = ::png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
        encoder.set_color(::png::ColorType::Rgb);
        encoder.set_depth(::png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(bytes)
}

/// A label's top-left corner and its text.
type Text = ((i32, i32), String);

/// Draws the roll; returns the note names, bar numbers and chords to write
/// on it.
fn draw(score: &Score, chords: &[ChordLabel], rgb: &mut [u8]) -> Result<Vec<Text>, String> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let pitches = score.parts.iter().flat_map(|p| &p.notes).map(|n| n.pitch);
    let low = pitches.clone().min().unwrap_or(60).saturating_sub(2) as i32;
    let high = pitches.max().unwrap_or(72).saturating_add(2).min(127) as i32 + 1;
    let steps = end_step(score).max(score.len).max(1) as f64;
    let (left, right) = (LEFT, WIDTH as i32 - RIGHT);
    let label_h = (GLYPH_H * SCALE) as i32;
    // With chords, two rows of labels (symbols, numerals) between the bar
    // numbers and the roll.
    let chord_row = label_h + 4;
    let top = if chords.is_empty() {
        TOP
    } else {
        TOP + 2 * chord_row
    };
    let bottom = HEIGHT as i32 - BOTTOM;
    let (w, h) = ((right - left) as f64, (bottom - top) as f64);
    let x = |step: f64| left + (step / steps * w).round() as i32;
    let y = |pitch: i32| bottom - ((pitch - low) as f64 / (high - low) as f64 * h).round() as i32;
    let mut texts = Vec::new();

    // Black-key rows shaded, as on a keyboard; a line under every C.
    for p in low..high {
        if matches!(p % 12, 1 | 3 | 6 | 8 | 10) {
            root.draw(&Rectangle::new(
                [(left, y(p + 1)), (right, y(p))],
                RGBColor(242, 242, 242).filled(),
            ))
            .map_err(err)?;
        }
    }
    let mut named = false;
    for p in low..high {
        if p % 12 == 0 {
            root.draw(&PathElement::new(
                vec![(left, y(p)), (right, y(p))],
                RGBColor(200, 200, 200),
            ))
            .map_err(err)?;
            let name = note_name(p as u8);
            let mid = (y(p) + y(p + 1)) / 2;
            let tx = left - 6 - text_width(&name, SCALE) as i32;
            texts.push(((tx, mid - label_h / 2), name));
            named = true;
        }
    }
    // Less than an octave shown: name the lowest row instead.
    if !named {
        let name = note_name(low as u8);
        let mid = (y(low) + y(low + 1)) / 2;
        texts.push((
            (
                left - 6 - text_width(&name, SCALE) as i32,
                mid - label_h / 2,
            ),
            name,
        ));
    }

    // Bar lines, numbered so the numbers stay apart (every bar, or every
    // 2nd, 5th, 10th ...).
    let lines = bar_lines(score, steps as u32);
    let first = first_bar_number(&lines);
    let bar_px = w / lines.len().max(1) as f64;
    let every = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
        .into_iter()
        .find(|k| bar_px * *k as f64 >= 40.0)
        .unwrap_or(10_000);
    for (i, step) in lines.iter().enumerate() {
        let bx = x(*step as f64);
        root.draw(&PathElement::new(
            vec![(bx, top), (bx, bottom)],
            RGBColor(190, 190, 190),
        ))
        .map_err(err)?;
        // A pickup (bar 0) goes unnumbered, as in printed music.
        let bar = first + i;
        if bar == 1 || (bar > 0 && bar.is_multiple_of(every)) {
            texts.push(((bx + 3, (TOP - label_h) / 2), bar.to_string()));
        }
    }
    // Each label's span, with a glyph's width of space after it.
    let spans: Vec<(f32, f32)> = chords
        .iter()
        .map(|&(step, symbol, numeral, _)| {
            let cx = x(step as f64) + 3;
            let wide = text_width(symbol, SCALE).max(text_width(numeral, SCALE)) as i32;
            (cx as f32, (cx + wide + (GLYPH_W * SCALE) as i32) as f32)
        })
        .collect();
    let on_beat: Vec<bool> = chords.iter().map(|c| c.3).collect();
    let keep = labels_to_write(&spans, &on_beat);
    let mut shown = None;
    for (i, &(_, symbol, numeral, _)) in chords.iter().enumerate() {
        // Left out, or the chord shown before again once the one between
        // was left out.
        if !keep[i] || shown == Some((symbol, numeral)) {
            continue;
        }
        shown = Some((symbol, numeral));
        let cx = spans[i].0 as i32;
        texts.push(((cx, TOP), symbol.to_string()));
        texts.push(((cx, TOP + chord_row), numeral.to_string()));
    }
    for (i, part) in score.parts.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        for n in &part.notes {
            let (x0, x1) = (
                x(n.start as f64),
                x(n.end() as f64).max(x(n.start as f64) + 1),
            );
            let (y0, y1) = (y(n.pitch as i32 + 1), y(n.pitch as i32));
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.filled()))
                .map_err(err)?;
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.mix(0.5)))
                .map_err(err)?;
        }
    }
    root.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        BLACK.mix(0.6),
    ))
    .map_err(err)?;
    root.present().map_err(err)?;
    Ok(texts)
}

/// A colour swatch and a label per part, in a row under the roll; parts
/// that do not fit are left out.
fn legend(score: &Score, labels: &[String], rgb: &mut [u8]) -> Result<(), String> {
    let label_h = (GLYPH_H * SCALE) as i32;
    let y = HEIGHT as i32 - BOTTOM + (BOTTOM - label_h) / 2 + 2;
    let mut swatches = Vec::new();
    let mut texts = Vec::new();
    let mut x = LEFT;
    for (i, part) in score.parts.iter().enumerate() {
        let label = labels.get(i).unwrap_or(&part.name);
        let width = label_h + 8 + text_width(label, SCALE) as i32;
        if x + width > WIDTH as i32 - RIGHT {
            break;
        }
        swatches.push(((x, y), COLOURS[i % COLOURS.len()]));
        texts.push(((x + label_h + 8, y), label.clone()));
        x += width + 28;
    }
    {
        let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
        for ((sx, sy), c) in swatches {
            let corners = [(sx, sy), (sx + label_h, sy + label_h)];
            root.draw(&Rectangle::new(corners, c.filled()))
                .map_err(err)?;
            root.draw(&Rectangle::new(corners, BLACK.mix(0.5)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    for (at, text) in texts {
        draw_text(rgb, WIDTH, at, &text, SCALE, INK);
    }
    Ok(())
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The number of the first bar of `lines` ([`bar_lines`]): 0 for a pickup
/// (a first bar shorter than the next), as in printed music, else 1.
pub fn first_bar_number(lines: &[u32]) -> usize {
    match lines {
        [a, b, c, ..] if b - a < c - b => 0,
        _ => 1,
    }
}

/// Steps where bars start, from the meter map (4/4 when there is none).
pub fn bar_lines(score: &Score, end: u32) -> Vec<u32> {
    let mut lines = Vec::new();
    let mut step = 0f64;
    while step < end as f64 && lines.len() < 10_000 {
        let s = step.round() as u32;
        let meter = score.meter_at(s);
        // A meter change is a bar line of its own.
        if let Some(m) = score
            .meters
            .iter()
            .find(|m| m.step > s && (m.step as f64) < step + score.bar_steps(&meter))
        {
            lines.push(s);
            step = m.step as f64;
            continue;
        }
        lines.push(s);
        step += score.bar_steps(&meter).max(1.0);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_put_middle_c_in_octave_four() {
        assert_eq!(note_name(60), "C4");
        assert_eq!(note_name(61), "C#4");
        assert_eq!(note_name(59), "B3");
        assert_eq!(note_name(0), "C-1");
        assert_eq!(note_name(127), "G9");
    }
}
