//! `loadguard inspect FILE [--json]`: detect a model file's format from its bytes and list its
//! tensors and metadata.
//!
//! The file is opened through a [`Registry`](loadguard::Registry) (mapped, or read when mapping
//! is impossible) and parsed strictly; the report is rendered by
//! [`loadguard::format::report`], which the snapshot suites use too. A malformed file exits
//! with status 1 and the error on stderr (and, with `--json`, an `error` object on stdout).

use std::path::PathBuf;
use std::process::ExitCode;

use loadguard::format::{Model, report};

/// Arguments of `loadguard inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file (safetensors, GGUF, ExecuTorch .pte, or anything else as raw bytes).
    pub file: PathBuf,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `loadguard inspect`.
pub fn run(args: &Args) -> ExitCode {
    let registry = loadguard::Registry::new();
    match Model::open(&registry, &args.file) {
        Ok(model) => {
            let bytes = model.session().bytes();
            if args.json {
                println!(
                    "{}",
                    report::to_json(model.info(), &args.file, bytes).pretty()
                );
            } else {
                print!("{}", report::to_text(model.info(), &args.file, bytes));
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{}", report::error_text(&err));
            if args.json {
                println!("{}", report::error_json(&err).pretty());
            }
            ExitCode::FAILURE
        }
    }
}
