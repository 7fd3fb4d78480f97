//! The timeline on disk: one JSON entry per line, in time order, in the run's
//! folder beside the journal (`timeline.jsonl`). A run streams its entries
//! here as they leave its in-memory window, so memory is bounded by the
//! window, not by the length of the run; report.json names the file.

use super::Entry;
use crate::clock::Offset;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The file's name in a run folder.
pub const FILE: &str = "timeline.jsonl";

/// The longest line read back (a canary read-back lists every sequence
/// number it holds: 12 hours at 10 ms is about 40 MB). A longer line is an
/// error, never an unbounded allocation.
pub const MAX_LINE: u64 = 64 << 20;

/// What report.json says of its timeline file (schema 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineFile {
    /// The file's name in the run folder (a bare name: no folder, no `..`).
    pub file: String,
    /// Entries written.
    pub entries: u64,
    /// Why the file is incomplete, if writing it failed (a full disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Appends entries to a new 0600 file, never through a symlink. The first
/// write error is kept and later writes skipped: the timeline is evidence,
/// and losing its tail must not stop a revert.
pub struct Writer {
    out: BufWriter<File>,
    /// One entry's line, handed to `out` whole: what reaches the disk ends
    /// at a line's end, so a run killed at any moment leaves whole lines.
    line: Vec<u8>,
    path: PathBuf,
    entries: u64,
    error: Option<String>,
}

impl Writer {
    /// A new timeline file in the run folder `dir`.
    pub fn create(dir: &Path) -> io::Result<Writer> {
        let path = dir.join(FILE);
        let file = crate::files::create_new(&path)?;
        Ok(Writer {
            out: BufWriter::with_capacity(64 << 10, file),
            line: Vec::new(),
            path,
            entries: 0,
            error: None,
        })
    }

    /// Appends one entry.
    pub fn write(&mut self, entry: &Entry) {
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        let written = serde_json::to_writer(&mut self.line, entry)
            .map_err(io::Error::from)
            .and_then(|()| {
                self.line.push(b'\n');
                self.out.write_all(&self.line)
            });
        match written {
            Ok(()) => self.entries += 1,
            Err(e) => self.fail(e),
        }
    }

    /// Hands what is buffered to the kernel, so a run that dies leaves its
    /// timeline up to the last flush.
    pub fn flush(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.fail(e);
            }
        }
    }

    fn fail(&mut self, e: io::Error) {
        self.error = Some(format!("cannot write {}: {e}", self.path.display()));
    }

    /// Flushes and merges `late` entries (recorded after later ones were
    /// written, such as the times a fault service recorded, read after the
    /// run) into their place, so the file stays in time order.
    pub fn finish(mut self, mut late: Vec<Entry>) -> TimelineFile {
        self.flush();
        if !late.is_empty() && self.error.is_none() {
            late.sort_by_key(|e| e.at);
            let count = late.len() as u64;
            match merge(&self.path, late) {
                Ok(()) => self.entries += count,
                Err(e) => self.fail(e),
            }
        }
        TimelineFile {
            file: FILE.into(),
            entries: self.entries,
            error: self.error,
        }
    }
}

