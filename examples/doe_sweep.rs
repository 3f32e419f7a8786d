//! A parameter sweep (design of experiments): a template file whose `${velocity}` is
//! filled in for each run, a variable over a fixed range, one run per value. Creates and
//! submits the job, waits for it, and prints each run with its variable values.
//!
//! ```text
//! cargo run --example doe_sweep                       # on a local fake platform
//! RESCALE_API_KEY=... cargo run --example doe_sweep
//! ```

mod common;

use futures::TryStreamExt;
use rescale::JobOutcome;
use rescale::jobs::{
    Hardware, JobAnalysis, JobVariable, NewJob, TemplateTask, ValueGenerator, VariableType,
};

/// A parameter sweep: uploads a template, creates and submits a job with one run per value, waits for it and prints each run. On a local fake platform unless RESCALE_API_KEY is set (then on the real one, billed).
#[derive(clap::Parser)]
struct Args {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // No options: `--help` says what running it does, and does nothing else.
    <Args as clap::Parser>::parse();
    let connection = common::connect().await?;
    let client = connection.client.clone();
    let jobs = client.jobs();

    // 1. Upload the template: each run gets it with its own value filled in.
    let scratch = tempfile::tempdir()?;
    let template = scratch.path().join("inlet.template");
    std::fs::write(&template, "inlet_velocity ${velocity};\n")?;
    let uploaded = client.files().upload(&template).await?;
    println!(
        "uploaded template {} as {}",
        common::printable(&uploaded.name),
        common::printable(&uploaded.id)
    );

    // 2. The sweep: velocity = 10, 20, 30; two runs at a time.
    let velocity = ValueGenerator::fixed_range(10.0, 30.0, 10.0);
    let new = NewJob::new(
        "rescale-rs DOE sweep example",
        vec![
            JobAnalysis::new(
                "user_included",
                "cat inlet.txt > result.txt",
                Hardware::new("emerald", 1).slots(2).walltime_hours(1),
            )
            .version("0")
            .template_task(TemplateTask::new(&uploaded, "inlet.txt")),
        ],
    )
    .variable(
        JobVariable::new("velocity", VariableType::Param)
            .display_order(0)
            .generator(velocity.clone()),
    );
    println!(
        "sweeping velocity over {:?}",
        velocity.values().unwrap_or_default()
    );

    // 3. Create (checked before it is sent) and submit.
    let job = jobs.create(&new).await?;
    jobs.submit(&job.id).await?;
    println!("submitted job {}", job.id);
    match jobs
        .wait_for_completion(&job.id)
        .poll_interval(connection.poll_interval)
        .await?
    {
        JobOutcome::Succeeded { .. } => println!("job succeeded"),
        other => println!("job ended: {other:?}"),
    }

    // 4. One run per value.
    let runs: Vec<_> = jobs.runs(&job.id).stream().try_collect().await?;
    println!("{} runs:", runs.len());
    for run in &runs {
        let values: Vec<String> = run
            .variables
            .iter()
            .map(|v| {
                let shown = v
                    .display_value
                    .clone()
                    .unwrap_or_else(|| v.value.to_string());
                format!("{} = {shown}", v.name)
            })
            .collect();
        println!("  run {:>3}: {}", run.id, values.join(", "));
    }
    Ok(())
}
