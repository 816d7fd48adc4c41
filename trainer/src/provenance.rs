//! What a model file says about where it came from: the dataset's file name,
//! SHA-256 and split sizes, the trainer's version and source revision, every
//! setting, and the command line with each path cut to its file name.
//!
//! A model file is made to be shared, so nothing in it may name a folder of
//! the machine that trained it: an absolute path would carry its maker's home
//! directory and user name. The hash, not the path, says which data it was.

use std::path::Path;

use bach_engine::{ModelKind, ModelMeta, Provenance, TrainerBuild};

use crate::config::{NetSettings, TrainConfig, TrainingSettings};
use crate::dataset::Dataset;

pub use crate::hash::sha256_hex;

/// This trainer: its version, and the commit it was built from when the
/// build could ask git (see `build.rs`).
pub fn trainer_build() -> TrainerBuild {
    TrainerBuild {
        name: "bach-trainer".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        revision: option_env!("BACH_TRAINER_REVISION").map(str::to_owned),
    }
}

/// An f32 setting as the f64 of its shortest decimal, so a record says
/// 0.1 rather than 0.10000000149011612.
pub fn shortest_decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(x.into())
}

/// The program's name in a recorded command: how it was invoked (`../bt2`,
/// `/home/me/bin/bach-trainer`) is the maker's business, not the model's.
const PROGRAM: &str = "bach-trainer";

/// A command line for the record: the program as `bach-trainer`, every
/// argument that is a path cut to its file name (`--dataset=/a/b.json` too),
/// and arguments with spaces quoted so the record still reads as one command.
pub fn command_line(args: impl IntoIterator<Item = String>) -> String {
    let mut out = vec![PROGRAM.to_owned()];
    out.extend(args.into_iter().skip(1).map(|a| quote(&file_name_only(&a))));
    out.join(" ")
}

/// [`command_line`] for a command already joined into one string (the form
/// checkpoints and older model files keep it in), split at white space.
pub fn clean_command(command: &str) -> String {
    if command.trim().is_empty() {
        return String::new();
    }
    command_line(command.split_whitespace().map(str::to_owned))
}

/// An argument with any path in it cut to its last component. Both separators
/// count, so a Windows path recorded elsewhere is cut too; a bare name is kept.
pub(crate) fn file_name_only(arg: &str) -> String {
    if let Some((flag, value)) = arg.split_once('=').filter(|(f, _)| f.starts_with("--")) {
        return format!("{flag}={}", file_name_only(value));
    }
    if !arg.contains(['/', '\\']) {
        return arg.to_owned();
    }
    let last = arg
        .split(['/', '\\'])
        .rev()
        .find(|c| !c.is_empty())
        .unwrap_or("");
    // `C:` alone, or the root: nothing of the path is worth keeping.
    if last.is_empty() || has_drive_letter(last) {
        return "_".into();
    }
    last.to_owned()
}

fn has_drive_letter(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

fn quote(arg: &str) -> String {
    if arg.is_empty() || arg.contains(char::is_whitespace) {
        format!("'{}'", arg.replace('\'', r"'\''"))
    } else {
        arg.to_owned()
    }
}

/// Every setting of a run that shapes its result, by name: what `train`'s
/// flags (given or defaulted) became, the config's groups of settings with
/// the model's kind and grid beside them. Paths, the model's name and the
/// command are not settings; the dataset is recorded by name and hash beside them.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub kind: ModelKind,
    /// Grid step in quarter notes, as used (given or guessed from the data).
    pub step_beats: f64,
    #[serde(flatten)]
    pub net: NetSettings,
    pub epochs: usize,
    #[serde(flatten)]
    pub training: TrainingSettings,
    /// The model a fine-tuning run started from (`train --from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<crate::config::BaseModel>,
}

impl Settings {
    pub fn new(config: &TrainConfig, kind: ModelKind, step_beats: f64) -> Self {
        Self {
            kind,
            step_beats,
            net: config.net.clone(),
            epochs: config.epochs,
            training: config.training.clone(),
            from: config.from.clone(),
        }
    }

    /// The JSON object a model file stores them as (its keys sorted), the
    /// f32 dropout as its shortest decimal (0.1, not 0.10000000149011612).
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => unreachable!("a struct of numbers and strings serialises to an object"),
        };
        map.insert(
            "dropout".into(),
            shortest_decimal(self.training.dropout).into(),
        );
        map
    }
}

