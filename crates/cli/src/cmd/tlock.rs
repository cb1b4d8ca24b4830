//! `zks tlock seal` / `zks tlock open`: drand timelock encryption of plain
//! files, in the age format drand's `tle`, `tlock_age` and `tlock-js` read
//! and write. Also the time arguments `--at` / `--in` that `zks send
//! --open-at` shares.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use zks_node::Node;

use super::grid::SourceArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum TlockCommand {
    /// Timelock a file to a future round: nobody can open it before then.
    Seal(SealArgs),
    /// Open a timelocked file (ours or another tlock tool's) once its round is out.
    Open(OpenArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    /// Lock to this round of the chain.
    #[arg(long, conflicts_with_all = ["at", "within"], required_unless_present_any = ["at", "within"])]
    round: Option<u64>,
    /// Lock until this time, e.g. 2026-12-24T18:00Z or 2026-12-24T18:00+01:00.
    #[arg(long, value_name = "TIME", conflicts_with = "within")]
    at: Option<String>,
    /// Lock for this long from now, e.g. 90s, 30m, 2h, 3d, 1w.
    #[arg(long = "in", id = "within", value_name = "DURATION")]
    within: Option<String>,
    /// The chain whose round opens it (name or hash; needs signatures on G1).
    #[arg(long, default_value = "quicknet", value_name = "NAME|HASH")]
    chain: String,
    /// Write ASCII armor (text) instead of the binary age file.
    #[arg(long)]
    armor: bool,
    /// Lock beyond a year from now (asked for, since the chain or its
    /// cryptography may not last that long).
    #[arg(long)]
    far: bool,
    /// The file to lock (`-`: standard input).
    input: PathBuf,
    /// Where to write the timelocked file (`-`: standard output).
    output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// The timelocked file, binary or armored (`-`: standard input).
    input: PathBuf,
    /// Where to write what it holds (`-`: standard output).
    output: PathBuf,
    #[command(flatten)]
    sources: SourceArgs,
}

/// A year: beyond it a timelock needs `--far`.
pub(crate) const FAR_SECS: u64 = 365 * 86_400;
/// Ten years: beyond it a timelock is refused.
pub(crate) const MAX_AHEAD_SECS: u64 = 10 * 365 * 86_400;

pub(crate) async fn run(home: Option<PathBuf>, command: TlockCommand) -> anyhow::Result<ExitCode> {
    match command {
        TlockCommand::Seal(args) => {
            // Check the arguments before opening the home.
            let at = open_time(args.at.as_deref(), args.within.as_deref(), args.far)?;
            let node = super::start_node(home).await?;
            let result = seal(&node, &args, at);
            node.stop().await;
            result
        }
        TlockCommand::Open(args) => {
            let node = super::start_node(home).await?;
            let result = open(&node, &args).await;
            node.stop().await;
            result
        }
    }
}

/// The time `--open-at TIME` or `--open-in DURATION` asks for (`zks send`,
/// `zks file send`), checked like [`check_open_at`]; `None` without either.
/// `--open-at` / `--open-in` / `--far` of `zks send` and `zks file send`.
#[derive(Debug, Args)]
pub(crate) struct OpenAtArgs {
    /// Deliver now, open at this time (drand timelock), e.g.
    /// 2026-12-24T18:00Z: it is timelocked first, so not even the contact
    /// can read it before.
    #[arg(long, value_name = "TIME", conflicts_with = "open_in")]
    open_at: Option<String>,
    /// Deliver now, open after this long (drand timelock), e.g. 90s, 2h, 3d.
    #[arg(long, value_name = "DURATION")]
    open_in: Option<String>,
    /// Allow --open-at/--open-in beyond a year from now.
    #[arg(long)]
    far: bool,
}

impl OpenAtArgs {
    /// The time asked for, checked; `None` without --open-at/--open-in.
    pub(crate) fn time(&self) -> anyhow::Result<Option<u64>> {
        open_time(self.open_at.as_deref(), self.open_in.as_deref(), self.far)
    }
}

pub(crate) fn open_time(
    open_at: Option<&str>,
    open_in: Option<&str>,
    far: bool,
) -> anyhow::Result<Option<u64>> {
    let now = super::grid::now();
    let at = match (open_at, open_in) {
        (Some(at), _) => parse_time(at)?,
        (None, Some(within)) => now.saturating_add(parse_duration(within)?),
        (None, None) => return Ok(None),
    };
    check_open_at(at, now, far)?;
    Ok(Some(at))
}

/// Refuses a past time, and one too far ahead (without `far`, beyond a year).
pub(crate) fn check_open_at(at: u64, now: u64, far: bool) -> anyhow::Result<()> {
    if at <= now {
        bail!("{} has passed: choose a time in the future", utc(at));
    }
    if at - now > MAX_AHEAD_SECS {
        bail!(
            "{} is more than 10 years ahead: the chain and pairing-based cryptography may not last that long",
            utc(at)
        );
    }
    if at - now > FAR_SECS && !far {
        bail!(
            "{} is more than a year ahead; if you mean it, add --far (the chain and its cryptography must still be there then)",
            utc(at)
        );
    }
    Ok(())
}

fn seal(node: &Node, args: &SealArgs, at: Option<u64>) -> anyhow::Result<ExitCode> {
    let chain = node.chain(&args.chain)?;
    zks_tlock::check_chain(&chain)?;
    let round = match (args.round, at) {
        (Some(0), _) => bail!("round 0 does not exist (rounds start at 1)"),
        (Some(round), _) => round,
        (None, Some(at)) => zks_tlock::round_for_time(&chain, at),
        (None, None) => unreachable!("clap requires --round, --at or --in"),
    };
    let mut input = reader(&args.input)?;
    let written = write_atomically(&args.output, |out| {
        Ok(zks_tlock::seal(
            &chain,
            round,
            &mut input,
            out,
            args.armor,
            &mut rand_core::OsRng,
        )?)
    })?;
    eprintln!(
        "timelocked {written} bytes to round {round} of {}: opens at {} (drand timelock)",
        chain.name,
        utc(chain.time_of_round(round))
    );
    Ok(ExitCode::SUCCESS)
}

async fn open(node: &Node, args: &OpenArgs) -> anyhow::Result<ExitCode> {
    let locked = zks_tlock::read_header(reader(&args.input)?)?;
    let (round, hash) = (locked.round(), locked.chain());
    let (cascade, chain) = node
        .open_chain(&hash.to_hex(), &args.sources.sources())
        .await
        .with_context(|| format!("the file is timelocked to chain {}", hash.to_hex()))?;
    let now = super::grid::now();
    if chain.is_future(round, now) {
        let at = chain.time_of_round(round);
        eprintln!(
            "zks: too early: this file opens at {} (round {round} of {}), in {}",
            utc(at),
            chain.name,
            in_words(at - now)
        );
        return Ok(ExitCode::from(1));
    }
    let Some(beacon) = cascade.get(&chain, round, now).await? else {
        bail!(
            "round {round} of {} is not in the cache and no source delivered it",
            chain.name
        );
    };
    let written = write_atomically(&args.output, |out| Ok(locked.open(&chain, &beacon, out)?))?;
    eprintln!("opened {written} bytes (round {round} of {})", chain.name);
    Ok(ExitCode::SUCCESS)
}

fn reader(path: &Path) -> anyhow::Result<Box<dyn std::io::BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

/// Runs `write` into a temporary file next to `path` and renames it into
/// place only if it succeeds (`-`: straight to standard output).
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<u64>,
) -> anyhow::Result<u64> {
    if path == Path::new("-") {
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        let n = write(&mut out)?;
        out.flush()?;
        return Ok(n);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.zks-partial", name.to_string_lossy()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let n = write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Parses `YYYY-MM-DDTHH:MM[:SS](Z|±HH:MM)` (a space may replace the `T`)
/// into Unix seconds.
pub(crate) fn parse_time(text: &str) -> anyhow::Result<u64> {
    let bad = || {
        anyhow::anyhow!(
            "{text:?} is not a time like 2026-12-24T18:00Z or 2026-12-24T18:00+01:00 (say Z for UTC or give the offset)"
        )
    };
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't', ' ']).ok_or_else(bad)?;
    let mut date_parts = date.splitn(3, '-');
    let num = |s: Option<&str>, len: usize| -> anyhow::Result<i64> {
        let s = s.ok_or_else(bad)?;
        if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let (year, month, day) = (
        num(date_parts.next(), 4)?,
        num(date_parts.next(), 2)?,
        num(date_parts.next(), 2)?,
    );
    let (clock, offset_secs) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0i64)
    } else {
        let at = rest.rfind(['+', '-']).ok_or_else(bad)?;
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':').ok_or_else(bad)?;
        let (h, m) = (num(Some(h), 2)?, num(Some(m), 2)?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        (clock, sign * (h * 3600 + m * 60))
    };
    let mut clock_parts = clock.split(':');
    let hour = num(clock_parts.next(), 2)?;
    let minute = num(clock_parts.next(), 2)?;
    let second = match clock_parts.next() {
        Some(s) => num(Some(s), 2)?,
        None => 0,
    };
    if clock_parts.next().is_some()
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_secs;
    u64::try_from(secs).map_err(|_| bad())
}

