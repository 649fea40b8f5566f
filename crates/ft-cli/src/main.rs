//! `ft`: fine-tune pretrained models from the command line. Wiring only: parsing, merging a
//! recipe / config file with flags, and calling ft-jobs' driver and saved runs.
mod flags;
mod recipes;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use flags::TrainCmd;
use ft_jobs::saved::{Evaluated, InputKind, PredictInputs};
use ft_jobs::RunConfig;
use ft_models::gpt2::GenerateOptions;
use ft_train::interrupt::Interrupted;
use ft_train::reporter::Stdout;
use ft_train::run_dir::RunDir;
use ft_train::DeviceSpec;
use serde_json::Value;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "ft",
    version,
    about = "Fine-tune pretrained models (BERT-family text models, ResNet / EfficientNet image models) on your data."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fine-tune a model and evaluate it.
    #[command(after_help = "Examples:\n  \
        ft train --recipe sentiment --output-dir runs/s1\n  \
        ft train --recipe sentiment --learning-rate 3e-5 --num-train-epochs 2 --output-dir runs/s2\n  \
        ft train --task seq-cls --model minilm-l6 --train-file reviews.csv --text-column review \\\n           \
        --label-column stars --validation-fraction 0.1 --test-fraction 0.1 --output-dir runs/mine\n  \
        ft train --recipe fashion-probe --output-dir runs/probe\n  \
        ft train --task image-cls --model resnet50 --train-file pets/train --validation-file pets/val \\\n           \
        --freeze-strategy linear-probe --optim adam --learning-rate 1e-4 --output-dir runs/pets")]
    Train(Box<TrainCmd>),
    /// Evaluate a trained run on its test split (or on --data-file: a file read like the
    /// training data, or for image runs a folder with one sub-folder per class).
    #[command(after_help = "Example:\n  ft eval --model runs/s1")]
    Eval {
        /// A run directory written by `ft train`.
        #[arg(long)]
        model: PathBuf,
        /// Evaluate on this file instead (read with the run's data options).
        #[arg(long)]
        data_file: Option<PathBuf>,
        /// auto, cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: DeviceSpec,
    },
    /// Predict for texts (one per line, from --input or stdin) or, for image runs, for the
    /// image files and folders given; prints one JSON object per input.
    #[command(
        after_help = "Examples:\n  echo 'a gorgeous, moving film' | ft predict --model runs/s1\n  \
        ft predict --model runs/pets photos/cat.jpg photos/more/"
    )]
    Predict {
        #[arg(long)]
        model: PathBuf,
        /// Text input file (default: stdin).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Image files or folders (image runs).
        images: Vec<PathBuf>,
        /// auto, cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: DeviceSpec,
    },
    /// Continue a prompt with a causal-LM run (or a fetched `gpt2`).
    #[command(
        after_help = "Examples:\n  ft generate --model runs/lm-finetune --prompt 'This movie'\n  \
        ft generate --model gpt2 --prompt 'Fine-tuning is' --greedy --max-new-tokens 20"
    )]
    Generate(GenerateCmd),
    /// List the built-in recipes.
    Recipes,
}

#[derive(clap::Args)]
struct GenerateCmd {
    /// A causal-LM run directory or a fetched model name (gpt2).
    #[arg(long)]
    model: String,
    #[arg(long)]
    prompt: String,
    /// Tokens to generate at most (stops early at end-of-text).
    #[arg(long, default_value_t = 40)]
    max_new_tokens: usize,
    /// Always take the most likely token (ignores the sampling settings).
    #[arg(long)]
    greedy: bool,
    /// Below 1 sharpens the distribution, above 1 flattens it.
    #[arg(long, default_value_t = 0.8, value_parser = flags::finite_f64)]
    temperature: f64,
    /// Sample among the k most likely tokens (0: all).
    #[arg(long, default_value_t = 50)]
    top_k: usize,
    /// Sample among the most likely tokens whose probabilities add up to p.
    #[arg(long, value_parser = flags::finite_f64)]
    top_p: Option<f64>,
    /// The same seed, model and prompt give the same text.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many continuations (seeds seed, seed+1, ...).
    #[arg(long, default_value_t = 1)]
    num_return_sequences: u64,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceSpec,
}

fn train(cmd: &TrainCmd) -> Result<()> {
    let config = cmd.run_config()?;
    ft_train::interrupt::install_handler()?;
    // Held until the run ends: one writer at a time, and a run that fails before its first
    // checkpoint leaves the directory as it found it (an --overwritten run comes back).
    let claim = RunDir::claim(
        &config.training,
        &ft_jobs::resolve::inputs_of(&config),
        cmd.overwrite,
    )?;
    let out = &config.training.output_dir;
    let resumes = config.training.resume_from_checkpoint.is_some()
        && ft_train::checkpoint::latest_complete(out).0.is_some();
    let prepared = if resumes {
        ft_jobs::provenance::check_same_inputs(&config)
    } else {
        ft_jobs::provenance::write_run_json_at_start(&config)
    };
    let result = prepared.and_then(|()| run_job(&config));
    let finished = claim.finish(result.is_ok());
    result.and(finished)
}

