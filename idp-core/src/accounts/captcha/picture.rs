//! Drawing a captcha: each character of the answer from the stroke font, scaled, sheared,
//! turned and shifted on its own, thick strokes in one of a few dark colours, over and under
//! noise lines and dots.

use super::{
    font::{self, GRID_H, GRID_W},
    png,
};

pub const WIDTH: u32 = 120;
pub const HEIGHT: u32 = 40;

/// Palette: the background, then the ink colours of the characters, then the noise colours.
const PALETTE: [[u8; 3]; 8] = [
    [246, 247, 250],
    [22, 60, 118],
    [128, 30, 34],
    [26, 90, 54],
    [74, 42, 112],
    [152, 166, 186],
    [194, 152, 150],
    [146, 174, 146],
];
const BACKGROUND: u8 = 0;
pub(crate) const INK: std::ops::RangeInclusive<u8> = 1..=4;
const NOISE: std::ops::RangeInclusive<u8> = 5..=7;

/// A small deterministic generator (xorshift64*): the picture of one challenge is the same
/// on every request, so reloading its URL offers no new views of the same answer.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[lo, hi)`.
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    fn pick(&mut self, r: std::ops::RangeInclusive<u8>) -> u8 {
        let span = u64::from(r.end() - r.start()) + 1;
        r.start() + (self.next() % span) as u8
    }
}

struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        Canvas {
            pixels: vec![BACKGROUND; (WIDTH * HEIGHT) as usize],
        }
    }

    fn set(&mut self, x: i32, y: i32, color: u8) {
        if (0..WIDTH as i32).contains(&x) && (0..HEIGHT as i32).contains(&y) {
            self.pixels[(y as u32 * WIDTH + x as u32) as usize] = color;
        }
    }

    /// A filled disc of radius `r` around `(x, y)`, judged at pixel centres.
    fn disc(&mut self, x: f32, y: f32, r: f32, color: u8) {
        let (x0, x1) = ((x - r).floor() as i32, (x + r).ceil() as i32);
        let (y0, y1) = ((y - r).floor() as i32, (y + r).ceil() as i32);
        for py in y0..=y1 {
            for px in x0..=x1 {
                let (dx, dy) = (px as f32 + 0.5 - x, py as f32 + 0.5 - y);
                if dx * dx + dy * dy <= r * r {
                    self.set(px, py, color);
                }
            }
        }
    }

    /// A thick line: discs stamped close enough together to leave no gaps.
    fn line(&mut self, a: (f32, f32), b: (f32, f32), r: f32, color: u8) {
        let length = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (length / 0.4).ceil().max(1.0) as i32;
        for i in 0..=steps {
            let t = i as f32 / steps as f32;
            self.disc(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, r, color);
        }
    }
}

/// Draws `answer` (characters of the alphabet) as a PNG; `seed` fixes every random choice.
pub fn render(answer: &str, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut canvas = Canvas::new();
    let (w, h) = (WIDTH as f32, HEIGHT as f32);

    // Speckles under the text.
    for _ in 0..160 {
        let (x, y) = (rng.range(0.0, w) as i32, rng.range(0.0, h) as i32);
        let color = rng.pick(NOISE);
        canvas.set(x, y, color);
    }
    // Straight noise lines under the text.
    for _ in 0..3 {
        let a = (rng.range(0.0, w * 0.3), rng.range(0.0, h));
        let b = (rng.range(w * 0.7, w), rng.range(0.0, h));
        let color = rng.pick(NOISE);
        canvas.line(a, b, 0.6, color);
    }

    let count = answer.chars().count().max(1) as f32;
    let margin = 6.0;
    let cell = (w - 2.0 * margin) / count;
    for (i, c) in answer.chars().enumerate() {
        let Some(strokes) = font::glyph(c) else {
            continue;
        };
        let scale = rng.range(2.9, 3.5);
        let angle = rng.range(-0.32, 0.32);
        let shear = rng.range(-0.25, 0.25);
        let cx = margin + cell * (i as f32 + 0.5) + rng.range(-2.0, 2.0);
        let cy = h / 2.0 + rng.range(-2.5, 2.5);
        let (sin, cos) = angle.sin_cos();
        let place = |(gx, gy): (f32, f32)| {
            let (x, y) = ((gx - GRID_W / 2.0) * scale, (gy - GRID_H / 2.0) * scale);
            let x = x + shear * y;
            (cx + x * cos - y * sin, cy + x * sin + y * cos)
        };
        let ink = rng.pick(INK.clone());
        let thickness = rng.range(1.2, 1.6);
        for stroke in strokes {
            for pair in stroke.windows(2) {
                canvas.line(place(pair[0]), place(pair[1]), thickness, ink);
            }
        }
    }

    // A wavy line in an ink colour across the text, so that colour alone does not separate
    // the characters from the noise.
    let (amplitude, period, phase) = (
        rng.range(3.0, 7.0),
        rng.range(28.0, 60.0),
        rng.range(0.0, 6.3),
    );
    let base = rng.range(h * 0.35, h * 0.65);
    let ink = rng.pick(INK.clone());
    let wave = |x: f32| {
        (
            x,
            base + amplitude * (x / period * std::f32::consts::TAU + phase).sin(),
        )
    };
    let mut x = 0.0;
    while x < w {
        canvas.line(wave(x), wave(x + 2.0), 0.55, ink);
        x += 2.0;
    }
    // Dots over everything.
    for _ in 0..70 {
        let (x, y) = (rng.range(0.0, w), rng.range(0.0, h));
        let color = if rng.next().is_multiple_of(3) {
            rng.pick(INK.clone())
        } else {
            rng.pick(NOISE)
        };
        canvas.disc(x, y, rng.range(0.5, 1.1), color);
    }

    png::encode_indexed(WIDTH, HEIGHT, &PALETTE, &canvas.pixels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::captcha::png::tests::decode;

    #[test]
    fn renders_a_png_of_the_right_size_with_ink() {
        let png = render("AB2C9", 42);
        let d = decode(&png);
        assert_eq!((d.width, d.height), (WIDTH, HEIGHT));
        assert_eq!(d.palette.len(), PALETTE.len());
        let ink = d.pixels.iter().filter(|p| INK.contains(p)).count();
        let background = d.pixels.iter().filter(|&&p| p == BACKGROUND).count();
        // Five thick characters cover a good part of the picture, but not most of it.
        assert!(ink > 400, "ink pixels: {ink}");
        assert!(
            background > d.pixels.len() / 2,
            "background pixels: {background}"
        );
    }

    #[test]
    fn same_seed_same_picture_other_seed_or_answer_other_picture() {
        assert_eq!(render("XY7K3", 1), render("XY7K3", 1));
        assert_ne!(render("XY7K3", 1), render("XY7K3", 2));
        assert_ne!(render("XY7K3", 1), render("XY7K4", 1));
    }
}
