//! What a visitor of a public status page is told: each monitor's state,
//! the page's overall state, and the colour class of each daily bar. Every
//! state has words as well as a colour, so nothing depends on colour alone.

use crate::monitor::MonitorStatus;

/// One monitor as a visitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentState {
    Operational,
    Degraded,
    Down,
    Maintenance,
    /// Not checked yet.
    NoData,
}

impl ComponentState {
    pub fn of(status: MonitorStatus) -> Self {
        match status {
            MonitorStatus::Up => Self::Operational,
            MonitorStatus::Degraded => Self::Degraded,
            MonitorStatus::Down => Self::Down,
            MonitorStatus::Unknown => Self::NoData,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::Degraded => "Degraded performance",
            Self::Down => "Down",
            Self::Maintenance => "Under maintenance",
            Self::NoData => "No data yet",
        }
    }

    /// The CSS class (and the machine word).
    pub fn class(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::Degraded => "degraded",
            Self::Down => "down",
            Self::Maintenance => "maintenance",
            Self::NoData => "nodata",
        }
    }
}

/// The page's one-line verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    Operational,
    PartialOutage,
    MajorOutage,
    Maintenance,
    /// No monitor on the page has been checked yet: nothing is known, so
    /// nothing is claimed.
    NoData,
}

impl PageState {
    /// Down everywhere that reports (or on at least half the monitors) is
    /// a major outage; any other trouble is partial; maintenance shows
    /// when nothing is wrong but something is being worked on.
    pub fn of(components: &[ComponentState]) -> Self {
        let count = |state| components.iter().filter(|c| **c == state).count();
        let down = count(ComponentState::Down);
        let reporting = components.len() - count(ComponentState::NoData);
        if reporting == 0 && !components.is_empty() {
            Self::NoData
        } else if down > 0 && (down == reporting || down * 2 >= components.len()) {
            Self::MajorOutage
        } else if down > 0 || count(ComponentState::Degraded) > 0 {
            Self::PartialOutage
        } else if count(ComponentState::Maintenance) > 0 {
            Self::Maintenance
        } else {
            Self::Operational
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "All systems operational",
            Self::PartialOutage => "Partial outage",
            Self::MajorOutage => "Major outage",
            Self::Maintenance => "Under maintenance",
            Self::NoData => "No data yet",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::PartialOutage => "partial",
            Self::MajorOutage => "major",
            Self::Maintenance => "maintenance",
            Self::NoData => "nodata",
        }
    }
}

/// A daily bar's class from the day's uptime (`None`: no checks that day).
pub fn day_class(uptime_percent: Option<f64>) -> &'static str {
    match uptime_percent {
        None => "nodata",
        Some(p) if p >= 99.9 => "up",
        Some(p) if p >= 99.0 => "minor",
        Some(p) if p >= 95.0 => "partial",
        Some(_) => "down",
    }
}

/// The days shown, oldest first.
pub const HISTORY_DAYS: i64 = 90;

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentState::*;

    #[test]
    fn the_page_state_follows_its_monitors() {
        assert_eq!(
            PageState::of(&[Operational, Operational]),
            PageState::Operational
        );
        assert_eq!(
            PageState::of(&[Operational, Degraded]),
            PageState::PartialOutage
        );
        assert_eq!(
            PageState::of(&[Operational, Operational, Down]),
            PageState::PartialOutage
        );
        assert_eq!(PageState::of(&[Operational, Down]), PageState::MajorOutage);
        assert_eq!(
            PageState::of(&[Down, NoData, NoData]),
            PageState::MajorOutage
        );
        assert_eq!(
            PageState::of(&[Operational, Maintenance]),
            PageState::Maintenance
        );
        assert_eq!(PageState::of(&[]), PageState::Operational);
        assert_eq!(PageState::of(&[NoData, NoData]), PageState::NoData);
        assert_eq!(
            PageState::of(&[NoData, Operational]),
            PageState::Operational
        );
        assert_eq!(PageState::MajorOutage.label(), "Major outage");
    }

    #[test]
    fn bars_follow_the_days_uptime() {
        assert_eq!(day_class(None), "nodata");
        assert_eq!(day_class(Some(100.0)), "up");
        assert_eq!(day_class(Some(99.5)), "minor");
        assert_eq!(day_class(Some(97.0)), "partial");
        assert_eq!(day_class(Some(50.0)), "down");
    }
}
