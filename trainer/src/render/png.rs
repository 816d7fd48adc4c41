//! The score as a piano roll: time across, pitch up, a colour per part,
//! bar lines in grey. No text, so no fonts are needed.

use bach_engine::score::Score;
use plotters::prelude::*;

use super::end_step;

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 480;

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

/// The piano roll as PNG bytes, `WIDTH` × `HEIGHT` pixels.
pub fn render(score: &Score) -> Result<Vec<u8>, String> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(score, &mut rgb)?;
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

fn draw(score: &Score, rgb: &mut [u8]) -> Result<(), String> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let pitches = score.parts.iter().flat_map(|p| &p.notes).map(|n| n.pitch);
    let low = pitches.clone().min().unwrap_or(60).saturating_sub(2) as i32;
    let high = pitches.max().unwrap_or(72).saturating_add(2).min(127) as i32 + 1;
    let steps = end_step(score).max(score.len).max(1) as f64;
    let (w, h) = (WIDTH as f64, HEIGHT as f64);
    let x = |step: f64| (step / steps * w).round() as i32;
    let y = |pitch: i32| (h - (pitch - low) as f64 / (high - low) as f64 * h).round() as i32;

    // Black-key rows shaded, as on a keyboard.
    for p in low..high {
        if matches!(p % 12, 1 | 3 | 6 | 8 | 10) {
            root.draw(&Rectangle::new(
                [(0, y(p + 1)), (WIDTH as i32, y(p))],
                RGBColor(242, 242, 242).filled(),
            ))
            .map_err(err)?;
        }
    }
    for step in bar_lines(score, steps as u32) {
        let bx = x(step as f64);
        root.draw(&PathElement::new(
            vec![(bx, 0), (bx, HEIGHT as i32)],
            RGBColor(190, 190, 190),
        ))
        .map_err(err)?;
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
    root.present().map_err(err)?;
    Ok(())
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Steps where bars start, from the meter map (4/4 when there is none).
fn bar_lines(score: &Score, end: u32) -> Vec<u32> {
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
