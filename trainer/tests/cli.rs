//! The command line: train, eval --json, info, --resume, and errors as one line.

mod common;

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
}

#[test]
fn train_eval_info_and_resume() {
    let dir = common::temp_dir("cli");
    let data = common::write(&dir, "roll.json", &common::pianoroll_json(6));
    let out = dir.join("m.safetensors");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let common_args = [
        "train",
        "--dataset",
        d,
        "--arch",
        "lstm",
        "--layers",
        "1",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--batch",
        "2",
        "--seq-len",
        "4",
        "--lr",
        "0.01",
        "--seed",
        "3",
        "--quiet",
        "--out",
        o,
    ];
    let (code, _, err) = common::run(&[&common_args[..], &["--stop-after-batches", "2"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resume with --resume"), "{err}");
    let ck = dir.join("m.ckpt.safetensors");
    let (code, _, err) =
        common::run(&[&common_args[..], &["--resume", ck.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resuming at epoch 1, batch 2"), "{err}");
    assert!(err.contains("epoch   2  train"), "{err}");

    let (code, stdout, err) = common::run(&[
        "eval",
        "--model",
        o,
        "--dataset",
        d,
        "--split",
        "valid",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let nll = v["nll"].as_f64().unwrap();
    assert!(nll > 0.0 && nll < 88.0 * std::f64::consts::LN_2, "{nll}");
    assert_eq!(v["split"], "valid");

    let (code, stdout, _) = common::run(&["info", o]);
    assert_eq!(code, 0);
    assert!(stdout.contains("piano-roll model"), "{stdout}");
    assert!(stdout.contains("1 layer(s) of 8 LSTM units"), "{stdout}");
    assert!(stdout.contains("trained on roll.json"), "{stdout}");
    let (code, stdout, _) = common::run(&["info", ck.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("(finished)"), "{stdout}");

    let curves = dir.join("curves.png");
    let traj = dir.join("traj.png");
    let (code, _, err) = common::run(&[
        "plot",
        "curves",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--out",
        curves.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = common::run(&[
        "plot",
        "trajectory",
        "--model",
        o,
        "--dataset",
        d,
        "--split",
        "train",
        "--piece",
        "1",
        "--out",
        traj.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for png in [curves, traj] {
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{}", png.display());
        assert!(bytes.len() > 5_000);
    }
    let (code, _, err) = common::run(&[
        "plot",
        "trajectory",
        "--model",
        o,
        "--dataset",
        d,
        "--piece",
        "99",
        "--out",
        "/tmp/x.png",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no piece 99"), "{err}");
}

#[test]
fn errors_are_one_line_and_exit_1() {
    let dir = common::temp_dir("cli-errors");
    let bad = common::write(&dir, "bad.safetensors", "not a model");
    let roll = common::write(&dir, "roll.json", &common::pianoroll_json(2));
    let voices = common::write(&dir, "v.json", &common::voices_json(2));
    let out = dir.join("x.safetensors");
    let cases: Vec<Vec<&str>> = vec![
        vec!["info", bad.to_str().unwrap()],
        vec!["info", "/nonexistent/model.safetensors"],
        vec![
            "eval",
            "--model",
            bad.to_str().unwrap(),
            "--dataset",
            roll.to_str().unwrap(),
        ],
        vec![
            "train",
            "--dataset",
            "/nonexistent.json",
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "train",
            "--dataset",
            roll.to_str().unwrap(),
            "--layers",
            "9",
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "train",
            "--dataset",
            roll.to_str().unwrap(),
            "--device",
            "cuda",
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "train",
            "--dataset",
            voices.to_str().unwrap(),
            "--nade",
            "16",
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "train",
            "--dataset",
            voices.to_str().unwrap(),
            "--resume",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    ];
    for args in cases {
        let (code, _, err) = common::run(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

#[test]
fn train_an_nade_and_describe_it() {
    let dir = common::temp_dir("cli-nade");
    let data = common::write(&dir, "roll.json", &common::pianoroll_json(4));
    let out = dir.join("n.safetensors");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let (code, _, err) = common::run(&[
        "train",
        "--dataset",
        d,
        "--layers",
        "1",
        "--hidden",
        "6",
        "--nade",
        "5",
        "--epochs",
        "1",
        "--batch",
        "2",
        "--seq-len",
        "4",
        "--quiet",
        "--out",
        o,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, stdout, _) = common::run(&["info", o]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("drawn lowest first by an NADE of 5 units"),
        "{stdout}"
    );
}

/// Ctrl-C (SIGINT) saves a checkpoint and exits cleanly; the run resumes from it.
#[cfg(unix)]
#[test]
fn ctrl_c_saves_and_exits_cleanly() {
    let dir = common::temp_dir("cli-sigint");
    let data = common::write(&dir, "roll.json", &common::pianoroll_json(6));
    let out = dir.join("m.safetensors");
    let ck = dir.join("m.ckpt.safetensors");
    let args = [
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--hidden",
        "8",
        "--layers",
        "1",
        "--batch",
        "2",
        "--epochs",
        "1000000",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    let child = bin()
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first epoch's checkpoint, so the run is well under way.
    let start = std::time::Instant::now();
    while !ck.exists() {
        assert!(start.elapsed().as_secs() < 120, "no checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("stopped; resume with --resume"), "{err}");
    let saved = bach_trainer::checkpoint::Checkpoint::load(&ck).unwrap();
    assert!(saved.header.progress.epoch >= 1 && !saved.header.progress.finished);
    // Resume with a smaller total: it finishes at once with the saved best model.
    let epochs = (saved.header.progress.epoch + 1).to_string();
    let (code, _, err) = common::run(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--epochs",
        &epochs,
        "--resume",
        ck.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("done: best valid NLL"), "{err}");
}

/// On a build without CUDA, asking for it is one error line and status 1
/// from `train`, `eval` and the bench, before any file is written.
#[cfg(not(feature = "cuda"))]
#[test]
fn a_missing_device_is_one_line_and_writes_nothing() {
    let dir = common::temp_dir("cli-device");
    let roll = common::write(&dir, "roll.json", &common::pianoroll_json(2));
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("m.safetensors");
    let (r, o) = (roll.to_str().unwrap(), out.to_str().unwrap());
    // A model to evaluate, trained on the CPU.
    let model = dir.join("cpu.safetensors");
    let (code, _, err) = common::run(&[
        "train",
        "--dataset",
        r,
        "--hidden",
        "4",
        "--layers",
        "1",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bench = || Command::new(env!("CARGO_BIN_EXE_bach-trainer-bench"));
    let cases: Vec<(Command, Vec<&str>)> = vec![
        (
            bin(),
            vec!["train", "--dataset", r, "--device", "cuda", "--out", o],
        ),
        (
            bin(),
            vec![
                "eval",
                "--model",
                model.to_str().unwrap(),
                "--dataset",
                r,
                "--device",
                "cuda",
            ],
        ),
        (
            bin(),
            vec!["train", "--dataset", r, "--device", "tpu", "--out", o],
        ),
        (bench(), vec!["--device", "cuda", "--iters", "1"]),
    ];
    for (mut cmd, args) in cases {
        let res = cmd.args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(
            err.contains("cuda") || err.contains("tpu"),
            "{args:?}: {err}"
        );
        assert!(res.stdout.is_empty(), "{args:?}");
        let written: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert!(written.is_empty(), "{args:?} wrote {written:?}");
    }
}
