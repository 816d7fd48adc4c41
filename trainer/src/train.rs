//! The training loop: shuffled batches of transposed pieces, truncated
//! back-propagation over chunks of `seq_len` steps (the state is carried,
//! detached, across the chunks of the same pieces), AdamW with clipping and a
//! cosine schedule, validation every epoch, early stopping, the best model
//! kept, and a checkpoint every epoch and whenever the run is stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bach_engine::{Horizon, ModelKind, ModelMeta};
use candle_core::Var;

use crate::average::Average;
use crate::batch;
use crate::checkpoint::{Checkpoint, Header};
use crate::chord_aux::{self, ChordHead};
use crate::config::{EpochRecord, Progress, TrainConfig};
use crate::dataset::{Dataset, Piece};
use crate::eval;
use crate::init::{initial_tensors, NamedTensor};
use crate::lone::{self, Silenced};
use crate::model::{device, Dropout, Network};
use crate::optim::{learning_rate, AdamW};
use crate::rng::{Rng, BATCH_STREAM, SHUFFLE_STREAM};

/// What the run reports as it goes (the CLI draws a progress bar from these).
pub enum Event<'a> {
    EpochStart {
        epoch: usize,
        epochs: usize,
        batches: usize,
        done: usize,
    },
    Batch {
        batch: usize,
        batches: usize,
        loss: f64,
        lr: f64,
    },
    EpochEnd(&'a EpochRecord, bool),
    Note(String),
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// All epochs ran, or early stopping ended the run; the best model is in `out`.
    Finished {
        best_valid: Option<f64>,
        test_nll: Option<f64>,
    },
    /// Stopped on request; the checkpoint holds everything needed to resume.
    Stopped { checkpoint: PathBuf },
}

/// Ways to stop a run early, checked after every batch.
#[derive(Default)]
pub struct Control<'a> {
    /// Set by Ctrl-C.
    pub stop: Option<&'a AtomicBool>,
    /// Stop after this many batches of this run (for testing resumption).
    pub stop_after_batches: Option<usize>,
}

/// A training run in progress.
pub struct Trainer {
    pub config: TrainConfig,
    pub net: Network,
    pub opt: AdamW,
    pub progress: Progress,
    pub best: Option<Vec<NamedTensor>>,
    /// The chord auxiliary head (`--chord-aux`), trained beside the model
    /// and never written to the model file.
    pub chord_head: Option<ChordHead>,
    /// The weights' moving average (`--ema`), which validation, the best
    /// model and the model file use.
    pub average: Option<Average>,
}

type Error = anyhow::Error;

/// The model layout for a dataset and configuration.
pub fn meta_for(config: &TrainConfig, data: &Dataset) -> ModelMeta {
    let mut meta = match data.kind {
        ModelKind::Pianoroll => ModelMeta::pianoroll(
            config.net.core,
            config.net.layers,
            config.net.hidden,
            data.step_beats,
        ),
        ModelKind::Voices => {
            let mut m = ModelMeta::satb(config.net.core, config.net.layers, config.net.hidden);
            m.voices = data.voices.clone();
            m.step_beats = data.step_beats;
            if data.train.iter().any(|p| p.context().is_some()) {
                // Annotated data: the model hears the real meter, works in
                // the key's frame and is told the melody ahead.
                m.features = vec![
                    bach_engine::Feature::PreviousStep,
                    bach_engine::Feature::Meter,
                    bach_engine::Feature::KeyMode,
                    bach_engine::Feature::Ahead {
                        notes: bach_engine::ahead::MAX_AHEAD,
                    },
                ];
            } else {
                // A bar of 4/4 on the grid.
                let steps = (4.0 / data.step_beats).round().max(1.0) as usize;
                m.features = vec![
                    bach_engine::Feature::PreviousStep,
                    bach_engine::Feature::BarPosition { steps },
                ];
            }
            if config.training.sounding {
                // Right after the previous step, whose holds it names.
                m.features.insert(1, bach_engine::Feature::Sounding);
            }
            m.pair_score = config.training.pair_score;
            // Intervals by size: crossed voices a fifth apart make a fifth.
            m.intervals_by_size = config.training.pair_score;
            m.order = config.training.voice_order.order(m.voices.len());
            m.format_version = m.needed_version();
            m
        }
    };
    meta.init = config.net.init;
    // Voices only: a piano roll with it fails validation, with a clear error.
    meta.head_hidden = config.net.head_hidden;
    meta.format_version = meta.format_version.max(meta.needed_version());
    if config.net.nade > 0 {
        meta.frame = bach_engine::FrameOutput::Nade {
            hidden: config.net.nade,
        };
    }
    meta.name = config.name.clone();
    meta
}

