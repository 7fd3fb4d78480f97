//! `junit.xml`: one test suite per run, one test case per objective and one for
//! "reverted cleanly", so CI systems show a game day like a test run.

use super::{Format, Report};
use crate::verdict::{Outcome, Status};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

/// JUnit XML, written with quick-junit.
pub struct Junit;

fn failure(kind: NonSuccessKind, message: String) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message.clone()).set_description(message);
    s
}

impl Format for Junit {
    fn render(&self, r: &Report) -> String {
        let classname = format!("gameday.{}", r.scenario.name);
        let mut suite = TestSuite::new(r.scenario.name.clone());
        suite.set_timestamp(r.started_at.fixed_offset());
        if let Ok(d) = (r.finished_at - r.started_at).to_std() {
            suite.set_time(d);
        }
        suite.add_property(("run_id", r.run_id.as_str()));
        suite.add_property(("target", r.environment.target.as_str()));
        suite.add_property(("outcome", format!("{:?}", r.outcome).as_str()));
        if let Some(m) = &r.phases {
            for [name, measured, _] in super::write_rows(m).into_iter().skip(1) {
                suite.add_property((name.as_str(), measured.as_str()));
            }
        }
        if matches!(r.outcome, Outcome::Aborted | Outcome::Refused) {
            let reason = r
                .reason
                .clone()
                .unwrap_or_else(|| "no reason recorded".into());
            let mut case =
                TestCase::new("game day completed", failure(NonSuccessKind::Error, reason));
            case.set_classname(classname.clone());
            suite.add_test_case(case);
        }
        for j in &r.verdict {
            let declared = super::fmt_declared(j);
            let measured = super::fmt_measured(j);
            let note = j
                .note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let status = match j.status {
                Status::Met => TestCaseStatus::success(),
                Status::Breached => failure(
                    NonSuccessKind::Failure,
                    format!(
                        "{}: measured {measured}{note}, declared {declared}: breached",
                        j.objective
                    ),
                ),
                Status::NotMeasured => failure(
                    NonSuccessKind::Failure,
                    format!("{}: not measured{note}, declared {declared}", j.objective),
                ),
            };
            let mut case = TestCase::new(format!("{} <= {declared}", j.objective), status);
            case.set_classname(classname.clone());
            if j.status == Status::Met {
                case.set_system_out(format!("measured {measured}{note}"));
            }
            suite.add_test_case(case);
        }
        let revert = if r.revert.complete {
            TestCaseStatus::success()
        } else {
            failure(
                NonSuccessKind::Error,
                format!(
                    "revert incomplete: {}; journal {}",
                    r.revert.differences.join("; "),
                    r.revert.journal.display()
                ),
            )
        };
        let mut case = TestCase::new("reverted cleanly", revert);
        case.set_classname(classname);
        suite.add_test_case(case);
        let mut report = quick_junit::Report::new(format!("gameday {}", r.run_id));
        report.add_test_suite(suite);
        report
            .to_string()
            .unwrap_or_else(|e| format!("<!-- cannot write JUnit XML: {e} -->\n"))
    }
}