/// Rewrites `path` with `late` (sorted) merged in by time, through a fresh
/// file renamed over it.
fn merge(path: &Path, late: Vec<Entry>) -> io::Result<()> {
    let temp = path.with_extension(format!("merge.{}", crate::files::random_hex(4)));
    let written = (|| {
        let mut out = BufWriter::new(crate::files::create_new(&temp)?);
        let mut late = late.into_iter().peekable();
        for entry in read(path)? {
            let entry = entry.map_err(io::Error::other)?;
            while let Some(l) = late.next_if(|l| l.at < entry.at) {
                write_line(&mut out, &l)?;
            }
            write_line(&mut out, &entry)?;
        }
        for l in late {
            write_line(&mut out, &l)?;
        }
        out.flush()?;
        out.get_ref().sync_data()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

fn write_line(out: &mut impl Write, entry: &Entry) -> io::Result<()> {
    serde_json::to_writer(&mut *out, entry)?;
    out.write_all(b"\n")
}

/// A line of a timeline file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {reason}")]
pub struct ReadError {
    /// The file.
    pub path: String,
    /// Its line (from 1).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// The entries of a timeline file, one at a time (never the whole file in
/// memory), never through a symlink.
pub fn read(path: &Path) -> io::Result<Entries> {
    Ok(Entries {
        reader: BufReader::with_capacity(64 << 10, crate::files::open_read(path)?),
        path: path.display().to_string(),
        line: 0,
        buf: Vec::new(),
        last: Offset(0),
        done: false,
    })
}

/// Iterator over a timeline file's entries; stops after the first error.
pub struct Entries {
    reader: BufReader<File>,
    path: String,
    line: u64,
    buf: Vec<u8>,
    last: Offset,
    done: bool,
}

impl Entries {
    fn error(&mut self, reason: String) -> Option<Result<Entry, ReadError>> {
        // Nothing after a bad line is read: its position is unknown.
        self.done = true;
        Some(Err(ReadError {
            path: self.path.clone(),
            line: self.line,
            reason,
        }))
    }
}

impl Iterator for Entries {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.buf.clear();
        self.line += 1;
        let read = (&mut self.reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut self.buf);
        match read {
            Ok(0) => None,
            Err(e) => self.error(e.to_string()),
            Ok(n) if n as u64 > MAX_LINE => {
                self.error(format!("a line longer than {MAX_LINE} bytes"))
            }
            Ok(_) => match serde_json::from_slice::<Entry>(&self.buf) {
                Ok(e) if e.at < self.last => self.error(format!(
                    "entries out of time order ({} after {})",
                    e.at.secs(),
                    self.last.secs()
                )),
                Ok(e) => {
                    self.last = e.at;
                    Some(Ok(e))
                }
                Err(e) => self.error(format!("not a timeline entry: {e}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::What;

    fn event(ms: u64, name: &str) -> Entry {
        Entry {
            at: Offset(ms * 1_000_000),
            source: "run".into(),
            what: What::Event {
                name: name.into(),
                detail: String::new(),
            },
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gameday-timeline-{name}-{}",
            crate::files::random_hex(4)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn late_entries_are_merged_into_time_order() {
        let dir = scratch("merge");
        let mut w = Writer::create(&dir).unwrap();
        for (ms, name) in [(10, "a"), (30, "c"), (50, "e")] {
            w.write(&event(ms, name));
        }
        let summary = w.finish(vec![event(60, "f"), event(20, "b"), event(40, "d")]);
        assert_eq!(summary.entries, 6);
        assert_eq!(summary.error, None);
        let names: Vec<String> = read(&dir.join(FILE))
            .unwrap()
            .map(|e| match e.unwrap().what {
                What::Event { name, .. } => name,
                What::Observation(_) => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "f"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_bad_line_is_an_error_with_its_place_and_ends_the_reading() {
        let dir = scratch("bad");
        let path = dir.join(FILE);
        let good = serde_json::to_string(&event(10, "a")).unwrap();
        let earlier = serde_json::to_string(&event(5, "z")).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let all: Vec<_> = read(&path).unwrap().collect();
        assert_eq!(all.len(), 2, "{all:?}");
        let why = all[1].as_ref().unwrap_err().to_string();
        assert!(why.contains(":2: not a timeline entry"), "{why}");
        std::fs::write(&path, format!("{good}\n{earlier}\n")).unwrap();
        let why = read(&path)
            .unwrap()
            .nth(1)
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(why.contains("out of time order"), "{why}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn never_read_through_a_symlink() {
        let dir = scratch("link");
        std::fs::write(dir.join("elsewhere"), "").unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join(FILE)).unwrap();
        assert!(read(&dir.join(FILE)).is_err());
        assert!(Writer::create(&dir).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
