//! `alarm` (AWS): reads CloudWatch alarms (DescribeAlarms) in both regions, so
//! an `alarm` stop condition can abort the run when any goes into ALARM.

use super::{Probe, ProbeContext, ProbeKind};
use crate::aws::error::explain;
use crate::environment::Env;
use crate::scenario::duration::HumanDuration;
use crate::scenario::Target;
use crate::timeline::Observation;
use crate::words::Role;
use aws_sdk_cloudwatch::types::StateValue;
use serde::Deserialize;
use std::time::Duration;

/// `[[probes]] kind = "alarm"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmProbe {
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    /// Probe name (default `alarms`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Interval (default 5s; at least 1s).
    #[serde(default = "default_interval", deserialize_with = "super::interval")]
    pub interval: HumanDuration,
    /// These alarms.
    #[serde(default)]
    pub alarm_names: Vec<String>,
    /// Or every alarm whose name starts with this.
    #[serde(default)]
    pub alarm_prefix: Option<String>,
}

fn default_name() -> String {
    "alarms".into()
}
fn default_interval() -> HumanDuration {
    super::ms(5000)
}

/// Parses the scenario table.
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Probe>, toml::de::Error> {
    Ok(Box::new(AlarmProbe::deserialize(de)?))
}

#[async_trait::async_trait]
impl Probe for AlarmProbe {
    super::identity!(ProbeKind::Alarm);

    fn check_target(&self, target: Target) -> Result<(), (&'static str, String)> {
        if target == Target::Lab {
            return Err(crate::fault::only_on(
                Target::Aws,
                "the alarm probe",
                "on the lab, use the error-rate or canary-failing stop conditions",
            ));
        }
        if self.alarm_names.is_empty() && self.alarm_prefix.is_none() {
            return Err((
                "kind",
                "say which alarms: alarm_names = [\"...\"] or alarm_prefix = \"...\"".into(),
            ));
        }
        if self.interval.get() < Duration::from_secs(1) {
            return Err(("interval", "poll CloudWatch every \"1s\" or slower".into()));
        }
        Ok(())
    }

    fn describe(&self, env: &Env) -> String {
        let which = if self.alarm_names.is_empty() {
            format!(
                "alarms named {}*",
                self.alarm_prefix.as_deref().unwrap_or_default()
            )
        } else {
            format!("alarms {}", self.alarm_names.join(", "))
        };
        format!(
            "CloudWatch DescribeAlarms of {which} in {} and {}",
            env.region_name(Role::Primary),
            env.region_name(Role::Secondary)
        )
    }

    async fn observe(&self, ctx: &ProbeContext, _at: crate::clock::Offset) -> Vec<Observation> {
        let Env::Aws(aws) = &ctx.env else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for role in [Role::Primary, Role::Secondary] {
            let region = aws.description.params.region(role).to_string();
            let mut request = aws.clients.region(&region).cloudwatch.describe_alarms();
            if self.alarm_names.is_empty() {
                request = request.set_alarm_name_prefix(self.alarm_prefix.clone());
            } else {
                request = request.set_alarm_names(Some(self.alarm_names.clone()));
            }
            match request.send().await {
                Ok(found) => {
                    let seen =
                        |name: Option<&str>, state: Option<&StateValue>, reason: Option<&str>| {
                            Observation::Alarm {
                                region: region.clone(),
                                name: name.unwrap_or_default().to_string(),
                                state: state.map(|s| s.as_str().to_string()).unwrap_or_default(),
                                reason: reason.map(str::to_string),
                            }
                        };
                    for a in found.metric_alarms() {
                        out.push(seen(a.alarm_name(), a.state_value(), a.state_reason()));
                    }
                    for a in found.composite_alarms() {
                        out.push(seen(a.alarm_name(), a.state_value(), a.state_reason()));
                    }
                }
                // A failed read is no observation; it is said once in the timeline.
                Err(e) => out.push(Observation::Alarm {
                    region: region.clone(),
                    name: String::new(),
                    state: "UNREADABLE".into(),
                    reason: Some(
                        explain(
                            &format!("reading alarms in {region}"),
                            "cloudwatch:DescribeAlarms",
                            &e,
                        )
                        .message,
                    ),
                }),
            }
        }
        out
    }
}