impl Trainer {
    /// A fresh run.
    pub fn new(config: TrainConfig, data: &Dataset) -> Result<Self, Error> {
        check_config(&config)?;
        if data.train.is_empty() {
            anyhow::bail!("the dataset's train split is empty");
        }
        let dev = device(&config.training.device)?;
        let meta = meta_for(&config, data);
        meta.validate().map_err(anyhow::Error::msg)?;
        let tensors = initial_tensors(&meta, config.net.init, config.training.seed);
        let net = Network::from_tensors(meta, &tensors, &dev)?;
        Self::start(config, net, data)
    }

    /// A fresh run that starts from `net`'s weights and keeps its layout
    /// (fine-tuning, see [`crate::finetune`]); `net` must be on the
    /// configuration's device and fit the data.
    pub fn from_network(config: TrainConfig, net: Network, data: &Dataset) -> Result<Self, Error> {
        check_config(&config)?;
        if data.train.is_empty() {
            anyhow::bail!("the dataset's train split is empty");
        }
        crate::load::check_fit(&net.meta, data)?;
        Self::start(config, net, data)
    }

    /// A fresh run of `net`, whatever its weights.
    fn start(mut config: TrainConfig, mut net: Network, data: &Dataset) -> Result<Self, Error> {
        // A model that knows keys sees each piece in its key's frame, where a
        // transposition changes nothing: the record says it was not done.
        if net.meta.knows_key() {
            config.training.transpose = false;
        }
        net.recurrence = config.training.recurrence;
        let chord_head = match config.training.chord_aux > 0.0 {
            true => {
                if net.meta.kind != ModelKind::Voices {
                    anyhow::bail!("--chord-aux is for voices models: a piano roll has no voices to name a chord from");
                }
                Some(ChordHead::new(net.meta.hidden, &net.device)?)
            }
            false => None,
        };
        let opt = optimizer(&net, chord_head.as_ref(), &config)?;
        let average = match config.training.ema > 0.0 {
            true => Some(Average::new(&net, config.training.ema)?),
            false => None,
        };
        Ok(Self {
            progress: Progress {
                train_pieces: data.train.len(),
                ..Default::default()
            },
            config,
            net,
            opt,
            best: None,
            chord_head,
            average,
        })
    }

    /// Continues the run saved in `checkpoint`.
    pub fn resume(checkpoint: &Path, data: &Dataset) -> Result<Self, Error> {
        let ck = Checkpoint::load(checkpoint)?;
        let mut config = ck.header.config;
        config.checkpoint = checkpoint.to_owned();
        if ck.header.progress.train_pieces != data.train.len() || ck.header.meta.kind != data.kind {
            anyhow::bail!(
                "the checkpoint was made on another dataset ({} training pieces of kind {:?}; this one has {} of kind {:?})",
                ck.header.progress.train_pieces,
                ck.header.meta.kind,
                data.train.len(),
                data.kind
            );
        }
        let dev = device(&config.training.device)?;
        // The chord head's tensors ride in the checkpoint beside the model's.
        let (aux, params): (Vec<NamedTensor>, Vec<NamedTensor>) = ck
            .params
            .into_iter()
            .partition(|(n, _, _)| n == chord_aux::WEIGHT || n == chord_aux::BIAS);
        let mut net = Network::from_tensors(ck.header.meta, &params, &dev)?;
        net.recurrence = config.training.recurrence;
        let chord_head = match config.training.chord_aux > 0.0 {
            true => Some(ChordHead::from_tensors(&aux, &dev)?),
            false => None,
        };
        let mut opt = optimizer(&net, chord_head.as_ref(), &config)?;
        let load = |ts: &[NamedTensor]| -> candle_core::Result<Vec<candle_core::Tensor>> {
            ts.iter()
                .map(|(_, s, d)| candle_core::Tensor::from_vec(d.clone(), s.as_slice(), &dev))
                .collect()
        };
        opt.m = load(&ck.adam_m)?;
        opt.v = load(&ck.adam_v)?;
        opt.t = ck.header.adam_t;
        let average = match (config.training.ema > 0.0, &ck.average) {
            (true, Some(named)) => Some(Average::from_named(&net, config.training.ema, named)?),
            (true, None) => anyhow::bail!("the checkpoint has no averaged weights for --ema"),
            (false, _) => None,
        };
        Ok(Self {
            config,
            net,
            opt,
            progress: ck.header.progress,
            best: ck.best,
            chord_head,
            average,
        })
    }

