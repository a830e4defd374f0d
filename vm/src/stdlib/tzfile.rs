//! The local time zone for `time.localtime`/`mktime` (stdlib stage): a reader of the tz
//! database's binary files (TZif, RFC 8536), as the C library reads them.
//!
//! The zone is `$TZ` (`:Europe/Paris`, `Europe/Paris`, a path, or `UTC`/`GMT`) or else
//! `/etc/localtime`, read once, and again on `time.tzset()` with `TZ` as `os.environ` has it
//! then (minivm's `os.environ` is a plain dict, not the process's environment). A time past the file's
//! last transition follows the POSIX rule at the file's end (`EST5EDT,M3.2.0,M11.1.0`), as the C
//! library does: the tables stop in 2037, or for "slim" files at the last change of rule.
//! `zoneinfo` reads its zones here too ([`named`]).

use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::time::{civil_from_days, days_from_civil, is_leap};

/// One local time type of a zone: offset east of UTC, daylight saving flag, abbreviation.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalType {
    pub utoff: i64,
    pub isdst: bool,
    pub abbrev: String,
}

/// A zone: its transition instants and the type that starts at each, and the rule for times
/// after the last one.
#[derive(Debug)]
pub struct Zone {
    transitions: Vec<(i64, usize)>,
    types: Vec<LocalType>,
    rule: Option<Rule>,
}

/// A POSIX TZ rule (`std offset [dst [offset] [,start[/time],end[/time]]]`): standard time, and
/// daylight saving time with the days and local times it starts and ends each year.
#[derive(Debug)]
struct Rule {
    std: LocalType,
    dst: Option<(LocalType, RuleDay, i64, RuleDay, i64)>,
}

/// The day of the year a rule's change falls on.
#[derive(Debug, Clone, Copy)]
enum RuleDay {
    /// `Jn`: day n of 1..=365, February 29 never counted.
    Julian(i64),
    /// `n`: day n of 0..=365, February 29 counted.
    Zero(i64),
    /// `Mm.w.d`: weekday d (0 Sunday) of week w (5: the last) of month m.
    Month(i64, i64, i64),
}

impl Zone {
    fn utc() -> Zone {
        Zone::utc_named("UTC")
    }

    /// UTC under the abbreviation `abbrev` (`TZ=GMT` says "GMT", as the zone file does).
    fn utc_named(abbrev: &str) -> Zone {
        Zone {
            transitions: Vec::new(),
            types: vec![LocalType {
                utoff: 0,
                isdst: false,
                abbrev: abbrev.into(),
            }],
            rule: None,
        }
    }

    /// The local time type in force at `t` (seconds since the epoch).
    pub fn at(&self, t: i64) -> &LocalType {
        let past_table = self.transitions.last().is_none_or(|&(when, _)| t >= when);
        if let (true, Some(rule)) = (past_table, &self.rule) {
            return rule.at(t);
        }
        let later = self.transitions.partition_point(|&(when, _)| when <= t);
        let index = match later.checked_sub(1) {
            Some(i) => self.transitions[i].1,
            // Before the first transition: the first standard-time type (RFC 8536 3.2).
            None => self.types.iter().position(|ty| !ty.isdst).unwrap_or(0),
        };
        &self.types[index.min(self.types.len() - 1)]
    }
}

impl Rule {
    fn at(&self, t: i64) -> &LocalType {
        let Some((dst, start, start_time, end, end_time)) = &self.dst else {
            return &self.std;
        };
        // The changes of the year `t` falls in (by standard time): the start is a local time in
        // standard time, the end one in daylight saving time.
        let (year, ..) = civil_from_days((t + self.std.utoff).div_euclid(86_400));
        let begins = day_of(year, *start) * 86_400 + start_time - self.std.utoff;
        let ends = day_of(year, *end) * 86_400 + end_time - dst.utoff;
        let in_dst = if begins < ends {
            begins <= t && t < ends
        } else {
            // Southern hemisphere: daylight saving time spans the new year.
            !(ends <= t && t < begins)
        };
        if in_dst {
            dst
        } else {
            &self.std
        }
    }
}

