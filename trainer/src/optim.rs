//! AdamW with global gradient-norm clipping and a warm-up + cosine learning-rate
//! schedule. Written here rather than taken from candle-nn so its moments can
//! be saved in checkpoints and restored exactly.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

/// Hyper-parameters of AdamW (PyTorch's defaults apart from the rate). Two
/// are `train` flags (the doc comment is the help); the rest are fixed.
#[derive(Clone, Debug, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    #[arg(skip = 0.9)]
    pub beta1: f64,
    #[arg(skip = 0.999)]
    pub beta2: f64,
    #[arg(skip = 1e-8)]
    pub eps: f64,
    /// AdamW's decoupled weight decay (weight matrices only).
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Largest global gradient norm (0 turns clipping off).
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    /// How much faster than the schedule the voice-pair score's weights
    /// learn (see [`PAIR_LR_SCALE`]). Files written before it was recorded
    /// trained at 10.
    #[arg(skip = PAIR_LR_SCALE)]
    #[serde(default = "pair_lr_scale_before_it_was_recorded")]
    pub pair_lr_scale: f64,
}

fn pair_lr_scale_before_it_was_recorded() -> f64 {
    10.0
}

impl Default for AdamWConfig {
    fn default() -> Self {
        crate::flags::flag_defaults()
    }
}

/// How much faster than the rest a variable learns. The voice-pair score's
/// weights (`head.{v}.pairs`) are a few dozen log-odds, each fed by
/// thousands of examples per epoch, that must reach several nats (how
/// rarely Bach writes parallels); Adam moves a weight by about the learning
/// rate per update, so at the shared rate they are still far from it when
/// the rest of the network has fitted. Everything else learns at the schedule's rate.
/// 30 rather than 10: on the valid split the network alone wrote fewer
/// parallels (5.6× Bach's rather than 6.1× with lookahead off, 4.4× rather
/// than 5.6× with the whole melody) at the same validation NLL (2.041
/// against 2.036); 100 cost validation NLL (2.055). `models/README.md`.
pub const PAIR_LR_SCALE: f64 = 30.0;

fn lr_scale(name: &str, config: &AdamWConfig) -> f64 {
    if name.ends_with(".pairs") {
        config.pair_lr_scale
    } else {
        1.0
    }
}

/// AdamW over a fixed list of variables.
pub struct AdamW {
    pub config: AdamWConfig,
    vars: Vec<Var>,
    /// Whether weight decay applies to each variable.
    decay: Vec<bool>,
    /// Each variable's learning rate as a multiple of the schedule's.
    lr_scale: Vec<f64>,
    pub m: Vec<Tensor>,
    pub v: Vec<Tensor>,
    /// Updates done so far (for bias correction).
    pub t: u64,
}

/// What one update did.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// False when the gradient was not finite and the update was skipped.
    pub applied: bool,
}

impl AdamW {
    /// `names` says which variables are weights (decayed) and which biases.
    pub fn new(vars: Vec<Var>, names: &[String], config: AdamWConfig) -> Result<Self> {
        let m = vars
            .iter()
            .map(|v| v.zeros_like())
            .collect::<Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(Self {
            decay: names.iter().map(|n| n.contains("weight")).collect(),
            lr_scale: names.iter().map(|n| lr_scale(n, &config)).collect(),
            config,
            vars,
            m,
            v,
            t: 0,
        })
    }

