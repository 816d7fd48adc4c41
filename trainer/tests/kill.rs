//! Robustness of training runs: SIGKILL at random moments (and in the middle
//! of file writes), unusable output paths, and a full disk.
//!
//! Every kill is followed by checks: the model file and the checkpoint are
//! absent or load whole, no epoch the killed run reported is lost, and the
//! temporary files a kill leaves are removed by the next run. The resumed run
//! must end with the same weights as an uninterrupted run with the same seed.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bach_engine::file::ModelFile;
use bach_trainer::checkpoint::Checkpoint;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
}

/// SplitMix64: the kill schedule is the same on every run of the test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The training arguments shared by every run (one thread, so runs are exact).
fn train_args(data: &Path, out: &Path, epochs: usize) -> Vec<String> {
    [
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--arch",
        "gru",
        "--layers",
        "1",
        "--hidden",
        "64",
        "--epochs",
        &epochs.to_string(),
        "--batch",
        "4",
        "--seq-len",
        "8",
        "--lr",
        "0.01",
        "--seed",
        "7",
        "--patience",
        "0",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A running trainer whose stderr is collected by a thread.
struct Run {
    child: Child,
    stderr: JoinHandle<String>,
}

fn spawn(args: &[String]) -> Run {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    Run { child, stderr }
}

/// Waits for a run that must end by itself; a hang fails the test instead of
/// blocking it (the limit is a guard, not a speed requirement).
fn finish(mut run: Run) -> (Option<i32>, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = run.child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = run.child.kill();
            let _ = run.child.wait();
            panic!("the trainer did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (status.code(), run.stderr.join().unwrap())
}

/// The last epoch the run reported finished (`epoch   N  train …` lines).
fn last_reported_epoch(stderr: &str) -> usize {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("epoch")?;
            let mut words = rest.split_whitespace();
            let n = words.next()?.parse().ok()?;
            (words.next() == Some("train")).then_some(n)
        })
        .max()
        .unwrap_or(0)
}

/// Temporary files in `dir` (write_atomic's, named by
/// `bach_engine::file::temp_path`), as (name, pid).
fn temp_files(dir: &Path) -> Vec<(String, u32)> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (_, pid) = bach_engine::file::parse_temp_name(&name)?;
            Some((name, pid))
        })
        .collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What one kill left behind.
struct KillReport {
    delay_ms: u128,
    mid_write: bool,
    reported: usize,
    saved: Option<usize>,
    temps: usize,
}

