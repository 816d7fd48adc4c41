//! Native file dialogs (rfd), never on the audio thread. On Windows and
//! Linux they run on a thread of their own so the window keeps drawing; on
//! macOS AppKit wants them on the main thread, which is the window's.
//! A cancelled dialog calls nothing.

use std::path::PathBuf;

/// Asks for a model file; `then` gets the path chosen.
pub fn open_model(then: impl FnOnce(PathBuf) + Send + 'static) {
    run(then, || {
        rfd::FileDialog::new()
            .set_title("Load a Bach model")
            .add_filter("Bach model", &["safetensors"])
            .pick_file()
    });
}

/// Asks where to save a MIDI file; `then` gets the path chosen.
pub fn save_midi(then: impl FnOnce(PathBuf) + Send + 'static) {
    run(then, || {
        rfd::FileDialog::new()
            .set_title("Save what Bach played")
            .add_filter("MIDI file", &["mid"])
            .set_file_name("bach.mid")
            .save_file()
    });
}

fn run(
    then: impl FnOnce(PathBuf) + Send + 'static,
    ask: impl FnOnce() -> Option<PathBuf> + Send + 'static,
) {
    let job = move || {
        if let Some(path) = ask() {
            then(path);
        }
    };
    if cfg!(target_os = "macos") {
        job();
    } else {
        // If no thread can be started there is no dialog: as if cancelled.
        let _ = std::thread::Builder::new()
            .name("bach-file-dialog".into())
            .spawn(job);
    }
}