    /// Writes the checkpoint (atomically).
    pub fn save_checkpoint(&self) -> Result<(), Error> {
        self.checkpoint()?.save(&self.config.checkpoint)?;
        Ok(())
    }

    /// Checks, before any training, that the model file and the checkpoint
    /// can be written: their folders exist, and a temporary file of each,
    /// as large as the real one, is written, synced and removed, with both
    /// present at once. So a read-only folder or a full disk is an error now
    /// rather than after the first epoch. Temporary files a killed run left
    /// beside them are removed first (and reported).
    pub fn prepare_outputs(
        &self,
        data: &Dataset,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), Error> {
        let targets = [
            (&self.config.out, "model file"),
            (&self.config.checkpoint, "checkpoint"),
        ];
        for (path, what) in targets {
            check_output_path(path, what)?;
            let removed = crate::checkpoint::remove_stale_temps(path);
            if !removed.is_empty() {
                let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
                on_event(Event::Note(format!(
                    "removed {} temporary file(s) a killed run left: {}",
                    removed.len(),
                    names.join(", ")
                )));
            }
        }
        let model = bach_engine::file::to_bytes(&self.file_meta(data), &self.model_tensors()?)?;
        let checkpoint = self.checkpoint()?.to_bytes(&self.config.checkpoint)?;
        let mut written: Vec<PathBuf> = Vec::new();
        let mut result = Ok(());
        for ((path, what), bytes) in targets.into_iter().zip([&model, &checkpoint]) {
            // `check_output_path` above made sure each has a file name.
            let tmp = bach_engine::file::temp_path(path)?;
            written.push(tmp.clone());
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(&tmp)?;
                std::io::Write::write_all(&mut f, bytes)?;
                f.sync_all()
            };
            if let Err(e) = write() {
                result = Err(anyhow::anyhow!(
                    "cannot write the {what} {} (checked before training): {e}",
                    path.display()
                ));
                break;
            }
        }
        for tmp in written {
            let _ = std::fs::remove_file(tmp);
        }
        result
    }

    /// The weights the model file gets: the best so far, else the current ones.
    fn model_tensors(&self) -> Result<Vec<NamedTensor>, Error> {
        Ok(match &self.best {
            Some(b) => b.clone(),
            None => self.current_weights()?,
        })
    }

    /// The weights the run would judge and write now: the average with
    /// `--ema`, else the raw ones.
    pub fn current_weights(&self) -> Result<Vec<NamedTensor>, Error> {
        Ok(match &self.average {
            Some(a) => a.named()?,
            None => self.net.tensors()?,
        })
    }

    /// The checkpoint of the run as it stands.
    pub fn checkpoint(&self) -> Result<Checkpoint, Error> {
        let named = trained_vars(&self.net, self.chord_head.as_ref());
        let to_named = |ts: &[candle_core::Tensor]| -> candle_core::Result<Vec<NamedTensor>> {
            named
                .iter()
                .zip(ts)
                .map(|((n, _), t)| Ok((n.clone(), t.dims().to_vec(), t.flatten_all()?.to_vec1()?)))
                .collect()
        };
        let ck = Checkpoint {
            header: Header {
                config: self.config.clone(),
                meta: self.net.meta.clone(),
                progress: self.progress.clone(),
                adam_t: self.opt.t,
            },
            params: to_named(
                &named
                    .iter()
                    .map(|(_, v)| v.as_tensor().clone())
                    .collect::<Vec<_>>(),
            )?,
            adam_m: to_named(&self.opt.m)?,
            adam_v: to_named(&self.opt.v)?,
            best: self.best.clone(),
            average: self.average.as_ref().map(Average::named).transpose()?,
        };
        Ok(ck)
    }

    /// Metadata for the model file, with provenance.
    fn file_meta(&self, data: &Dataset) -> ModelMeta {
        let mut meta = self.net.meta.clone();
        meta.training = Some(crate::provenance::record(
            &self.config,
            &meta,
            data,
            self.progress.history.len(),
            self.progress.best_valid,
            self.progress.test_nll,
        ));
        meta
    }

    /// Writes the best weights so far to the model file.
    fn save_model(&self, data: &Dataset) -> Result<(), Error> {
        bach_engine::file::save(
            &self.config.out,
            &self.file_meta(data),
            &self.model_tensors()?,
        )?;
        Ok(())
    }

    /// Trains until the last epoch, early stopping, or a stop request.
    pub fn run(
        &mut self,
        data: &Dataset,
        control: &Control,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Outcome, Error> {
        let ranges = data.ranges();
        let knows_key = self.net.meta.knows_key();
        let n = data.train.len();
        let batches = n.div_ceil(self.config.training.batch);
        let mut batches_this_run = 0usize;
        self.prepare_outputs(data, on_event)?;
        while !self.progress.finished && self.progress.epoch < self.config.epochs {
            let epoch = self.progress.epoch;
            let mut order: Vec<usize> = (0..n).collect();
            Rng::derive(self.config.training.seed, &[SHUFFLE_STREAM, epoch as u64])
                .shuffle(&mut order);
            on_event(Event::EpochStart {
                epoch: epoch + 1,
                epochs: self.config.epochs,
                batches,
                done: self.progress.batch,
            });
            let clock = Instant::now();
            while self.progress.batch < batches {
                let b = self.progress.batch;
                let mut rng = Rng::derive(
                    self.config.training.seed,
                    &[BATCH_STREAM, epoch as u64, b as u64],
                );
                let (group, silenced): (Vec<Piece>, Vec<Silenced>) = order
                    [b * self.config.training.batch..((b + 1) * self.config.training.batch).min(n)]
                    .iter()
                    .map(|&i| {
                        let piece = &data.train[i];
                        // A model that knows keys sees every piece in its
                        // key's frame, so moving it first would change nothing.
                        let moved = match piece.transpositions(&ranges) {
                            Some((lo, hi)) if self.config.training.transpose && !knows_key => {
                                piece.transposed(rng.range_inclusive(lo, hi))
                            }
                            _ => piece.clone(),
                        };
                        // Each annotated piece learns with the melody known
                        // as far ahead as one of the plugin's settings (or
                        // offline's). Others draw nothing, so their runs
                        // stay as they were.
                        let moved = if moved.context().is_some() {
                            let horizon = Horizon::ALL[rng.range_inclusive(0, 3) as usize];
                            moved.with_horizon(horizon)
                        } else {
                            moved
                        };
                        // Some open with the melody alone, as continue
                        // mode plays (none unless asked: other runs draw
                        // nothing more, so they stay as they were).
                        match self.config.training.lone_openings {
                            share if share > 0.0 => lone::maybe_lone(moved, share, &mut rng),
                            _ => (moved, Silenced::default()),
                        }
                    })
                    .unzip();
                let progress_frac =
                    (epoch as f64 + b as f64 / batches as f64) / self.config.epochs as f64;
                let lr = learning_rate(
                    self.config.training.lr,
                    progress_frac,
                    self.config.training.warmup,
                    self.config.training.lr_floor,
                );
                let (loss, steps) = self.train_batch(&group, &silenced, lr, &mut rng)?;
                self.progress.epoch_loss += loss;
                self.progress.epoch_steps += steps;
                self.progress.batch += 1;
                batches_this_run += 1;
                on_event(Event::Batch {
                    batch: b + 1,
                    batches,
                    loss: loss / steps.max(1) as f64,
                    lr,
                });
                let stop_requested = control.stop.is_some_and(|s| s.load(Ordering::SeqCst))
                    || control
                        .stop_after_batches
                        .is_some_and(|k| batches_this_run >= k);
                if stop_requested {
                    self.progress.epoch_seconds += clock.elapsed().as_secs_f64();
                    self.save_checkpoint()?;
                    return Ok(Outcome::Stopped {
                        checkpoint: self.config.checkpoint.clone(),
                    });
                }
            }
            // Validation (the standard metric) and the best model, both of
            // the averaged weights where the run keeps an average.
            let judged = self.average.as_ref().map_or(&self.net, Average::network);
            let valid = if data.valid.is_empty() {
                None
            } else {
                Some(eval::evaluate(judged, &data.valid)?.nll)
            };
            let train_nll = self.progress.epoch_loss / self.progress.epoch_steps.max(1) as f64;
            let score = valid.unwrap_or(train_nll);
            let improved = score.is_finite() && self.progress.best_valid.is_none_or(|b| score < b);
            if improved {
                self.progress.best_valid = Some(score);
                self.progress.best_epoch = Some(epoch + 1);
                self.progress.bad_epochs = 0;
                self.best = Some(self.current_weights()?);
            } else {
                self.progress.bad_epochs += 1;
            }
            let record = EpochRecord {
                epoch: epoch + 1,
                train_nll,
                valid_nll: valid,
                lr: learning_rate(
                    self.config.training.lr,
                    (epoch + 1) as f64 / self.config.epochs as f64,
                    self.config.training.warmup,
                    self.config.training.lr_floor,
                ),
                seconds: self.progress.epoch_seconds + clock.elapsed().as_secs_f64(),
            };
            self.progress.history.push(record.clone());
            self.progress.epoch += 1;
            self.progress.batch = 0;
            self.progress.epoch_loss = 0.0;
            self.progress.epoch_steps = 0;
            self.progress.epoch_seconds = 0.0;
            // Saved before it is reported: an epoch the log shows is never
            // lost to a kill (a kill loses at most the epoch under way).
            if improved {
                self.save_model(data)?;
            }
            self.save_checkpoint()?;
            on_event(Event::EpochEnd(&record, improved));
            if self.config.training.patience > 0
                && self.progress.bad_epochs >= self.config.training.patience
            {
                on_event(Event::Note(format!(
                    "early stop: no better validation NLL for {} epochs",
                    self.progress.bad_epochs
                )));
                break;
            }
        }
        // The weights the model file gets are the result: the best judged
        // (with `--ema`, the average's), else the current ones.
        self.net.set_tensors(&self.model_tensors()?)?;
        if !data.test.is_empty() {
            self.progress.test_nll = Some(eval::evaluate(&self.net, &data.test)?.nll);
        }
        self.progress.finished = true;
        self.save_model(data)?;
        self.save_checkpoint()?;
        Ok(Outcome::Finished {
            best_valid: self.progress.best_valid,
            test_nll: self.progress.test_nll,
        })
    }

    /// One batch of pieces: every chunk of `seq_len` steps is one update.
    /// Returns the summed loss and the number of steps it covers.
    pub fn train_batch(
        &mut self,
        group: &[Piece],
        silenced: &[Silenced],
        lr: f64,
        rng: &mut Rng,
    ) -> Result<(f64, usize), Error> {
        let refs: Vec<&Piece> = group.iter().collect();
        let longest = refs.iter().map(|p| p.len()).max().unwrap_or(0);
        let mut state = self.net.zero_state(refs.len())?;
        let mut total = 0.0;
        let mut steps = 0;
        let mut start = 0;
        while start < longest {
            let len = self.config.training.seq_len.min(longest - start);
            let chunk = batch::chunk(
                &self.net.meta,
                &refs,
                start,
                len,
                0,
                silenced,
                &self.net.device,
            )?;
            start += len;
            if chunk.scored == 0 {
                continue;
            }
            let w = self.net.weights(true)?;
            let mut dropout = Dropout {
                p: self.config.training.dropout,
                rng,
            };
            let (top, next) = w.run(&chunk.inputs, &state, Some(&mut dropout))?;
            let mut head_dropout = Dropout {
                p: self.config.training.head_dropout,
                rng: dropout.rng,
            };
            let (sum, _) = w.nll(self.net.meta.kind, &top, &chunk, Some(&mut head_dropout))?;
            let mut mean = (&sum / chunk.scored as f64)?;
            if let Some(head) = &self.chord_head {
                // The chord each step's voices form, from the state before it.
                let labels =
                    chord_aux::targets(&self.net.meta, &refs, start - len, len, &self.net.device)?;
                let aux = head.nll(&top, &labels, &chunk.mask)?;
                mean = (mean + (aux * (self.config.training.chord_aux / chunk.scored as f64))?)?;
            }
            let grads = mean.backward()?;
            let info = self.opt.step(&grads, lr)?;
            if info.applied {
                self.progress.updates += 1;
                if let Some(average) = &mut self.average {
                    average.update(&self.net, self.progress.updates)?;
                }
            } else {
                self.progress.skipped_updates += 1;
            }
            total += sum.to_scalar::<f32>()? as f64;
            steps += chunk.scored;
            state = next.detach();
        }
        Ok((total, steps))
    }
}