#[cfg(unix)]
#[test]
fn sigkill_at_random_moments_loses_no_reported_epoch_and_resumes_exactly() {
    use std::os::unix::process::ExitStatusExt;

    const EPOCHS: usize = 150;
    const KILLS: usize = 8;
    let root = common::temp_dir("kill");
    let data = common::write(&root, "data.json", &common::pianoroll_json(16));

    // The uninterrupted run, for the weights and for the length of a run.
    let reference = root.join("ref");
    std::fs::create_dir_all(&reference).unwrap();
    let clock = Instant::now();
    let (code, err) = finish(spawn(&train_args(
        &data,
        &reference.join("m.safetensors"),
        EPOCHS,
    )));
    assert_eq!(code, Some(0), "{err}");
    let whole = clock.elapsed();
    let expected = ModelFile::load(&reference.join("m.safetensors")).unwrap();

    let dir = root.join("killed");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("m.safetensors");
    let ck = dir.join("m.ckpt.safetensors");
    let fresh = train_args(&data, &out, EPOCHS);
    let resume: Vec<String> = fresh
        .iter()
        .cloned()
        .chain(["--resume".to_string(), ck.display().to_string()])
        .collect();
    let mut rng = Rng(0x5EED_0001);
    let mut reports = Vec::new();
    let mut saved_before = 0;
    let mut completed_early = false;
    for k in 0..KILLS {
        // Without a checkpoint (killed in the first epoch) the run starts afresh.
        let args = if ck.exists() { &resume } else { &fresh };
        let before: Vec<(String, u32)> = temp_files(&dir);
        // Half the kills wait a random time; the other half wait a random
        // time, then strike the moment a temporary file appears: mid-write.
        let mid_write = k % 2 == 1;
        // The first kill comes almost at once, before any checkpoint exists.
        let delay = if k == 0 {
            whole.mul_f64(0.003)
        } else {
            whole.mul_f64(0.02 + 0.15 * rng.unit())
        };
        let mut run = spawn(args);
        let start = Instant::now();
        std::thread::sleep(delay);
        let mut struck_mid_write = false;
        if mid_write {
            let deadline = Instant::now() + whole / 8;
            while Instant::now() < deadline {
                let now: Vec<_> = temp_files(&dir);
                if now.iter().any(|t| t.1 == run.child.id()) {
                    struck_mid_write = true;
                    break;
                }
                if run.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        let delay_ms = start.elapsed().as_millis();
        let _ = run.child.kill();
        let status = run.child.wait().unwrap();
        let pid = run.child.id();
        let err = run.stderr.join().unwrap();
        if status.code() == Some(0) {
            // It finished before the kill came: nothing more to kill.
            completed_early = true;
            break;
        }
        assert_eq!(status.signal(), Some(9), "kill {k}: {status:?}\n{err}");

        // Both files are absent or whole.
        if out.exists() {
            ModelFile::load(&out).unwrap_or_else(|e| panic!("kill {k}: model: {e}"));
        }
        let saved = ck.exists().then(|| {
            Checkpoint::load(&ck)
                .unwrap_or_else(|e| panic!("kill {k}: checkpoint: {e}"))
                .header
                .progress
                .epoch
        });
        // No epoch the log showed is lost, and progress never goes back.
        let reported = last_reported_epoch(&err);
        let saved_epochs = saved.unwrap_or(0);
        assert!(
            saved_epochs >= reported && saved_epochs >= saved_before,
            "kill {k}: reported {reported}, saved {saved_epochs}, before {saved_before}\n{err}"
        );
        saved_before = saved_epochs;
        // Only temporary files named after a killed run may be left, and a
        // run that got as far as training removed the older ones.
        let temps = temp_files(&dir);
        for (name, owner) in &temps {
            assert!(
                name.starts_with(".m.safetensors.") || name.starts_with(".m.ckpt.safetensors."),
                "kill {k}: stray file {name}"
            );
            let older = before.iter().any(|b| &b.0 == name);
            assert!(
                *owner == pid || (older && reported == 0),
                "kill {k}: {name} should have been removed\n{err}"
            );
        }
        let others: Vec<String> = names_in(&dir)
            .into_iter()
            .filter(|n| bach_engine::file::parse_temp_name(n).is_none())
            .collect();
        assert!(
            others
                .iter()
                .all(|n| n == "m.safetensors" || n == "m.ckpt.safetensors"),
            "kill {k}: {others:?}"
        );
        reports.push(KillReport {
            delay_ms,
            mid_write: struck_mid_write,
            reported,
            saved,
            temps: temps.iter().filter(|t| t.1 == pid).count(),
        });
    }

    // The last run goes to the end.
    let clock = Instant::now();
    let (code, err) = finish(spawn(if ck.exists() { &resume } else { &fresh }));
    assert_eq!(code, Some(0), "{err}");
    let tail = clock.elapsed();
    assert_eq!(
        names_in(&dir),
        vec![
            "m.ckpt.safetensors".to_string(),
            "m.safetensors".to_string()
        ],
        "temporary files left after the run ended"
    );
    let got = ModelFile::load(&out).unwrap();
    assert_eq!(got.tensors, expected.tensors, "the resumed weights differ");
    let (a, b) = (
        got.meta.training.unwrap(),
        expected.meta.training.clone().unwrap(),
    );
    assert_eq!((a.valid_nll, a.test_nll), (b.valid_nll, b.test_nll));
    assert_eq!(a.epochs, EPOCHS);
    assert!(Checkpoint::load(&ck).unwrap().header.progress.finished);

    eprintln!(
        "uninterrupted run: {:.2} s for {EPOCHS} epochs; {} kills{}; last run {:.2} s",
        whole.as_secs_f64(),
        reports.len(),
        if completed_early {
            " (a run finished before its kill)"
        } else {
            ""
        },
        tail.as_secs_f64()
    );
    for (k, r) in reports.iter().enumerate() {
        eprintln!(
            "kill {k}: after {:>4} ms{}, reported {:>3} epochs, checkpoint holds {:>3}, lost 0 reported epochs, {} temp file(s) left",
            r.delay_ms,
            if r.mid_write { " (mid-write)" } else { "" },
            r.reported,
            r.saved.map_or("none".into(), |e| e.to_string()),
            r.temps
        );
    }
    assert!(reports.len() >= KILLS - 2, "too few kills landed");
    // Catching a write depends on how long the disk takes to sync (a few ms
    // on ext4, which catches every one); a RAM disk may be too quick to see.
    let mid = reports.iter().filter(|r| r.mid_write).count();
    eprintln!("{mid} of {} kills struck during a write", reports.len());
}

/// An output that cannot be written is one `error:` line and exit 1, before
/// any training (the run asks for a million epochs, so training would show).
#[test]
fn unusable_output_paths_fail_before_training() {
    let dir = common::temp_dir("kill-paths");
    let data = common::write(&dir, "data.json", &common::pianoroll_json(4));
    let file = common::write(&dir, "plain.txt", "a file, not a folder");
    let folder = dir.join("folder.safetensors");
    std::fs::create_dir_all(&folder).unwrap();
    let good = dir.join("good.safetensors");
    let missing = dir.join("no-such-folder/m.safetensors");
    let under_file = file.join("m.safetensors");
    let deeper = file.join("sub/m.safetensors");
    let cases: Vec<(PathBuf, Option<PathBuf>)> = vec![
        (missing.clone(), None),
        (under_file.clone(), None),
        (deeper.clone(), None),
        (folder.clone(), None),
        (good.clone(), Some(missing.clone())),
        (good.clone(), Some(under_file.clone())),
    ];
    let mut cases = cases;
    // A read-only folder: refused unless this runs as root (which ignores it).
    let read_only = dir.join("read-only");
    std::fs::create_dir_all(&read_only).unwrap();
    set_mode(&read_only, 0o555);
    if std::fs::write(read_only.join("probe"), b"x").is_ok() {
        let _ = std::fs::remove_file(read_only.join("probe"));
        eprintln!("read-only folder case skipped: permissions are not enforced (root)");
    } else {
        cases.push((read_only.join("m.safetensors"), None));
    }
    for (out, checkpoint) in cases {
        let mut args = train_args(&data, &out, 1_000_000);
        if let Some(c) = &checkpoint {
            args.extend(["--checkpoint".to_string(), c.display().to_string()]);
        }
        let (code, err) = finish(spawn(&args));
        let bad = checkpoint.as_ref().unwrap_or(&out);
        assert_eq!(code, Some(1), "{}: {err}", bad.display());
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(&bad.display().to_string()), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!good.exists());
        eprintln!("{}", err.trim());
    }
    set_mode(&read_only, 0o755);
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

/// A small tmpfs, mounted for one test and unmounted however it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, bytes: u64) -> Option<Self> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}")])
            .arg("tmpfs")
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_owned()))
    }

    fn resize(&self, bytes: u64) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={bytes}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A disk too small for the outputs fails before training; one that fills
