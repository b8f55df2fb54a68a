//! A minimal PNG encoder for the captcha: one 8-bit indexed-colour image, written as zlib
//! "stored" (uncompressed) deflate blocks. A 120×40 picture is under 5 KB that way, which is
//! not worth a compression library (the `png` crate would add a second `miniz_oxide`).

/// The eight bytes every PNG file starts with.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The largest payload of one stored deflate block.
const STORED_MAX: usize = 65_535;

/// Encodes `pixels` (row by row, one palette index per pixel) with the given palette.
///
/// Panics if `pixels` does not hold `width * height` entries or the palette is empty or
/// larger than 256 colours: both are programming errors, never input.
pub fn encode_indexed(width: u32, height: u32, palette: &[[u8; 3]], pixels: &[u8]) -> Vec<u8> {
    assert_eq!(
        pixels.len(),
        width as usize * height as usize,
        "pixel count"
    );
    assert!(!palette.is_empty() && palette.len() <= 256, "palette size");

    // Each scanline is preceded by its filter type; 0 (None) keeps the encoder trivial.
    let row = width as usize;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in pixels.chunks(row) {
        raw.push(0);
        raw.extend_from_slice(line);
    }

    let mut out = Vec::with_capacity(raw.len() + 128 + palette.len() * 3);
    out.extend_from_slice(&SIGNATURE);

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 3 (indexed), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);

    let plte: Vec<u8> = palette.iter().flatten().copied().collect();
    chunk(&mut out, b"PLTE", &plte);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream (RFC 1950) holding `data` in stored deflate blocks (RFC 1951 §3.2.4).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let blocks = data.len().div_ceil(STORED_MAX).max(1);
    let mut out = Vec::with_capacity(data.len() + blocks * 5 + 6);
    // CMF: deflate with a 32 KiB window; FLG: no dictionary, check bits make 0x7801 % 31 == 0.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut pieces = data.chunks(STORED_MAX).peekable();
    if pieces.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        out.push(u8::from(last)); // BFINAL, BTYPE = 00 (stored)
        let len = piece.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

pub(crate) fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the longest run whose sums cannot overflow u32 before the reduction.
    for block in data.chunks(5552) {
        for &byte in block {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// CRC-32 (ISO 3309, the polynomial PNG uses), table-driven.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    let mut c = 0xffff_ffffu32;
    for &byte in data {
        c = TABLE[((c ^ u32::from(byte)) & 0xff) as usize] ^ (c >> 8);
    }
    c ^ 0xffff_ffff
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A decoded image as the tests need it.
    pub struct Decoded {
        pub width: u32,
        pub height: u32,
        pub palette: Vec<[u8; 3]>,
        pub pixels: Vec<u8>,
    }

    /// Reads back what [`encode_indexed`] writes, checking every CRC, the zlib header, the
    /// stored blocks and the Adler-32; panics on anything else.
    pub fn decode(png: &[u8]) -> Decoded {
        assert_eq!(&png[..8], &SIGNATURE, "PNG signature");
        let mut pos = 8;
        let (mut width, mut height, mut palette, mut idat) = (0, 0, Vec::new(), Vec::new());
        let mut kinds = Vec::new();
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            let kind = &png[pos + 4..pos + 8];
            let data = &png[pos + 8..pos + 8 + len];
            let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&png[pos + 4..pos + 8 + len]), "CRC of a chunk");
            kinds.push(String::from_utf8(kind.to_vec()).unwrap());
            match kind {
                b"IHDR" => {
                    assert_eq!(len, 13);
                    width = u32::from_be_bytes(data[0..4].try_into().unwrap());
                    height = u32::from_be_bytes(data[4..8].try_into().unwrap());
                    assert_eq!(&data[8..], &[8, 3, 0, 0, 0]);
                }
                b"PLTE" => palette = data.chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            pos += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "PLTE", "IDAT", "IEND"]);
        assert_eq!(
            u16::from_be_bytes([idat[0], idat[1]]) % 31,
            0,
            "zlib header check"
        );
        let mut raw = Vec::new();
        let mut p = 2;
        loop {
            let header = idat[p];
            assert_eq!(header & 0b110, 0, "stored block");
            let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]);
            let nlen = u16::from_le_bytes([idat[p + 3], idat[p + 4]]);
            assert_eq!(len, !nlen);
            raw.extend_from_slice(&idat[p + 5..p + 5 + len as usize]);
            p += 5 + len as usize;
            if header & 1 == 1 {
                break;
            }
        }
        assert_eq!(
            u32::from_be_bytes(idat[p..p + 4].try_into().unwrap()),
            adler32(&raw)
        );
        assert_eq!(p + 4, idat.len(), "nothing after the zlib stream");
        let stride = width as usize + 1;
        assert_eq!(raw.len(), stride * height as usize);
        let mut pixels = Vec::new();
        for line in raw.chunks(stride) {
            assert_eq!(line[0], 0, "filter type None");
            pixels.extend_from_slice(&line[1..]);
        }
        Decoded {
            width,
            height,
            palette,
            pixels,
        }
    }

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(&[0xff; 100_000]), {
            // Reference computed the slow way, reducing after every byte.
            let (mut a, mut b) = (1u64, 0u64);
            for _ in 0..100_000 {
                a = (a + 0xff) % 65_521;
                b = (b + a) % 65_521;
            }
            ((b << 16) | a) as u32
        });
    }

    #[test]
    fn round_trips_small_and_multi_block_images() {
        let palette = [[255, 255, 255], [0, 0, 0], [200, 30, 30]];
        let pixels: Vec<u8> = (0..12).map(|i| (i % 3) as u8).collect();
        let d = decode(&encode_indexed(4, 3, &palette, &pixels));
        assert_eq!((d.width, d.height), (4, 3));
        assert_eq!(d.palette, palette);
        assert_eq!(d.pixels, pixels);

        // More than one stored block (65 535 bytes each).
        let (w, h) = (400, 200);
        let pixels: Vec<u8> = (0..w * h).map(|i| (i % 2) as u8).collect();
        let d = decode(&encode_indexed(w, h, &palette, &pixels));
        assert_eq!(d.pixels, pixels);
    }
}
