//! The `harmonize`, `continue` and `generate` commands.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bach_engine::file::write_atomic;
use bach_engine::model::AnyModel;
use bach_engine::perform::KeyChoice;
use bach_engine::score::Score;
use bach_engine::ModelMeta;
use bach_engine::{Horizon, Key, Meter, DEFAULT_MODEL};
use clap::{Args, ValueEnum};

use super::{chords, Offline, Options};
use crate::{render, tunes};

/// Options every offline command takes.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Where to write the result (a format-1 MIDI file, one track per voice).
    #[arg(long)]
    pub out: PathBuf,
    /// A voices model (.safetensors), or for `continue` and `generate` also
    /// a piano-roll model; the built-in chorale model when left out.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Sampling temperature: 0 always takes the likeliest note, 1 samples the model as trained.
    #[arg(long, default_value_t = 0.3)]
    pub temperature: f32,
    /// Let voices move in parallel fifths and octaves (by default they may not).
    #[arg(long)]
    pub free_voice_leading: bool,
    /// Random seed: the same seed and input give the same notes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tempo in beats per minute, replacing the file's tempo map.
    #[arg(long)]
    pub bpm: Option<f64>,
    /// Also render the result to this WAV file with the built-in organ (Bach Instrument's preview voice).
    #[arg(long)]
    pub wav: Option<PathBuf>,
    /// Also draw the result as a piano roll to this PNG file, with each
    /// chord change's symbol and Roman numeral above the roll.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Also write the chords to this text file (- for standard output, when
    /// the other messages go to standard error). One line per chord change
    /// (off the beat, a new chord, not a new bass note under the same one):
    /// POSITION<TAB>SYMBOL<TAB>NUMERAL, such as "12.3<TAB>A7/C#<TAB>V6/5".
    /// POSITION is bar.beat, bars numbered as in the --png picture (0 for a
    /// pickup) and beats from 1; a change off the beat adds the 16th in the
    /// beat from 1, as DAWs count: 12.3.3 is the eighth after beat 3. Before
    /// the first chord and wherever the key changes, a line "key<TAB>G major"
    /// names the key the numerals are in: the key the harmony was played in
    /// (harmonize), else the one heard in the top part. The MIDI file always
    /// carries the symbols as marker events on the first track.
    #[arg(long, value_name = "FILE")]
    pub chords: Option<PathBuf>,
}

impl CommonArgs {
    /// Whether the chords go to standard output, so messages must not.
    pub fn chords_to_stdout(&self) -> bool {
        self.chords.as_deref() == Some(Path::new("-"))
    }