/// up mid-run fails with a clear error and keeps the last checkpoint whole,
/// and the run then resumes to the same weights as an uninterrupted one.
/// Needs a tmpfs mount (root); skips, saying so, without one.
#[test]
fn a_full_disk_is_a_clear_error_and_keeps_the_last_checkpoint() {
    const EPOCHS: usize = 4;
    let root = common::temp_dir("kill-full");
    let data = common::write(&root, "data.json", &common::pianoroll_json(8));
    let reference = root.join("ref.safetensors");
    let (code, err) = finish(spawn(&train_args(&data, &reference, EPOCHS)));
    assert_eq!(code, Some(0), "{err}");
    let model_len = std::fs::metadata(&reference).unwrap().len();
    let ck_len = std::fs::metadata(root.join("ref.ckpt.safetensors"))
        .unwrap()
        .len();

    // Room for the model and half a checkpoint: the check before training fails.
    let Some(disk) = Tmpfs::mount(&root.join("disk"), model_len + ck_len / 2) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let out = disk.0.join("m.safetensors");
    let ck = disk.0.join("m.ckpt.safetensors");
    let args = train_args(&data, &out, EPOCHS);
    let (code, err) = finish(spawn(&args));
    assert_eq!(code, Some(1), "{err}");
    // The run's one summary line, then the error: no epoch was trained.
    let last = err.trim().lines().last().unwrap();
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert_eq!(last_reported_epoch(&err), 0, "{err}");
    assert!(
        last.starts_with("error: cannot write the checkpoint")
            && last.contains("checked before training")
            && last.contains("No space left"),
        "{err}"
    );
    assert!(names_in(&disk.0).is_empty(), "{:?}", names_in(&disk.0));
    eprintln!("disk too small: {last}");

    // Room for one of each and half a checkpoint more: epoch 1 is saved,
    // epoch 2's checkpoint (written beside the old one) does not fit.
    disk.resize(model_len + ck_len * 3 / 2);
    let (code, err) = finish(spawn(&args));
    assert_eq!(code, Some(1), "{err}");
    let last = err.trim().lines().last().unwrap();
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert!(
        last.starts_with("error: ") && last.contains("No space left") && last.contains("m.ckpt"),
        "{err}"
    );
    assert_eq!(last_reported_epoch(&err), 1, "{err}");
    eprintln!("disk full after epoch 1: {last}");
    let saved = Checkpoint::load(&ck).unwrap();
    assert_eq!(saved.header.progress.epoch, 1);
    ModelFile::load(&out).unwrap();
    assert!(temp_files(&disk.0).is_empty(), "{:?}", names_in(&disk.0));

    // With room again, the run resumes and ends where an unbroken run does.
    disk.resize(16 << 20);
    let resume: Vec<String> = args
        .iter()
        .cloned()
        .chain(["--resume".to_string(), ck.display().to_string()])
        .collect();
    let (code, err) = finish(spawn(&resume));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        ModelFile::load(&out).unwrap().tensors,
        ModelFile::load(&reference).unwrap().tensors
    );
}