/// The model file's record of a run on `data` with `config`, as it stands.
pub fn record(
    config: &TrainConfig,
    meta: &ModelMeta,
    data: &Dataset,
    epochs: usize,
    valid_nll: Option<f64>,
    test_nll: Option<f64>,
) -> Provenance {
    Provenance {
        dataset: file_name_only(&data.name),
        split: "train".into(),
        epochs,
        seed: config.training.seed,
        valid_nll,
        test_nll,
        date: today(),
        // Cleaned again: a checkpoint from an older trainer kept it raw.
        command: clean_command(&config.command),
        dataset_sha256: data.sha256.clone(),
        split_sizes: Some(data.split_sizes()),
        trainer: Some(trainer_build()),
        settings: Some(Settings::new(config, meta.kind, meta.step_beats).to_map()),
    }
}

/// Why scores of a model on `data` are not the ones it records, if they are not:
/// the data's hash differs from the one it was trained and scored on.
pub fn dataset_mismatch(meta: &ModelMeta, data: &Dataset) -> Option<String> {
    let t = meta.training.as_ref()?;
    let (recorded, given) = (t.dataset_sha256.as_ref()?, data.sha256.as_ref()?);
    (recorded != given).then(|| {
        format!(
            "{} is not the data this model was trained on ({}, SHA-256 {}; this one's is {}): its scores are not the model card's",
            data.name,
            t.dataset,
            short(recorded),
            short(given)
        )
    })
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A training record in words, one fact per line (for `info`).
pub fn describe(t: &Provenance) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let sizes = t.split_sizes.map_or(String::new(), |z| {
        format!(
            "; {} / {} / {} pieces in train / valid / test",
            z.train, z.valid, z.test
        )
    });
    let _ = writeln!(
        s,
        "trained on {} ({} split{sizes}) for {} epochs, seed {}, {}",
        t.dataset, t.split, t.epochs, t.seed, t.date
    );
    let _ = writeln!(
        s,
        "dataset SHA-256: {}",
        t.dataset_sha256.as_deref().unwrap_or("not recorded")
    );
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    let _ = writeln!(
        s,
        "NLL per step: valid {}, test {}",
        f(t.valid_nll),
        f(t.test_nll)
    );
    let trainer = match &t.trainer {
        Some(b) => match &b.revision {
            Some(r) => format!("{} {} (revision {r})", b.name, b.version),
            None => format!("{} {} (revision unknown)", b.name, b.version),
        },
        None => "not recorded".into(),
    };
    let _ = writeln!(s, "trainer: {trainer}");
    if let Some(from) = t.settings.as_ref().and_then(|m| m.get("from")) {
        let field = |k: &str| from.get(k).and_then(|v| v.as_str()).unwrap_or("?");
        let _ = writeln!(
            s,
            "started from: {} (model {}, SHA-256 {})",
            field("file"),
            field("model"),
            field("sha256")
        );
    }
    if let Some(settings) = &t.settings {
        let _ = writeln!(s, "settings: {}", flatten(settings, "").join(", "));
    }
    if !t.command.is_empty() {
        let _ = writeln!(s, "command: {}", t.command);
    }
    s
}

/// `key value` pairs, nested objects as `outer.inner`.
fn flatten(map: &serde_json::Map<String, serde_json::Value>, prefix: &str) -> Vec<String> {
    map.iter()
        .flat_map(|(k, v)| match v {
            serde_json::Value::Object(inner) => flatten(inner, &format!("{prefix}{k}.")),
            serde_json::Value::String(s) => vec![format!("{prefix}{k} {s}")],
            other => vec![format!("{prefix}{k} {other}")],
        })
        .collect()
}

/// `bach-trainer rewrite-provenance`: clean a model file's training record of
/// paths, and with --dataset add the data's hash and split sizes; the weights
/// stay byte for byte.
/// Today's date (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whether `text` names an absolute path: a `/` (or `~/`) that starts a
/// word and is followed by a path component, or a drive letter (`C:\`,
/// `D:/`). Relative paths (`../shared`, `a/b`) and URLs (`https://…`) pass.
pub fn absolute_path_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let starts_word =
        |i: usize| i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b"./:~_-\\".contains(&b[i - 1]));
    let component = |i: usize| {
        b.get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
    };
    let excerpt = |i: usize| text[i..].chars().take(40).collect::<String>();
    for i in 0..b.len() {
        let slash = b[i] == b'/' && component(i + 1);
        if slash && (starts_word(i) || (i > 0 && b[i - 1] == b'~' && starts_word(i - 1))) {
            return Some(excerpt(
                i.saturating_sub(usize::from(i > 0 && b[i - 1] == b'~')),
            ));
        }
        if b[i].is_ascii_alphabetic()
            && starts_word(i)
            && b.get(i + 1) == Some(&b':')
            && matches!(b.get(i + 2), Some(b'\\') | Some(b'/'))
            && component(i + 3)
        {
            return Some(excerpt(i));
        }
    }
    None
}

