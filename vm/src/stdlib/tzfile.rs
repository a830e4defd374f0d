//! The local time zone for `time.localtime`/`mktime` (stdlib stage): a reader of the tz
//! database's binary files (TZif, RFC 8536), as the C library reads them.
//!
//! The zone is `$TZ` (`:Europe/Paris`, `Europe/Paris`, a path, or `UTC`/`GMT`) or else
//! `/etc/localtime`, read once, and again on `time.tzset()` with `TZ` as `os.environ` has it
//! then (minivm's `os.environ` is a plain dict, not the process's environment). A time past the file's
//! last transition keeps the last offset (the file's POSIX rule for later years is not read).

use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// One local time type of a zone: offset east of UTC, daylight saving flag, abbreviation.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalType {
    pub utoff: i64,
    pub isdst: bool,
    pub abbrev: String,
}

/// A zone: its transition instants and the type that starts at each.
#[derive(Debug)]
pub struct Zone {
    transitions: Vec<(i64, usize)>,
    types: Vec<LocalType>,
}

impl Zone {
    fn utc() -> Zone {
        Zone {
            transitions: Vec::new(),
            types: vec![LocalType {
                utoff: 0,
                isdst: false,
                abbrev: "UTC".into(),
            }],
        }
    }

    /// The local time type in force at `t` (seconds since the epoch).
    pub fn at(&self, t: i64) -> &LocalType {
        let later = self.transitions.partition_point(|&(when, _)| when <= t);
        let index = match later.checked_sub(1) {
            Some(i) => self.transitions[i].1,
            // Before the first transition: the first standard-time type (RFC 8536 3.2).
            None => self.types.iter().position(|ty| !ty.isdst).unwrap_or(0),
        };
        &self.types[index.min(self.types.len() - 1)]
    }
}

/// The zone in use: none yet, or the one read for the current `TZ`.
fn cell() -> &'static Mutex<Option<Arc<Zone>>> {
    static ZONE: OnceLock<Mutex<Option<Arc<Zone>>>> = OnceLock::new();
    ZONE.get_or_init(|| Mutex::new(None))
}

/// The current local zone (read on first use).
pub fn local() -> Result<Arc<Zone>, String> {
    let mut slot = cell().lock();
    if let Some(z) = &*slot {
        return Ok(z.clone());
    }
    let z = Arc::new(load(std::env::var("TZ").ok().as_deref())?);
    *slot = Some(z.clone());
    Ok(z)
}

/// `time.tzset()`: read the zone `tz` (the value of `TZ`, or `None` when it is unset) names.
pub fn reset(tz: Option<&str>) -> Result<(), String> {
    let z = Arc::new(load(tz)?);
    *cell().lock() = Some(z);
    Ok(())
}

fn load(tz: Option<&str>) -> Result<Zone, String> {
    let spec = tz.map(|s| s.strip_prefix(':').unwrap_or(s));
    let path = match spec {
        None => "/etc/localtime".to_string(),
        Some("" | "UTC" | "UTC0" | "GMT" | "GMT0" | "Etc/UTC" | "Universal" | "Zulu") => {
            return Ok(Zone::utc())
        }
        Some(p) if p.starts_with('/') => p.to_string(),
        Some(name) => format!("/usr/share/zoneinfo/{name}"),
    };
    match std::fs::read(&path) {
        Ok(data) => parse(&data).ok_or_else(|| format!("cannot read the time zone file {path}")),
        // No zone file at all: the C library's default is UTC.
        Err(_) if spec.is_none() => Ok(Zone::utc()),
        Err(_) => Err(format!(
            "minivm reads time zones from the tz database only (TZ={})",
            spec.unwrap_or("")
        )),
    }
}

/// Big-endian integers read from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn int(&mut self, width: usize) -> Option<i64> {
        let b = self.take(width)?;
        Some(match width {
            4 => i64::from(i32::from_be_bytes(b.try_into().ok()?)),
            _ => i64::from_be_bytes(b.try_into().ok()?),
        })
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
}

/// The six counts of a TZif header.
struct Counts {
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

fn header(r: &mut Reader<'_>) -> Option<(u8, Counts)> {
    if r.take(4)? != b"TZif" {
        return None;
    }
    let version = r.u8()?;
    r.take(15)?;
    let mut n = [0usize; 6];
    for slot in &mut n {
        *slot = usize::try_from(r.int(4)?).ok()?;
    }
    let [isut, isstd, leap, time, types, chars] = n;
    let counts = Counts {
        isut,
        isstd,
        leap,
        time,
        types,
        chars,
    };
    Some((version, counts))
}

/// Parse a TZif file: version 2+ files are read from their 64-bit block.
fn parse(data: &[u8]) -> Option<Zone> {
    let mut r = Reader(data);
    let (version, c) = header(&mut r)?;
    if version >= b'2' {
        // Skip the 32-bit block: times, indices, types, abbreviations, leap records, flags.
        r.take(c.time * 5 + c.types * 6 + c.chars + c.leap * 8 + c.isstd + c.isut)?;
        let (_, c) = header(&mut r)?;
        return body(&mut r, &c, 8);
    }
    body(&mut r, &c, 4)
}

fn body(r: &mut Reader<'_>, c: &Counts, width: usize) -> Option<Zone> {
    let times = (0..c.time)
        .map(|_| r.int(width))
        .collect::<Option<Vec<i64>>>()?;
    let indices = r.take(c.time)?.to_vec();
    let mut raw = Vec::with_capacity(c.types);
    for _ in 0..c.types {
        raw.push((r.int(4)?, r.u8()? != 0, usize::from(r.u8()?)));
    }
    let chars = r.take(c.chars)?;
    let types = raw
        .into_iter()
        .map(|(utoff, isdst, at)| LocalType {
            utoff,
            isdst,
            abbrev: abbreviation(chars, at),
        })
        .collect::<Vec<_>>();
    if types.is_empty() {
        return None;
    }
    let transitions = times
        .into_iter()
        .zip(indices.into_iter().map(usize::from))
        .collect();
    Some(Zone { transitions, types })
}

/// The NUL-terminated abbreviation starting at `at`.
fn abbreviation(chars: &[u8], at: usize) -> String {
    let tail = chars.get(at..).unwrap_or_default();
    let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
    String::from_utf8_lossy(&tail[..end]).into_owned()
}