/// Every trained `(name, var)`: the model's, then, with `--chord-aux`, the
/// chord head's. The optimizer's moments and the checkpoint follow this order.
fn trained_vars(net: &Network, chord_head: Option<&ChordHead>) -> Vec<(String, Var)> {
    let mut all = net.params.clone();
    all.extend(chord_head.into_iter().flat_map(ChordHead::named));
    all
}

/// The optimizer over [`trained_vars`] (named, so a checkpoint keeps the
/// head's moments apart from the model's).
fn optimizer(
    net: &Network,
    chord_head: Option<&ChordHead>,
    config: &TrainConfig,
) -> Result<AdamW, Error> {
    let (names, vars): (Vec<String>, Vec<Var>) = trained_vars(net, chord_head).into_iter().unzip();
    Ok(AdamW::new(vars, &names, config.training.optim.clone())?)
}

/// A cheap check of an output path, before the dataset is even read: its
/// folder exists and is a folder, and the path is not a folder itself.
pub fn check_output_path(path: &Path, what: &str) -> Result<(), Error> {
    let Some(dir) = bach_engine::file::parent_dir(path) else {
        anyhow::bail!("the {what} path {} has no file name", path.display());
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => anyhow::bail!(
            "cannot write the {what} {}: {} is not a folder",
            path.display(),
            dir.display()
        ),
        Err(e) => anyhow::bail!(
            "cannot write the {what} {}: its folder {} cannot be used: {e}",
            path.display(),
            dir.display()
        ),
    }
    if path.is_dir() {
        anyhow::bail!("cannot write the {what} {}: it is a folder", path.display());
    }
    Ok(())
}