/// The user name a leak would show, from `$USER` or the last component of
/// `$HOME`, unless it is too short or too common a word to search for.
pub fn user_name() -> Option<String> {
    let from_home = || {
        std::env::var("HOME").ok().and_then(|h| {
            Path::new(&h)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
    };
    let name = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(from_home)?;
    let generic = ["root", "user", "admin", "runner", "home"];
    (name.len() >= 3 && !generic.contains(&name.as_str())).then_some(name)
}

/// What a model file (or any file) would leak: the first absolute path in
/// it, or `user`'s name. For a `.safetensors` file only the JSON header is
/// text; the tensors are numbers, where any byte pattern can occur.
pub fn leaks(bytes: &[u8], user: Option<&str>) -> Option<String> {
    let text = match safetensors_header(bytes) {
        Some(h) => h,
        None => String::from_utf8_lossy(bytes).into_owned(),
    };
    if let Some(p) = absolute_path_in(&text) {
        return Some(format!("an absolute path: {p}"));
    }
    let user = user?;
    text.to_lowercase()
        .contains(&user.to_lowercase())
        .then(|| format!("the user name {user}"))
}

fn safetensors_header(bytes: &[u8]) -> Option<String> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let header = bytes.get(8..8usize.checked_add(usize::try_from(n).ok()?)?)?;
    let text = std::str::from_utf8(header).ok()?;
    text.trim_start().starts_with('{').then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_keep_file_names_only() {
        let args = [
            "/home/alice/bin/bach-trainer",
            "train",
            "--dataset",
            "/home/alice/data/jsb chorales.json",
            "--out=C:\\Users\\alice\\m.safetensors",
            "--checkpoint",
            "../ck/m.ckpt.safetensors",
            "--lr",
            "2e-3",
            "--name",
            "alice-model",
        ];
        assert_eq!(
            command_line(args.map(String::from)),
            "bach-trainer train --dataset 'jsb chorales.json' --out=m.safetensors \
             --checkpoint m.ckpt.safetensors --lr 2e-3 --name alice-model"
        );
        let old = "./bt2 train --dataset /work/shared/data/pianoroll/jsb_chorales.json --seed 1";
        let clean = clean_command(old);
        assert_eq!(
            clean,
            "bach-trainer train --dataset jsb_chorales.json --seed 1"
        );
        assert_eq!(
            clean_command(&clean),
            clean,
            "cleaning twice changes nothing"
        );
        assert_eq!(file_name_only("/"), "_");
        assert_eq!(file_name_only("C:"), "C:", "not a path without a separator");
        assert_eq!(file_name_only("D:\\"), "_");
    }

    /// A setting added to `TrainConfig` must be recorded too (or be named here
    /// as something that is not a setting).
    #[test]
    fn settings_cover_every_config_field() {
        let config = TrainConfig::new("data.json", Path::new("m.safetensors"));
        let not_settings = ["dataset", "out", "checkpoint", "name", "command"];
        let settings = Settings::new(&config, ModelKind::Pianoroll, 1.0).to_map();
        let serde_json::Value::Object(fields) = serde_json::to_value(&config).unwrap() else {
            panic!("a config is an object");
        };
        for key in fields.keys() {
            assert!(
                not_settings.contains(&key.as_str()) || settings.contains_key(key),
                "{key} is not recorded"
            );
        }
        for key in not_settings {
            assert!(!settings.contains_key(key), "{key}");
        }
    }

    #[test]
    fn absolute_paths_are_found_and_relative_ones_pass() {
        for leak in [
            "/home/alice/x.json",
            "--dataset /work/shared/data/a.json",
            r#""command":"/usr/bin/bach-trainer""#,
            "see (~/music/a.mid)",
            "--out=/tmp/m.safetensors",
            r"C:\Users\bob\m.safetensors",
            "at d:/data/x",
        ] {
            assert!(absolute_path_in(leak).is_some(), "{leak}");
        }
        for fine in [
            "../shared/data/jsb16/Jsb16thSeparated.json",
            "pianoroll/nottingham.json",
            "https://example.org/paper.pdf",
            "43.6 us / frame, 1/2 and 3/4 time",
            "bach-trainer train --dataset jsb_chorales.json",
            "ratio: 2:1",
        ] {
            assert_eq!(absolute_path_in(fine), None, "{fine}");
        }
    }

    #[test]
    fn leaks_name_the_user_anywhere_in_text() {
        assert!(leaks(b"trained by Alice", Some("alice")).is_some());
        assert!(leaks(b"trained by nobody", Some("alice")).is_none());
        assert!(leaks(b"trained by nobody", None).is_none());
    }
}
