//! How the command-line programs (`bach`, `bach-trainer`) print an error:
//! one line, the error and its causes, each cause's first line only (candle
//! attaches backtraces to its messages when RUST_BACKTRACE is set).

use std::error::Error;

/// The error and its causes (`chain`, outermost first) on one line, joined
/// by ": ", leaving out empty causes and causes the line already ends with
/// (a message that quotes its cause).
pub fn error_line<'a>(chain: impl IntoIterator<Item = &'a (dyn Error + 'static)>) -> String {
    let mut causes: Vec<String> = Vec::new();
    for c in chain {
        let line = c.to_string().lines().next().unwrap_or("").trim().to_owned();
        if !line.is_empty() && !causes.last().is_some_and(|l| l.ends_with(&line)) {
            causes.push(line);
        }
    }
    causes.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);

    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for E {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn causes_on_one_line_without_repeats_or_backtraces() {
        let e = E(
            "reading m.safetensors",
            Some(Box::new(E(
                "bad header\nstack backtrace: ...",
                Some(Box::new(E("bad header", None))),
            ))),
        );
        let mut chain: Vec<&(dyn Error + 'static)> = vec![&e];
        let mut at: &(dyn Error + 'static) = &e;
        while let Some(next) = at.source() {
            chain.push(next);
            at = next;
        }
        assert_eq!(error_line(chain), "reading m.safetensors: bad header");
    }
}