/// A whole number followed by s, m, h, d or w, as seconds.
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<u64> {
    match duration_secs(text) {
        Some(n) if n > 0 => Ok(n),
        _ => bail!("{text:?} is not a duration like 90s, 30m, 2h, 3d or 1w"),
    }
}

/// A whole number followed by s, m, h, d or w, as seconds (saturating);
/// the one reader of such durations (`zks contacts timer` too).
pub(crate) fn duration_secs(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number
        .parse::<u64>()
        .ok()
        .map(|n| n.saturating_mul(unit_secs))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "3 days 4 hours", "5 minutes 3 seconds": the two largest units.
pub(crate) fn in_words(secs: u64) -> String {
    let units = [
        (86_400, "day"),
        (3600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in units {
        let n = rest / size;
        if n > 0 || (parts.is_empty() && size == 1) {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            rest -= n * size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

/// `2026-12-24 18:00:00 UTC`.
pub(crate) fn utc(secs: u64) -> String {
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (the inverse of
/// [`days_from_civil`], H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: u64) -> (i64, i64, i64) {
    let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_print_back() {
        assert_eq!(parse_time("1970-01-01T00:00Z").unwrap(), 0);
        assert_eq!(parse_time("2026-12-24T18:00Z").unwrap(), 1_798_135_200);
        assert_eq!(
            parse_time("2026-12-24 19:00:00+01:00").unwrap(),
            1_798_135_200
        );
        assert_eq!(parse_time("2026-12-24T13:30-04:30").unwrap(), 1_798_135_200);
        assert_eq!(utc(1_798_135_200), "2026-12-24 18:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        for bad in [
            "2026-12-24T18:00",
            "2026-13-01T00:00Z",
            "2026-02-29T00:00Z",
            "2026-12-24",
            "tomorrow",
            "2026-12-24T24:00Z",
            "2026-12-24T18:00+1:00",
            "1969-12-31T23:59Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("2h").unwrap(), 7200);
        assert_eq!(parse_duration("90s").unwrap(), 90);
        for bad in ["0s", "h", "2 h", "2y", "-1s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn open_at_limits() {
        let now = 1_800_000_000;
        assert!(check_open_at(now, now, false).is_err());
        assert!(check_open_at(now + 5, now, false).is_ok());
        assert!(check_open_at(now + FAR_SECS + 1, now, false).is_err());
        assert!(check_open_at(now + FAR_SECS + 1, now, true).is_ok());
        assert!(check_open_at(now + MAX_AHEAD_SECS + 1, now, true).is_err());
    }
}