    /// Clips the gradient to the configured norm and applies one update at `lr`.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<StepInfo> {
        let mut gs = Vec::with_capacity(self.vars.len());
        let mut sq = 0f64;
        for var in &self.vars {
            let g = match grads.get(var.as_tensor()) {
                // Detached: a gradient that carries its graph would chain
                // every batch's graph into the moments and never be freed.
                Some(g) => g.detach(),
                None => var.zeros_like()?,
            };
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            gs.push(g);
        }
        let grad_norm = sq.sqrt();
        if !grad_norm.is_finite() {
            return Ok(StepInfo {
                grad_norm,
                applied: false,
            });
        }
        let scale = if self.config.clip > 0.0 && grad_norm > self.config.clip {
            self.config.clip / (grad_norm + 1e-6)
        } else {
            1.0
        };
        self.t += 1;
        let c = &self.config;
        let bc1 = 1.0 - c.beta1.powi(self.t as i32);
        let bc2 = 1.0 - c.beta2.powi(self.t as i32);
        for (i, var) in self.vars.iter().enumerate() {
            let g = gs[i].affine(scale, 0.0)?;
            let m = ((&self.m[i] * c.beta1)? + (&g * (1.0 - c.beta1))?)?;
            let v = ((&self.v[i] * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let m_hat = (&m / bc1)?;
            let v_hat = (&v / bc2)?;
            let mut theta = var.as_tensor().detach();
            if self.decay[i] && c.weight_decay > 0.0 {
                theta = (&theta * (1.0 - lr * c.weight_decay))?;
            }
            let update = (m_hat / (v_hat.sqrt()? + c.eps)?)?;
            var.set(&(theta - (update * (lr * self.lr_scale[i]))?)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(StepInfo {
            grad_norm,
            applied: true,
        })
    }
}

/// Learning rate at `progress` (0 at the start of training, 1 at the end):
/// linear warm-up over the first `warmup` fraction, then cosine decay to
/// `base * floor`.
pub fn learning_rate(base: f64, progress: f64, warmup: f64, floor: f64) -> f64 {
    let p = progress.clamp(0.0, 1.0);
    if warmup > 0.0 && p < warmup {
        return base * (p / warmup).max(0.01);
    }
    let q = if warmup >= 1.0 {
        1.0
    } else {
        (p - warmup) / (1.0 - warmup)
    };
    let cos = 0.5 * (1.0 + (std::f64::consts::PI * q).cos());
    base * (floor + (1.0 - floor) * cos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn schedule_warms_up_then_decays() {
        assert!(learning_rate(1.0, 0.0, 0.1, 0.1) <= 0.011);
        assert!((learning_rate(1.0, 0.1, 0.1, 0.1) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 1.0, 0.1, 0.1) - 0.1).abs() < 1e-12);
        let mid = learning_rate(1.0, 0.55, 0.1, 0.0);
        assert!((mid - 0.5).abs() < 1e-9, "{mid}");
    }

    #[test]
    fn adamw_minimises_a_quadratic_and_clips() {
        let x = Var::new(&[3f32, -4.0], &Device::Cpu).unwrap();
        let mut opt = AdamW::new(
            vec![x.clone()],
            &["weight".into()],
            AdamWConfig {
                weight_decay: 0.0,
                clip: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
        let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
        let info = opt.step(&loss.backward().unwrap(), 0.1).unwrap();
        // Gradient (6, -8) has norm 10; Adam's first step moves each coordinate by lr.
        assert!((info.grad_norm - 10.0).abs() < 1e-5);
        let after: Vec<f32> = x.as_tensor().to_vec1().unwrap();
        assert!(
            (after[0] - 2.9).abs() < 1e-5 && (after[1] + 3.9).abs() < 1e-5,
            "{after:?}"
        );
        for _ in 0..300 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            opt.step(&loss.backward().unwrap(), 0.05).unwrap();
        }
        let end: Vec<f32> = x.as_tensor().to_vec1().unwrap();
        assert!(end.iter().all(|v| v.abs() < 0.1), "{end:?}");
    }

    #[test]
    fn the_pair_weights_learn_faster_by_their_scale() {
        let a = Var::new(&[1f32], &Device::Cpu).unwrap();
        let b = Var::new(&[1f32], &Device::Cpu).unwrap();
        let names = ["head.1.bias".to_string(), "head.1.pairs".to_string()];
        let mut opt =
            AdamW::new(vec![a.clone(), b.clone()], &names, AdamWConfig::default()).unwrap();
        let loss = (a.as_tensor() + b.as_tensor()).unwrap().sum_all().unwrap();
        opt.step(&loss.backward().unwrap(), 0.01).unwrap();
        let moved = |v: &Var| 1.0 - v.as_tensor().to_vec1::<f32>().unwrap()[0];
        assert!((moved(&a) - 0.01).abs() < 1e-5, "{}", moved(&a));
        assert!(
            (moved(&b) - 0.01 * PAIR_LR_SCALE as f32).abs() < 1e-5,
            "{}",
            moved(&b)
        );
    }
}
