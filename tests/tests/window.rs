//! The plugin's window, seen as a musician sees it: the standalone build
//! of Bach Instrument
//! (`bach-standalone --backend dummy`, no audio device) opened under a
//! virtual X server, captured, and checked: the expected size, not blank,
//! and its words read back by OCR. Glyph-less fonts draw every letter as a
//! box, which this test reads as no words at all.
//!
//! Needs Xvfb, xwd and tesseract (`.ci/run` installs them). Outside CI it
//! skips, saying why, when they are missing. `BACH_UPDATE_SCREENSHOT=1`
//! also writes the capture to `docs/window.png`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The window's size in pixels at scale 1 (`BachParams::editor_state`).
const WIDTH: usize = 720;
const HEIGHT: usize = 904;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills a child process when the test ends, however it ends.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An RGB image.
struct Image {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

impl Image {
    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.pixels[y * self.width + x]
    }

    fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Image {
        let mut pixels = Vec::with_capacity(w * h);
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                pixels.push(self.at(x, y));
            }
        }
        Image {
            width: w,
            height: h,
            pixels,
        }
    }

    /// The smallest rectangle holding every pixel that is not the root
    /// window's black: where the plugin's window is.
    fn content(&self) -> Option<(usize, usize, usize, usize)> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..self.height {
            for x in 0..self.width {
                if self.at(x, y) != [0, 0, 0] {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
        }
        (x0 != usize::MAX).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
    }

    fn write_png(&self, path: &Path, scale: usize, invert: bool) {
        let file = std::fs::File::create(path).expect("screenshot file");
        let mut encoder = png::Encoder::new(
            std::io::BufWriter::new(file),
            (self.width * scale) as u32,
            (self.height * scale) as u32,
        );
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut data = Vec::with_capacity(self.width * self.height * 3 * scale * scale);
        for y in 0..self.height * scale {
            for x in 0..self.width * scale {
                let p = self.at(x / scale, y / scale);
                data.extend(p.map(|c| if invert { 255 - c } else { c }));
            }
        }
        let mut writer = encoder.write_header().expect("png header");
        writer.write_image_data(&data).expect("png data");
    }
}

fn u32_at(bytes: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]])
}

/// Reads an X window dump (`xwd`, ZPixmap, 24- or 32-bit true colour).
fn parse_xwd(bytes: &[u8]) -> Image {
    let field = |n: usize| u32_at(bytes, n * 4) as usize;
    let (header, format) = (field(0), field(2));
    let (width, height) = (field(4), field(5));
    let (byte_order, bpp, stride) = (field(7), field(11), field(12));
    let (red, green, blue) = (field(14) as u32, field(15) as u32, field(16) as u32);
    let colours = field(19);
    assert_eq!(format, 2, "xwd: ZPixmap expected");
    assert!(bpp == 32 || bpp == 24, "xwd: {bpp} bits per pixel");
    let data = &bytes[header + colours * 12..];
    let channel = |v: u32, mask: u32| ((v & mask) >> mask.trailing_zeros()) as u8;
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let i = y * stride + x * bpp / 8;
            let mut b = [0u8; 4];
            b[..bpp / 8].copy_from_slice(&data[i..i + bpp / 8]);
            let v = if byte_order == 0 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b) >> (32 - bpp)
            };
            pixels.push([channel(v, red), channel(v, green), channel(v, blue)]);
        }
    }
    Image {
        width,
        height,
        pixels,
    }
}

fn capture(display: &str) -> Option<Image> {
    let out = Command::new("xwd")
        .args(["-root", "-silent", "-display", display])
        .output()
        .ok()?;
    (out.status.success() && out.stdout.len() > 100).then(|| parse_xwd(&out.stdout))
}

fn ocr(image: &Image, dir: &Path) -> String {
    // Tesseract reads dark text on light best, and small UI text better
    // when enlarged.
    let path = dir.join("window-ocr.png");
    image.write_png(&path, 2, true);
    let out = Command::new("tesseract")
        .arg(&path)
        .arg("stdout")
        .args(["--psm", "11"])
        .output()
        .expect("tesseract runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_window_draws_readable_controls() {
    let missing: Vec<_> = ["Xvfb", "xwd", "tesseract"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {missing:?} (see .ci/run)"
        );
        println!(
            "skipped: {missing:?} not installed (apt-get install xvfb x11-apps tesseract-ocr)"
        );
        return;
    }
    let program = target().join("debug").join("bach-standalone");
    assert!(
        program.exists(),
        "{} is missing: build it with `cargo build -p bach-plugin --features standalone --bin bach-standalone`",
        program.display()
    );

    // A display number of our own, so parallel runs do not collide.
    let number = 90 + std::process::id() % 400;
    let display = format!(":{number}");
    let _xvfb = Guard(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1024x1024x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts"),
    );
    // Xvfb makes its socket before it answers; on a loaded machine the gap
    // is long enough for the program to find no display and open no window.
    // So wait until the server answers a request (a capture of the screen).
    let start = Instant::now();
    while capture(&display).is_none() && start.elapsed() < Duration::from_secs(30) {
        sleep(Duration::from_millis(200));
    }
    assert!(
        capture(&display).is_some(),
        "Xvfb did not answer on {display} within 30 s"
    );

    let log = target().join("window-test.log");
    let _plugin = Guard(
        Command::new(&program)
            .args(["--backend", "dummy"])
            .env("DISPLAY", &display)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("bach-standalone starts"),
    );

    // Wait for the window to draw its text; egui paints the first frames
    // before the fonts are uploaded, so wait for two equal captures of its
    // upper half.
    let start = Instant::now();
    let mut last: Option<Vec<[u8; 3]>> = None;
    let window = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no stable window of {WIDTH}x{HEIGHT} within 60 s; standalone log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        sleep(Duration::from_millis(500));
        let Some(screen) = capture(&display) else {
            continue;
        };
        let Some((x, y, w, h)) = screen.content() else {
            continue;
        };
        if w != WIDTH || h != HEIGHT {
            continue;
        }
        let window = screen.crop(x, y, w, h);
        // The roll scrolls with the transport: compare the controls above it.
        let controls = window.pixels[..WIDTH * HEIGHT / 2].to_vec();
        if last.as_ref() == Some(&controls) {
            break window;
        }
        last = Some(controls);
    };

    let dir = target();
    window.write_png(&dir.join("window.png"), 1, false);
    if std::env::var_os("BACH_UPDATE_SCREENSHOT").is_some() {
        window.write_png(&root().join("docs").join("window.png"), 1, false);
    }

    // Not blank: many colours (text is antialiased), a dark panel.
    let mut colours: Vec<[u8; 3]> = window.pixels.clone();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 50,
        "only {} colours: blank window",
        colours.len()
    );

    let text = ocr(&window, &dir);
    let words = [
        "Bach",
        "Model",
        "Harmonize",
        "Continue",
        "Temperature",
        "Seed",
        "Soprano",
        "Alto",
        "Tenor",
        "Bass",
        "channel",
        "silence",
        "Key",
        "Lookahead",
        "Timing",
        "Preview",
        "Export",
        // The chord labels' switch over the roll.
        "Chords",
        "Numerals",
    ];
    let read: Vec<_> = words.iter().filter(|w| text.contains(*w)).collect();
    assert!(
        read.len() >= words.len() - 2,
        "OCR read {read:?} of {words:?} from the window; it read:\n{text}"
    );
}