fn run_job(config: &RunConfig) -> Result<()> {
    let outcome = ft_jobs::run(config, Arc::new(Stdout))?;
    let train = &outcome.train;
    println!(
        "\nrun finished in {:.0} s ({} steps)",
        train.train_seconds, train.global_step
    );
    for e in &train.evaluations {
        println!("  {e}");
    }
    if let Some(best) = train.best_metric {
        println!("  best {} = {best:.4}", config.training.best_metric());
    }
    // Jobs with a comparison showed their test numbers in its table.
    match &outcome.test {
        Some(test) if outcome.comparison.is_empty() => {
            println!("test: {}", ft_train::summarize(test))
        }
        _ => {}
    }
    println!("outputs: {}", outcome.output_dir.display());
    Ok(())
}

fn eval(model: &Path, data_file: Option<&Path>, device: DeviceSpec) -> Result<()> {
    let run = ft_jobs::open(model, ft_jobs::resolve::device(device)?)?;
    let Evaluated { result, labels } = run.evaluate(data_file)?;
    println!("{}", result.report);
    if let Some(cm) = &result.confusion {
        let png = model.join("eval_confusion_matrix.png");
        ft_jobs::report::draw_confusion(&png, &labels, cm)?;
        println!("confusion matrix picture: {}", png.display());
        println!(
            "confusion matrix (rows: reference, columns: predicted; {})",
            labels.join(", ")
        );
        for row in cm {
            println!(
                "  {}",
                row.iter().map(|c| format!("{c:>6}")).collect::<String>()
            );
        }
    }
    let json = serde_json::to_string_pretty(&result.metrics)?;
    ft_models::st::write_file_atomic(&model.join("eval_metrics.json"), json.as_bytes())?;
    println!("{json}");
    Ok(())
}

fn predict(
    model: &Path,
    input: Option<&Path>,
    images: &[PathBuf],
    device: DeviceSpec,
) -> Result<()> {
    let run = ft_jobs::open(model, ft_jobs::resolve::device(device)?)?;
    // Texts are read only for a run that takes them (stdin would otherwise block).
    let predictions = match run.predict_inputs() {
        Some(InputKind::Texts) if images.is_empty() => {
            let lines: Vec<String> = match input {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .lines()
                    .map(str::to_string)
                    .collect(),
                None => std::io::stdin().lock().lines().collect::<Result<_, _>>()?,
            };
            let texts: Vec<String> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
            run.predict(PredictInputs::Texts(&texts))?
        }
        Some(InputKind::Images) if images.is_empty() => run.predict(PredictInputs::Texts(&[]))?,
        _ => run.predict(PredictInputs::Images(images))?,
    };
    let mut out = std::io::stdout().lock();
    for p in predictions {
        writeln!(out, "{}", serde_json::to_string(&p)?)?;
    }
    Ok(())
}

fn generate(cmd: &GenerateCmd) -> Result<()> {
    let device = ft_jobs::resolve::device(cmd.device)?;
    let generator = ft_jobs::saved::open_for_generation(&cmd.model, device)?;
    for i in 0..cmd.num_return_sequences {
        let mut options = if cmd.greedy {
            GenerateOptions::greedy(cmd.max_new_tokens)
        } else {
            GenerateOptions::sampling(cmd.max_new_tokens, cmd.seed + i)
        };
        options.temperature = cmd.temperature;
        options.top_k = (cmd.top_k > 0).then_some(cmd.top_k);
        options.top_p = cmd.top_p;
        println!(
            "{}{}",
            cmd.prompt,
            generator.generate(&cmd.prompt, &options)?
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(cmd) => train(cmd),
        Command::Eval {
            model,
            data_file,
            device,
        } => eval(model, data_file.as_deref(), *device),
        Command::Predict {
            model,
            input,
            images,
            device,
        } => predict(model, input.as_deref(), images, *device),
        Command::Generate(cmd) => generate(cmd),
        Command::Recipes => {
            for (name, text) in recipes::RECIPES {
                let v: Value = serde_json::from_str(text).unwrap_or_default();
                println!("{name:<12} {}", v["description"].as_str().unwrap_or(""));
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<Interrupted>().is_some() => {
            let stop = err.downcast_ref::<Interrupted>().expect("checked");
            eprintln!("{stop}");
            ExitCode::from(stop.exit_code())
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
