//! The loader thread: a model is loaded off the audio thread and handed over
//! through [`Shared`]'s lock-free queues (and back, to be freed).

use std::sync::Arc;

use crate::library::{Loaded, ModelChoice};
use crate::shared::Shared;

/// Loads a model on a new thread; on success it goes to the audio thread
/// (through `shared.incoming`) and becomes the project's choice, on failure
/// the error is shown and the current model keeps playing.
pub fn load_in_background(
    shared: &Arc<Shared>,
    wanted: ModelChoice,
    choice: Arc<std::sync::RwLock<ModelChoice>>,
) {
    shared.set_status(|s| {
        s.loading = true;
        s.error = None;
    });
    let loader = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("bach-model-loader".into())
        .spawn(move || {
            loader.free_retired();
            let result = Loaded::load(&wanted);
            match result {
                Ok(loaded) => {
                    let info = loaded.info.clone();
                    // Room is made by draining: the audio thread takes at most one per block.
                    let mut pending = loaded;
                    loop {
                        match loader.incoming.push(pending) {
                            Ok(()) => break,
                            Err(back) => {
                                pending = back;
                                drop(loader.incoming.pop());
                            }
                        }
                    }
                    if let Ok(mut c) = choice.write() {
                        *c = wanted;
                    }
                    loader.set_status(|s| {
                        s.info = Some(info);
                        s.loading = false;
                        s.notice = None;
                    });
                }
                Err(e) => loader.set_status(|s| {
                    s.loading = false;
                    s.error = Some(format!("{wanted}: {e}"));
                }),
            }
        });
    if let Err(e) = spawned {
        shared.set_status(|s| {
            s.loading = false;
            s.error = Some(format!("could not start loading: {e}"));
        });
    }
}