/// The day (counted from 1970-01-01) a rule's change falls on in `year`.
fn day_of(year: i64, day: RuleDay) -> i64 {
    let jan1 = days_from_civil(year, 1, 1);
    match day {
        RuleDay::Julian(n) => jan1 + n - 1 + i64::from(is_leap(year) && n >= 60),
        RuleDay::Zero(n) => jan1 + n,
        RuleDay::Month(m, w, d) => {
            let first = days_from_civil(year, m, 1);
            let weekday_of_first = (first + 4).rem_euclid(7); // 1970-01-01 was a Thursday
            let mut day = first + (d - weekday_of_first).rem_euclid(7) + (w - 1) * 7;
            let next_month = if m == 12 {
                days_from_civil(year + 1, 1, 1)
            } else {
                days_from_civil(year, m + 1, 1)
            };
            while day >= next_month {
                day -= 7;
            }
            day
        }
    }
}

/// Read a POSIX TZ string (the footer of a version 2+ TZif file).
fn parse_rule(text: &str) -> Option<Rule> {
    let mut p = RuleText(text.as_bytes());
    let std_name = p.name()?;
    let std_off = -p.offset()?;
    let std = LocalType {
        utoff: std_off,
        isdst: false,
        abbrev: std_name,
    };
    if p.0.is_empty() {
        return Some(Rule { std, dst: None });
    }
    let dst_name = p.name()?;
    let dst_off = match p.0.first() {
        Some(b',') | None => std_off + 3600,
        Some(_) => -p.offset()?,
    };
    let dst = LocalType {
        utoff: dst_off,
        isdst: true,
        abbrev: dst_name,
    };
    // A rule without its dates (POSIX then means the US ones) is not followed: TZif footers
    // always give them.
    p.expect(b',')?;
    let (start, start_time) = p.change()?;
    p.expect(b',')?;
    let (end, end_time) = p.change()?;
    p.0.is_empty().then_some(Rule {
        std,
        dst: Some((dst, start, start_time, end, end_time)),
    })
}

/// The unread part of a POSIX TZ string.
struct RuleText<'a>(&'a [u8]);

impl RuleText<'_> {
    fn expect(&mut self, c: u8) -> Option<()> {
        let (&first, rest) = self.0.split_first()?;
        (first == c).then(|| self.0 = rest)
    }

    /// A zone name: three or more letters, or anything between `<` and `>` (`<+03>`).
    fn name(&mut self) -> Option<String> {
        let (name, rest) = if self.0.first() == Some(&b'<') {
            let close = self.0.iter().position(|&b| b == b'>')?;
            (&self.0[1..close], &self.0[close + 1..])
        } else {
            let len = self
                .0
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            (&self.0[..len], &self.0[len..])
        };
        if name.len() < 3 {
            return None;
        }
        self.0 = rest;
        Some(String::from_utf8_lossy(name).into_owned())
    }

    fn number(&mut self) -> Option<i64> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let n = std::str::from_utf8(&self.0[..len]).ok()?.parse().ok()?;
        self.0 = &self.0[len..];
        Some(n)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds (west of UTC positive, as POSIX writes offsets).
    fn offset(&mut self) -> Option<i64> {
        let sign = match self.0.first() {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        if sign != 0 {
            self.0 = &self.0[1..];
        }
        let mut seconds = self.number()? * 3600;
        if self.expect(b':').is_some() {
            seconds += self.number()? * 60;
            if self.expect(b':').is_some() {
                seconds += self.number()?;
            }
        }
        Some(if sign < 0 { -seconds } else { seconds })
    }

    /// `Jn`, `n` or `Mm.w.d`, then `/time` (02:00 when left out).
    fn change(&mut self) -> Option<(RuleDay, i64)> {
        let day = match self.0.first()? {
            b'J' => {
                self.0 = &self.0[1..];
                RuleDay::Julian(self.number()?)
            }
            b'M' => {
                self.0 = &self.0[1..];
                let m = self.number()?;
                self.expect(b'.')?;
                let w = self.number()?;
                self.expect(b'.')?;
                RuleDay::Month(m, w, self.number()?)
            }
            _ => RuleDay::Zero(self.number()?),
        };
        let time = if self.expect(b'/').is_some() {
            self.offset()?
        } else {
            7200
        };
        Some((day, time))
    }
}

