//! The window's one font, embedded so that text draws on every host and
//! system: egui is built without its default fonts, and without a font it
//! draws every character as an empty box.
//!
//! DejaVu Sans (Bitstream Vera licence, `plugin/assets/fonts/LICENSE-DejaVu.txt`)
//! covers Latin text and the music signs the window uses (♯, ♭, ♮, —, ×).

use egui::{FontData, FontDefinitions, FontFamily};

const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const NAME: &str = "DejaVuSans";

/// Font definitions for the window: DejaVu Sans for every family, so no
/// text style can fall through to a family without glyphs.
pub fn definitions() -> FontDefinitions {
    let mut fonts = FontDefinitions::empty();
    fonts
        .font_data
        .insert(NAME.into(), FontData::from_static(DEJAVU_SANS).into());
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts.families.insert(family, vec![NAME.into()]);
    }
    fonts
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::epaint::text::{Fonts, TextOptions};
    use egui::FontId;

    #[test]
    fn the_font_has_the_music_signs_and_punctuation_the_window_uses() {
        let mut fonts = Fonts::new(TextOptions::default(), definitions());
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            let id = FontId::new(14.0, family);
            for c in "♯♭♮—×…·–ABCDEFGabcdefg0123456789".chars() {
                assert!(fonts.has_glyph(&id, c), "no glyph for {c:?}");
            }
        }
    }

    #[test]
    fn a_character_outside_the_font_is_reported_missing() {
        // The coverage check must be able to fail: DejaVu Sans has no CJK.
        let mut fonts = Fonts::new(TextOptions::default(), definitions());
        assert!(!fonts.has_glyphs(&FontId::proportional(14.0), "バッハ"));
    }
}