fn check_config(c: &TrainConfig) -> Result<(), Error> {
    if !(1..=3).contains(&c.net.layers) {
        anyhow::bail!("--layers must be 1 to 3, not {}", c.net.layers);
    }
    if c.net.hidden == 0 || c.net.hidden > bach_engine::meta::MAX_HIDDEN {
        anyhow::bail!(
            "--hidden must be 1 to {}, not {}",
            bach_engine::meta::MAX_HIDDEN,
            c.net.hidden
        );
    }
    if c.training.batch == 0 || c.training.seq_len == 0 || c.epochs == 0 {
        anyhow::bail!("--batch, --seq-len and --epochs must be at least 1");
    }
    if !(c.training.lr.is_finite() && c.training.lr > 0.0) {
        anyhow::bail!("--lr must be a positive number, not {}", c.training.lr);
    }
    if c.net.head_hidden > bach_engine::meta::MAX_HIDDEN {
        anyhow::bail!(
            "--head-hidden must be 0 to {}, not {}",
            bach_engine::meta::MAX_HIDDEN,
            c.net.head_hidden
        );
    }
    if !(0.0..1.0).contains(&c.training.dropout) {
        anyhow::bail!("--dropout must be in [0, 1), not {}", c.training.dropout);
    }
    if !(0.0..1.0).contains(&c.training.head_dropout) {
        anyhow::bail!(
            "--head-dropout must be in [0, 1), not {}",
            c.training.head_dropout
        );
    }
    if c.training.head_dropout > 0.0 && c.net.head_hidden == 0 {
        anyhow::bail!("--head-dropout acts on the heads' hidden layers: it needs --head-hidden");
    }
    if !(0.0..=1.0).contains(&c.training.lone_openings) {
        anyhow::bail!(
            "--lone-openings must be a share from 0 to 1, not {}",
            c.training.lone_openings
        );
    }
    if !(0.0..1.0).contains(&c.training.ema) {
        anyhow::bail!(
            "--ema must be a decay in [0, 1) (0: off), not {}",
            c.training.ema
        );
    }
    if !(0.0..=10.0).contains(&c.training.chord_aux) {
        anyhow::bail!(
            "--chord-aux must be a weight from 0 to 10, not {}",
            c.training.chord_aux
        );
    }
    Ok(())
}