/// Zones read for `zoneinfo`, with their keys.
type NamedZones = Mutex<Vec<(String, Arc<Zone>)>>;

fn named_zones() -> &'static NamedZones {
    static ZONES: OnceLock<NamedZones> = OnceLock::new();
    ZONES.get_or_init(|| Mutex::new(Vec::new()))
}

/// The zone of the tz database named `key` (`America/New_York`), read once; `None` when there
/// is no such file or it is no TZif file.
pub fn named(key: &str) -> Option<Arc<Zone>> {
    let unsafe_key = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty());
    if unsafe_key {
        return None;
    }
    if let Some((_, z)) = named_zones().lock().iter().find(|(k, _)| k == key) {
        return Some(z.clone());
    }
    let data = std::fs::read(format!("/usr/share/zoneinfo/{key}")).ok()?;
    let zone = Arc::new(parse(&data)?);
    named_zones().lock().push((key.to_string(), zone.clone()));
    Some(zone)
}

impl Zone {
    /// The daylight saving part of the offset at `t` (what `tzinfo.dst()` gives): the offset
    /// less that of the standard time nearest before it (or after it, at the start of the
    /// table); 0 in standard time.
    pub fn dst_at(&self, t: i64) -> i64 {
        let ty = self.at(t);
        if !ty.isdst {
            return 0;
        }
        if let Some(rule) = self.rule.as_ref().filter(|r| r.dst.is_some()) {
            let past_table = self.transitions.last().is_none_or(|&(when, _)| t >= when);
            if past_table {
                return ty.utoff - rule.std.utoff;
            }
        }
        let here = self.transitions.partition_point(|&(when, _)| when <= t);
        let std_type = |&(_, i): &(i64, usize)| self.types.get(i).filter(|ty| !ty.isdst);
        let before = self.transitions[..here].iter().rev().find_map(std_type);
        let after = self.transitions[here..].iter().find_map(std_type);
        match before.or(after) {
            Some(std) => ty.utoff - std.utoff,
            None => 3600,
        }
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
        Some("") => return Ok(Zone::utc()),
        Some(p) if p.starts_with('/') => p.to_string(),
        Some(name) => format!("/usr/share/zoneinfo/{name}"),
    };
    // The UTC names are read from their zone files too, when there are any, as the C library
    // does: each file has its own abbreviation ("GMT" for GMT and GMT0, "UTC" for Zulu).
    match std::fs::read(&path) {
        Ok(data) => parse(&data).ok_or_else(|| format!("cannot read the time zone file {path}")),
        // No zone file at all: the C library's default is UTC.
        Err(_) if spec.is_none() => Ok(Zone::utc()),
        Err(_) if matches!(spec, Some("GMT" | "GMT0")) => Ok(Zone::utc_named("GMT")),
        Err(_)
            if matches!(
                spec,
                Some("UTC" | "UTC0" | "Etc/UTC" | "Universal" | "Zulu")
            ) =>
        {
            Ok(Zone::utc())
        }
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
        let mut zone = body(&mut r, &c, 8)?;
        // Then the leap records and flags of the 64-bit block, and the footer: the POSIX rule
        // between two newlines (empty when there is none).
        r.take(c.leap * 12 + c.isstd + c.isut)?;
        if r.u8() == Some(b'\n') {
            let end = r.0.iter().position(|&b| b == b'\n').unwrap_or(r.0.len());
            let text = String::from_utf8_lossy(&r.0[..end]);
            zone.rule = parse_rule(&text);
        }
        return Some(zone);
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
    Some(Zone {
        transitions,
        types,
        rule: None,
    })
}

/// The NUL-terminated abbreviation starting at `at`.
fn abbreviation(chars: &[u8], at: usize) -> String {
    let tail = chars.get(at..).unwrap_or_default();
    let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
    String::from_utf8_lossy(&tail[..end]).into_owned()
}
