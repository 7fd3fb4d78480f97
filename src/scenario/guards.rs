//! When a game day may run: allowed windows and blocked dates, in the form ARC
//! practice runs use (`Tue:02:00-Tue:05:00`, UTC; `YYYY-MM-DD`).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A weekly window, UTC. May wrap past Sunday into Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Minutes from Monday 00:00 where it opens.
    pub start: u32,
    /// Minutes from Monday 00:00 where it closes.
    pub end: u32,
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn parse_point(s: &str) -> Option<u32> {
    let (day, time) = s.split_once(':')?;
    let d = DAYS.iter().position(|x| x.eq_ignore_ascii_case(day))? as u32;
    let (h, m) = time.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && time.len() == 5).then_some(d * 24 * 60 + h * 60 + m)
}

impl std::str::FromStr for Window {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "write windows like \"Tue:02:00-Tue:05:00\" (UTC, Mon..Sun, 24-hour)";
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("window \"{s}\" has no '-'; {hint}"))?;
        let start = parse_point(a)
            .ok_or_else(|| format!("\"{a}\" in window \"{s}\" is not a day and time; {hint}"))?;
        let end = parse_point(b)
            .ok_or_else(|| format!("\"{b}\" in window \"{s}\" is not a day and time; {hint}"))?;
        if start == end {
            return Err(format!("window \"{s}\" is empty; {hint}"));
        }
        Ok(Window { start, end })
    }
}

impl Window {
    /// Whether `t` falls inside the window.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let m = t.weekday().num_days_from_monday() * 24 * 60 + t.hour() * 60 + t.minute();
        if self.start < self.end {
            (self.start..self.end).contains(&m)
        } else {
            m >= self.start || m < self.end
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = |m: u32| {
            format!(
                "{}:{:02}:{:02}",
                DAYS[(m / 1440 % 7) as usize],
                m % 1440 / 60,
                m % 60
            )
        };
        write!(f, "{}-{}", p(self.start), p(self.end))
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A date on which no game day runs (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BlockedDate(pub NaiveDate);

impl<'de> Deserialize<'de> for BlockedDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(BlockedDate)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "\"{s}\" is not a date; write blocked dates as \"YYYY-MM-DD\""
                ))
            })
    }
}

/// `[guards]` of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// Weekly windows in which the game day may run; none means any time.
    #[serde(default)]
    pub windows: Vec<Window>,
    /// Dates on which it may not run.
    #[serde(default)]
    pub blocked_dates: Vec<BlockedDate>,
}

impl Guards {
    /// Why the game day may not run at `now`, if it may not.
    pub fn refuse(&self, now: DateTime<Utc>) -> Option<String> {
        let today = now.date_naive();
        if self.blocked_dates.iter().any(|d| d.0 == today) {
            return Some(format!(
                "{today} is a blocked date; pass --ignore-window for a deliberate exception"
            ));
        }
        if !self.windows.is_empty() && !self.windows.iter().any(|w| w.contains(now)) {
            let windows: Vec<String> = self.windows.iter().map(Window::to_string).collect();
            let day = DAYS[now.weekday().num_days_from_monday() as usize];
            return Some(format!(
                "outside the allowed windows ({} UTC); it is {day} {} UTC; pass --ignore-window for a deliberate exception",
                windows.join(", "),
                now.format("%H:%M")
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn windows_and_wrapping() {
        let w: Window = "Tue:02:00-Tue:05:00".parse().unwrap();
        // 2026-11-24 is a Tuesday.
        assert!(w.contains(at(2026, 11, 24, 2, 0)));
        assert!(w.contains(at(2026, 11, 24, 4, 59)));
        assert!(!w.contains(at(2026, 11, 24, 5, 0)));
        assert!(!w.contains(at(2026, 11, 25, 3, 0)));
        let wrap: Window = "Sun:22:00-Mon:02:00".parse().unwrap();
        assert!(wrap.contains(at(2026, 11, 29, 23, 0)));
        assert!(wrap.contains(at(2026, 11, 30, 1, 0)));
        assert!(!wrap.contains(at(2026, 11, 30, 3, 0)));
        assert_eq!(wrap.to_string(), "Sun:22:00-Mon:02:00");
        for bad in [
            "Tue 02:00-Tue:05:00",
            "Tue:25:00-Tue:05:00",
            "Xyz:02:00-Tue:05:00",
            "Tue:02:00",
            "Tue:02:00-Tue:02:00",
            "Tue:2:00-Tue:05:00",
        ] {
            assert!(bad.parse::<Window>().is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_say_why() {
        let g = Guards {
            windows: vec!["Tue:02:00-Tue:05:00".parse().unwrap()],
            blocked_dates: vec![BlockedDate(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())],
        };
        assert!(g
            .refuse(at(2026, 11, 24, 3, 0))
            .unwrap()
            .contains("blocked date"));
        assert!(g.refuse(at(2026, 12, 1, 3, 0)).is_none());
        let why = g.refuse(at(2026, 12, 3, 9, 0)).unwrap();
        assert!(
            why.contains("outside the allowed windows (Tue:02:00-Tue:05:00 UTC)")
                && why.contains("Thu 09:00"),
            "{why}"
        );
        assert!(Guards::default().refuse(at(2026, 12, 3, 9, 0)).is_none());
    }
}
