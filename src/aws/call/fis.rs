//! FIS: experiments started from a template, tagged with the run, followed,
//! and stopped.

use super::{applied, TAG_RUN};
use crate::aws::error::explain;
use crate::aws::AwsClients;
use crate::clock::mono_now;
use crate::words::{Applied, ChangeError};
use std::time::Duration;

/// Where a long-running change (an FIS experiment) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeState {
    /// The state in a few words, e.g. `experiment EXP1 running`.
    pub state: String,
    /// Set when the change ended without running its course (an FIS
    /// experiment stopped by its own stop condition, or failed): why.
    pub cut_short: Option<String>,
}

/// StopExperiment of every experiment of the run from the template that still runs.
pub async fn stop_experiments(
    aws: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<Applied, ChangeError> {
    let fis = aws.region(region).fis;
    let mut changed = false;
    for id in running_experiments(&fis, template_id, run_id).await? {
        fis.stop_experiment().id(&id).send().await.map_err(|e| {
            explain(
                &format!("stopping FIS experiment {id}"),
                "fis:StopExperiment",
                &e,
            )
        })?;
        changed = true;
    }
    Ok(applied(changed))
}

/// Whether no experiment of the run still runs.
pub async fn stopped(
    aws: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<(), ChangeError> {
    let running = running_experiments(&aws.region(region).fis, template_id, run_id).await?;
    if running.is_empty() {
        Ok(())
    } else {
        Err(format!("FIS experiment(s) {} still running", running.join(", ")).into())
    }
}

/// Where the run's experiment stands; `cut_short` when FIS stopped or failed it.
pub async fn experiment_state(
    aws: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<ChangeState, ChangeError> {
    use aws_sdk_fis::types::ExperimentStatus;
    let fis = aws.region(region).fis;
    let Some(id) = run_experiments(&fis, template_id, run_id)
        .await?
        .into_iter()
        .find_map(|x| x.id().map(str::to_string))
    else {
        return Err(
            format!("no FIS experiment of run {run_id} from template {template_id}").into(),
        );
    };
    let x = fis.get_experiment().id(&id).send().await.map_err(|e| {
        explain(
            &format!("following FIS experiment {id}"),
            "fis:GetExperiment",
            &e,
        )
    })?;
    let state = x.experiment().and_then(|x| x.state());
    let status = state.and_then(|s| s.status());
    let reason = state.and_then(|s| s.reason()).unwrap_or("no reason given");
    let name = status
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cut_short = matches!(
        status,
        Some(
            ExperimentStatus::Failed
                | ExperimentStatus::Stopped
                | ExperimentStatus::Stopping
                | ExperimentStatus::Cancelled
        )
    )
    .then(|| format!("FIS experiment {id} is {name}: {reason}"));
    Ok(ChangeState {
        state: format!("FIS experiment {id} {name}"),
        cut_short,
    })
}

/// One action of an experiment as FIS recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionTimes {
    /// The experiment's id.
    pub experiment: String,
    /// The action's name in the template.
    pub name: String,
    /// Its FIS action id, e.g. `aws:network:route-table-disrupt-cross-region-connectivity`.
    pub action_id: String,
    /// When FIS says it started and ended (its clock, to the millisecond).
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    /// ...
    pub ended: Option<chrono::DateTime<chrono::Utc>>,
    /// Its final status, e.g. `completed`, `stopped`.
    pub status: String,
}

/// The actions of the run's experiments from the template, with the times
/// FIS recorded, in name order; read after the run, for the timeline.
pub async fn action_times(
    aws: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<Vec<ActionTimes>, String> {
    let fis = aws.region(region).fis;
    let mut out = Vec::new();
    for id in run_experiments(&fis, template_id, run_id)
        .await?
        .iter()
        .filter_map(|x| x.id())
    {
        let x = fis.get_experiment().id(id).send().await.map_err(|e| {
            explain(
                &format!("reading FIS experiment {id}"),
                "fis:GetExperiment",
                &e,
            )
        })?;
        let mut actions: Vec<_> = x
            .experiment()
            .and_then(|x| x.actions())
            .into_iter()
            .flatten()
            .collect();
        actions.sort_by(|a, b| a.0.cmp(b.0));
        out.extend(actions.into_iter().map(|(name, a)| {
            ActionTimes {
                experiment: id.to_string(),
                name: name.clone(),
                action_id: a.action_id().unwrap_or("unknown").to_string(),
                started: a.start_time().and_then(chrono_time),
                ended: a.end_time().and_then(chrono_time),
                status: a
                    .state()
                    .and_then(|s| s.status())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "unknown".into()),
            }
        }));
    }
    Ok(out)
}

fn chrono_time(t: &aws_sdk_fis::primitives::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The experiments of the template tagged with the run.
async fn run_experiments(
    fis: &aws_sdk_fis::Client,
    template_id: &str,
    run_id: &str,
) -> Result<Vec<aws_sdk_fis::types::ExperimentSummary>, String> {
    let out = fis
        .list_experiments()
        .experiment_template_id(template_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("listing experiments of template {template_id}"),
                "fis:ListExperiments",
                &e,
            )
        })?;
    Ok(out
        .experiments()
        .iter()
        .filter(|x| {
            x.tags()
                .and_then(|t| t.get(TAG_RUN))
                .is_some_and(|r| r == run_id)
        })
        .cloned()
        .collect())
}

/// Ids of the run's experiments that are still going.
async fn running_experiments(
    fis: &aws_sdk_fis::Client,
    template_id: &str,
    run_id: &str,
) -> Result<Vec<String>, String> {
    use aws_sdk_fis::types::ExperimentStatus;
    Ok(run_experiments(fis, template_id, run_id)
        .await?
        .iter()
        .filter(|x| {
            matches!(
                x.state().and_then(|s| s.status()),
                Some(
                    ExperimentStatus::Pending
                        | ExperimentStatus::Initiating
                        | ExperimentStatus::Running
                )
            )
        })
        .filter_map(|x| x.id().map(str::to_string))
        .collect())
}

/// Starts the experiment and waits until its first action starts: that is when
/// the fault takes effect, not when the API answers.
pub async fn start_experiment(
    aws: &AwsClients,
    region: &str,
    template_id: &str,
    run_id: &str,
) -> Result<Applied, ChangeError> {
    use aws_sdk_fis::types::{ExperimentActionStatus, ExperimentStatus};
    let fis = aws.region(region).fis;
    // The run id is the idempotency token: a retried start is the same experiment.
    // A client token has at most 64 characters; a run id is ASCII.
    let token = run_id
        .get(run_id.len().saturating_sub(64)..)
        .unwrap_or(run_id);
    let out = fis
        .start_experiment()
        .experiment_template_id(template_id)
        .client_token(token)
        .tags(TAG_RUN, run_id)
        .send()
        .await
        .map_err(|e| {
            explain(
                &format!("starting FIS experiment from template {template_id}"),
                "fis:StartExperiment",
                &e,
            )
        })?;
    let id = out
        .experiment()
        .and_then(|x| x.id())
        .ok_or("StartExperiment answered without an experiment id")?
        .to_string();
    let deadline = mono_now() + 120_000_000_000;
    loop {
        let x = fis.get_experiment().id(&id).send().await.map_err(|e| {
            explain(
                &format!("following FIS experiment {id}"),
                "fis:GetExperiment",
                &e,
            )
        })?;
        let experiment = x.experiment();
        let status = experiment.and_then(|x| x.state()).and_then(|s| s.status());
        let action_started = experiment.and_then(|x| x.actions()).is_some_and(|actions| {
            actions.values().any(|a| {
                a.start_time().is_some()
                    || matches!(
                        a.state().and_then(|s| s.status()),
                        Some(ExperimentActionStatus::Running | ExperimentActionStatus::Completed)
                    )
            })
        });
        if action_started || matches!(status, Some(ExperimentStatus::Completed)) {
            return Ok(applied(true));
        }
        if let Some(
            s
            @ (ExperimentStatus::Failed | ExperimentStatus::Stopped | ExperimentStatus::Cancelled),
        ) = status
        {
            let reason = experiment
                .and_then(|x| x.state())
                .and_then(|s| s.reason())
                .unwrap_or("no reason given");
            return Err(format!(
                "FIS experiment {id} ended {} before any action started: {reason}",
                s.as_str()
            )
            .into());
        }
        if mono_now() > deadline {
            return Err(format!("FIS experiment {id} started no action within 2 minutes; look at it in the FIS console").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