    /// Prints a message to standard output, or to standard error while
    /// standard output carries the chords.
    fn say(&self, message: std::fmt::Arguments) {
        if self.chords_to_stdout() {
            eprintln!("{message}");
        } else {
            println!("{message}");
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct HarmonizeArgs {
    /// The melody as a MIDI file; without it, a built-in tune (see --tune).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// The built-in tune to harmonize when there is no --input:
    /// ode-to-joy (the default), greensleeves or god-rest-ye.
    #[arg(long, conflicts_with = "input")]
    pub tune: Option<String>,
    /// The melody's track: its number (from 1) or name. Default: the highest part.
    #[arg(long)]
    pub track: Option<String>,
    /// The key of the harmony: auto (estimated from the melody), or a key
    /// such as "D major", "F# minor", "Bb" or "c#m". [default: auto]
    #[arg(long, value_parser = parse_key, value_name = "KEY")]
    pub key: Option<KeyChoice>,
    /// How much of the melody ahead the harmony hears: whole (all of it,
    /// best for files), or as the plugin's Lookahead: off, beat or bar
    /// (then the notes are the plugin's with that setting). [default: whole]
    #[arg(long, value_enum, value_name = "HOW_FAR")]
    pub lookahead: Option<Lookahead>,
    /// With --lookahead off, beat or bar, the melody plays as timed in the
    /// file (played by hand, off the grid), as a host plays it to the
    /// plugin, and a note up to this many milliseconds late still counts
    /// as on its beat: the plugin's Timing.
    #[arg(long, default_value_t = bach_engine::sequencer::feel::DEFAULT_TIMING_MS, value_name = "MS")]
    pub timing: f64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `--lookahead`'s choices.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookahead {
    Off,
    Beat,
    Bar,
    Whole,
}

impl Lookahead {
    pub fn horizon(self) -> Horizon {
        match self {
            Lookahead::Off => Horizon::Off,
            Lookahead::Beat => Horizon::Beat,
            Lookahead::Bar => Horizon::Bar,
            Lookahead::Whole => Horizon::Whole,
        }
    }
}

/// Reads `--key`: "auto", or a key as [`Key::parse`] reads it.
pub fn parse_key(s: &str) -> Result<KeyChoice, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(KeyChoice::Auto);
    }
    Key::parse(s).map(KeyChoice::Fixed).ok_or_else(|| {
        format!(
            "{s:?} is not a key: give auto, or a letter A-G with # or b and major or minor, \
             such as \"D major\", \"F# minor\", \"Bb\" or \"c#m\" (a lower-case letter alone is minor)"
        )
    })
}

#[derive(Args, Debug, Clone)]
pub struct ContinueArgs {
    /// The music to continue, as a MIDI file.
    #[arg(long)]
    pub input: PathBuf,
    /// How many bars the model plays after the primer.
    #[arg(long)]
    pub bars: u32,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// How many bars to generate.
    #[arg(long)]
    pub bars: u32,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The model file, or the built-in one.
pub fn load_model(path: Option<&Path>) -> Result<AnyModel> {
    match path {
        Some(p) => AnyModel::load(p).with_context(|| format!("cannot load model {}", p.display())),
        None => AnyModel::from_bytes(DEFAULT_MODEL).context("the built-in model is unreadable"),
    }
}

fn options(common: &CommonArgs, track: Option<String>) -> Options {
    Options {
        temperature: common.temperature,
        strict: !common.free_voice_leading,
        seed: common.seed,
        bpm: common.bpm,
        track,
        ..Options::default()
    }
}

fn read_input(path: &Path, meta: &ModelMeta) -> Result<Score> {
    bach_engine::midi::read_file(path, meta.step_beats)
        .with_context(|| format!("cannot use {}", path.display()))
}

pub fn harmonize(args: HarmonizeArgs) -> Result<()> {
    let what = args
        .input
        .as_ref()
        .map_or("the tune".to_string(), |p| p.display().to_string());
    let mut model = super::voices_model(load_model(args.common.model.as_deref())?)
        .with_context(|| format!("cannot harmonize {what}"))?;
    let mut played = None;
    let (score, what) = match &args.input {
        Some(input) => {
            let score = read_input(input, model.meta())?;
            played = Some(
                bach_engine::midi::read_played_file(input, model.meta().step_beats)
                    .with_context(|| format!("cannot use {}", input.display()))?,
            );
            (score, what)
        }
        None => {
            let name = args.tune.as_deref().unwrap_or(tunes::DEFAULT_TUNE);
            let tune = tunes::find(name).map_err(anyhow::Error::msg)?;
            (tune.score(), tune.title.to_string())
        }
    };
    let mut opts = options(&args.common, args.track);
    opts.key = args.key.unwrap_or_default();
    opts.lookahead = args.lookahead.unwrap_or(Lookahead::Whole).horizon();
    opts.timing_ms = args.timing;
    opts.played = played;
    for note in context_notes(model.meta(), &score, args.key, args.lookahead) {
        eprintln!("note: {note}");
    }
    let result = super::harmonize(&mut model, &score, &opts)
        .with_context(|| format!("cannot harmonize {what}"))?;
    write_all(&result, &args.common)?;
    if let Some(key) = result.key {
        args.common.say(format_args!("key: {key}"));
    }
    Ok(())
}

/// What the model cannot use of what the user asked for (`--key`,
/// `--lookahead` given, or the file's meter), in plain words. Harmonizing
/// goes on without it.
pub fn context_notes(
    meta: &ModelMeta,
    score: &Score,
    key: Option<KeyChoice>,
    lookahead: Option<Lookahead>,
) -> Vec<String> {
    let mut notes = Vec::new();
    if !meta.knows_key() && matches!(key, Some(KeyChoice::Fixed(_))) {
        notes.push("this model knows no keys; --key has no effect".to_string());
    }
    if !meta.hears_meter()
        && score
            .meter_regions()
            .iter()
            .any(|r| r.meter != Meter::COMMON)
    {
        notes.push(
            "this model hears only 4/4; the file's other meters are played as if in 4/4"
                .to_string(),
        );
    }
    match lookahead {
        _ if meta.ahead_notes() > 0 => {}
        Some(Lookahead::Beat | Lookahead::Bar) => {
            notes.push("this model cannot look ahead; --lookahead has no effect".to_string())
        }
        Some(Lookahead::Whole) => notes.push(
            "this model cannot look ahead; --lookahead whole only takes the key from the whole melody"
                .to_string(),
        ),
        Some(Lookahead::Off) | None => {}
    }
    notes
}

pub fn continue_(args: ContinueArgs) -> Result<()> {
    let model = load_model(args.common.model.as_deref())?;
    // The primer is read on the model's grid (a piano roll's frame).
    let score = read_input(&args.input, model.meta())?;
    let opts = options(&args.common, None);
    let result = match model {
        AnyModel::Voices(mut m) => super::continue_from(&mut m, &score, args.bars, &opts),
        AnyModel::PianoRoll(mut m) => super::continue_piano_roll(&mut m, &score, args.bars, &opts),
    }
    .with_context(|| format!("cannot continue {}", args.input.display()))?;
    write_all(&result, &args.common)
}

pub fn generate(args: GenerateArgs) -> Result<()> {
    let mut model = load_model(args.common.model.as_deref())?;
    let opts = options(&args.common, None);
    let result = super::generate(&mut model, args.bars, &opts).context("cannot generate")?;
    write_all(&result, &args.common)
}

/// Renders every requested output in memory first, so nothing is written
/// when any of them fails; then writes them (see [`write_files`]).
fn write_all(result: &Offline, common: &CommonArgs) -> Result<()> {
    let score = &result.score;
    let chords = result.chords();
    let midi = bach_engine::midi::write_with_markers(score, &chords::markers(&chords))
        .context("cannot encode the MIDI file")?;
    let mut files = vec![(common.out.clone(), midi)];
    if let Some(p) = &common.wav {
        files.push((p.clone(), render_wav(result)?));
    }
    if let Some(p) = &common.png {
        files.push((p.clone(), render_png(result, &chords)?));
    }
    let text = chords::text(&chords);
    match &common.chords {
        Some(p) if !common.chords_to_stdout() => files.push((p.clone(), text.clone().into_bytes())),
        _ => {}
    }
    write_files(&files)?;
    let notes: usize = score.parts.iter().map(|p| p.notes.len()).sum();
    common.say(format_args!(
        "wrote {} ({} parts, {} notes, {} steps)",
        common.out.display(),
        score.parts.len(),
        notes,
        score.len
    ));
    if common.chords_to_stdout() {
        print!("{text}");
    }
    Ok(())
}

/// The result heard through the built-in synthesizer, as WAV bytes.
pub fn render_wav(result: &Offline) -> Result<Vec<u8>> {
    render::wav::render(&result.score).context("cannot render the WAV file")
}

/// The result as a piano-roll picture with its chords, as PNG bytes.
pub fn render_png(result: &Offline, chords: &[chords::Change]) -> Result<Vec<u8>> {
    let labels: Vec<render::png::ChordLabel> = chords
        .iter()
        .map(|c| {
            (
                c.step,
                c.symbol.as_str(),
                c.numeral.as_str(),
                c.at.step == 1,
            )
        })
        .collect();
    render::png::render_with_chords(&result.score, &result.legend(), &labels)
        .map_err(anyhow::Error::msg)
        .context("cannot draw the piano roll")
}

/// Writes each file atomically. When one fails, the files this call had
/// already created are removed again, so a failed command leaves no partial
/// set behind (files it replaced keep their new content).
pub fn write_files(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    let mut created: Vec<&Path> = Vec::new();
    for (path, bytes) in files {
        let existed = path.exists();
        if let Err(e) = write_atomic(path, bytes) {
            for p in created {
                let _ = std::fs::remove_file(p);
            }
            return Err(e).with_context(|| format!("cannot write {}", path.display()));
        }
        if !existed {
            created.push(path);
        }
    }
    Ok(())
}
