//! Capture manifests: CSV with a header naming its columns, `capture` (a path, relative to the
//! manifest's folder unless absolute) and any of `device`, `model`, `firmware` (`analyze --out DIR
//! --manifest`). Quoting as RFC 4180; a UTF-8 byte-order mark and CRLF line ends are taken.
//! Bounded: [`MAX_MANIFEST_BYTES`], [`MAX_MANIFEST_ROWS`], lines of [`MAX_MANIFEST_LINE`]
//! bytes. Errors name the line.

use std::path::{Path, PathBuf};

/// Most rows a manifest may have.
pub const MAX_MANIFEST_ROWS: usize = 100_000;
/// Largest manifest read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Longest manifest line, in bytes.
pub const MAX_MANIFEST_LINE: usize = 8192;

/// What a manifest says of one capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    /// The device it is a capture of.
    pub device: Option<String>,
    /// Its model.
    pub model: Option<String>,
    /// Its firmware or OS build.
    pub firmware: Option<String>,
}

/// A manifest: labels by capture path, in file order.
#[derive(Debug, Default)]
pub struct Manifest {
    /// (capture path, labels), in file order.
    pub rows: Vec<(PathBuf, Labels)>,
}

/// Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `""` for a quote).
fn csv_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') if cur.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, '"') => return Err("a quote inside an unquoted field"),
            (false, ',') => {
                fields.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed");
    }
    fields.push(cur);
    Ok(fields)
}

impl Manifest {
    /// Reads a manifest of at most [`MAX_MANIFEST_BYTES`]; errors name the file and line.
    ///
    /// # Errors
    /// `path: why` or `path:line: why`.
    pub fn read(path: &Path) -> Result<Self, String> {
        use std::io::Read as _;
        let mut text = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut text))
            .map_err(|e| format!("{}: cannot read the manifest: {e}", path.display()))?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(format!("{}: larger than {MAX_MANIFEST_BYTES} bytes", path.display()));
        }
        let text = String::from_utf8(text)
            .map_err(|e| format!("{}: not UTF-8 text: {e}", path.display()))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
    }

    /// Parses manifest text; paths are taken relative to `base`.
    ///
    /// # Errors
    /// `(line, why)`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, (usize, String)> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let (n, header) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()).ok_or((
            1,
            "the manifest is empty: a header line (capture,device,model,firmware) is needed"
                .to_owned(),
        ))?;
        let names: Vec<String> = csv_fields(header)
            .map_err(|e| (n, e.to_owned()))?
            .into_iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let col = |name: &str| names.iter().position(|h| h == name);
        let capture =
            col("capture").ok_or((n, format!("no `capture` column in the header {header:?}")))?;
        if let Some(unknown) = names
            .iter()
            .find(|h| !matches!(h.as_str(), "capture" | "device" | "model" | "firmware"))
        {
            return Err((
                n,
                format!("unknown column {unknown:?} (capture, device, model, firmware)"),
            ));
        }
        let (device, model, firmware) = (col("device"), col("model"), col("firmware"));
        let mut rows = Vec::new();
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            if line.len() > MAX_MANIFEST_LINE {
                return Err((n, format!("a line longer than {MAX_MANIFEST_LINE} bytes")));
            }
            if rows.len() == MAX_MANIFEST_ROWS {
                return Err((n, format!("more than {MAX_MANIFEST_ROWS} rows")));
            }
            let f = csv_fields(line).map_err(|e| (n, e.to_owned()))?;
            if f.len() != names.len() {
                return Err((
                    n,
                    format!("{} fields where the header has {}", f.len(), names.len()),
                ));
            }
            let get = |i: Option<usize>| {
                i.and_then(|i| f.get(i)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
            };
            let Some(path) = get(Some(capture)) else {
                return Err((n, "an empty capture".to_owned()));
            };
            let labels = Labels { device: get(device), model: get(model), firmware: get(firmware) };
            rows.push((base.join(path), labels));
        }
        Ok(Self { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_read_with_quotes_and_errors_name_the_line() {
        let m = Manifest::parse(
            "\u{feff}Capture,Device,Model,Firmware\r\na.pcap,redmi-1,\"Redmi 1S\",\"MIUI \"\"V5\"\"\"\n\nb.pcap,,,\n",
            Path::new("/lab"),
        )
        .unwrap();
        assert_eq!(m.rows.len(), 2);
        assert_eq!(m.rows[0].0, Path::new("/lab/a.pcap"));
        assert_eq!(
            m.rows[0].1,
            Labels {
                device: Some("redmi-1".into()),
                model: Some("Redmi 1S".into()),
                firmware: Some("MIUI \"V5\"".into())
            }
        );
        assert_eq!(m.rows[1].1, Labels::default());
        let abs = Manifest::parse("capture\n/data/c.pcap\n", Path::new("/lab")).unwrap();
        assert_eq!(abs.rows[0].0, Path::new("/data/c.pcap"), "an absolute path stays");
        let err = |t: &str| Manifest::parse(t, Path::new(".")).unwrap_err();
        assert_eq!(err("").0, 1);
        assert_eq!(err("device\nx\n").0, 1, "no capture column");
        assert_eq!(err("capture,colour\n").0, 1, "unknown column");
        assert_eq!(err("capture,device\na.pcap,x\nb.pcap\n").0, 3, "a field short");
        assert_eq!(err("capture\n\"a.pcap\n").0, 2, "an open quote");
        assert_eq!(err("capture\na\"b\n").0, 2, "a stray quote");
        assert_eq!(err("capture,device\n,x\n").0, 2, "no capture");
    }
}
