//! The sampler made from a user's settings (the plugin's parameters, the
//! command line's flags): one place that decides what a temperature means.

use crate::sampling::Sampler;

/// The sampler for a user's `temperature` and strict voice leading. A
/// temperature that is not a number plays at 1; a negative one is argmax.
pub fn user_sampler(temperature: f32, strict: bool) -> Sampler {
    Sampler {
        temperature: if temperature.is_finite() {
            temperature.max(0.0)
        } else {
            1.0
        },
        strict,
        ..Sampler::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_temperatures_are_tamed() {
        assert_eq!(user_sampler(0.3, true).temperature, 0.3);
        assert_eq!(user_sampler(-2.0, true).temperature, 0.0);
        assert_eq!(user_sampler(f32::NAN, false).temperature, 1.0);
        assert!(!user_sampler(f32::INFINITY, false).strict);
    }
}
