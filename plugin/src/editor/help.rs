//! What each control does, in musical words: the window's tooltips.

pub const MODE: &str = "Harmonize: Bach plays your melody with alto, tenor and bass under it, \
                        on the host's 16th-note grid.\nContinue: Bach listens while you play \
                        and, when you stop, plays on in the same style.";
pub const TEMPERATURE: &str = "How adventurous the harmony is. 0 always takes the likeliest \
                               note; 0.3 is close to Bach; above 1 the voices wander. The \
                               rhythm follows the model at any setting.";
pub const STRICT: &str = "On: no parallel fifths or octaves between any two voices, as in \
                          Bach's own part-writing. Off: the model alone decides.";
pub const SEED: &str = "Which of the model's possible harmonizations you hear. The same seed, \
                        settings and melody always give the same notes, so a bounce matches \
                        playback.";
pub const VELOCITY: &str = "How hard the added voices play: the velocity of the melody note \
                            they sound with, or a fixed value.";
pub const PASS_THROUGH: &str = "Also send the melody you play on to the instrument. Turn off \
                                when the instrument already hears your keyboard.";
pub const CONTINUE: &str = "In Continue mode: how long you must stop playing before Bach takes \
                            over, and how many bars it then plays.";
pub const VOICE: &str = "Play this voice or leave it out, and the MIDI channel it is sent on \
                         (one instrument per channel lets you mix the voices).";
pub const BYPASS: &str = "Pass the input through unchanged and play no harmony.";
pub const LOAD: &str = "Load a model that bach-trainer wrote (a .safetensors file). The \
                        current model keeps playing until the new one is ready.";
pub const KEY: &str = "The key of the harmony. Auto follows the melody you play: it settles \
                       within the first phrase, holds the key through a phrase and may move \
                       to a new key where a phrase ends. Set a key when you know it, for a \
                       steady harmony from the first note.";
pub const LOOKAHEAD: &str = "How far ahead Bach hears your melody before it harmonizes a note. \
                             Off adds no delay: for playing live. 1 beat or 1 bar lets the \
                             harmony prepare cadences, and delays Bach's output by that much; \
                             the host is told and lines recorded or sequenced melodies up.";
pub const TIMING: &str = "How late a note may be and still count as on the beat. A melody \
                          note played up to this much after the beat is harmonized as if it \
                          were on it, its chord starting with it; voices that move on their \
                          own while you hold a note wait as long. Sequenced notes on the grid \
                          never wait. 0 decides every step exactly on the grid.";
pub const ROLL: &str = "The last four bars: your melody in grey, each voice Bach adds in its \
                        colour. Bar numbers come from the host's transport. Above it, the \
                        chord at each change of harmony, and the key where it changes.";
pub const CHORDS: &str = "What the labels above the roll name: the chord symbols (G7/B), the \
                          Roman numerals in the key (V6/5), or both. Saved with the project.";

pub const PICKER: &str = "The models built into Bach, with what they are and their score on \
                          the test pieces (lower is better).";
pub const BROWSE: &str = "Choose a model file that bach-trainer wrote, in your system's file \
                          dialog. Where no dialog opens, type its path in the field and press \
                          Load.";
pub const PREVIEW: &str = "The Bach Instrument's own organ: hear the harmony with no \
                           instrument after Bach, each voice in its place (soprano left, bass \
                           right). Turn it off when another track plays Bach's MIDI.";
pub const EXPORT: &str = "Save the last bars Bach played, your melody and each voice on its \
                          own track, as a MIDI file with the tempo and meter, to drag into \
                          your song.";

/// Every tooltip, for the font-coverage test.
#[cfg(test)]
pub const ALL: &[&str] = &[
    MODE,
    TEMPERATURE,
    STRICT,
    SEED,
    VELOCITY,
    PASS_THROUGH,
    CONTINUE,
    VOICE,
    BYPASS,
    LOAD,
    KEY,
    LOOKAHEAD,
    ROLL,
    CHORDS,
    PICKER,
    BROWSE,
    PREVIEW,
    EXPORT,
];
