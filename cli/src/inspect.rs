//! `loadguard inspect FILE [--json] [--format F] [--lenient]`: detect a model file's format from
//! its bytes and list its tensors and metadata.
//!
//! The file is opened through a [`Registry`](loadguard::Registry) and parsed strictly; the
//! report is rendered by [`loadguard_cli::report`], which the snapshot suites use too. A file
//! of no known format, or a malformed one, exits with status 1 and the error on stderr (and,
//! with `--json`, an `error` object on stdout). A shard index or the first file of a GGUF split
//! opens every shard.

use std::path::PathBuf;
use std::process::ExitCode;

use loadguard::Model;
use loadguard::format::{Format, ParseOptions};
use loadguard_cli::report;

/// Formats `--format` accepts.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Detect from the bytes (the default).
    Auto,
    /// safetensors.
    Safetensors,
    /// A safetensors shard index (`*.safetensors.index.json`).
    SafetensorsIndex,
    /// GGUF.
    Gguf,
    /// ExecuTorch program.
    Pte,
    /// ExecuTorch named data.
    Ptd,
    /// Opaque bytes: no tensors, no error.
    Raw,
}

/// Arguments of `loadguard inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The model file (safetensors or its index, GGUF, ExecuTorch .pte or .ptd).
    pub file: PathBuf,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Parse as this format instead of detecting it (`raw` accepts any bytes).
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Lenient GGUF: accept what ggml's reader rejects (empty keys, names of 64 bytes or
    /// more, zero dimensions, tensors out of order, nested arrays).
    #[arg(long)]
    pub lenient: bool,
}

/// Runs `loadguard inspect`.
pub fn run(args: &Args) -> ExitCode {
    let registry = loadguard::Registry::new();
    let mut opts = ParseOptions::new().lenient(args.lenient);
    let forced = match args.format {
        FormatArg::Auto => None,
        FormatArg::Safetensors => Some(Format::Safetensors),
        FormatArg::SafetensorsIndex => Some(Format::SafetensorsIndex),
        FormatArg::Gguf => Some(Format::Gguf),
        FormatArg::Pte => Some(Format::Pte),
        FormatArg::Ptd => Some(Format::Ptd),
        FormatArg::Raw => Some(Format::Raw),
    };
    if let Some(f) = forced {
        opts = opts.format(f);
    }
    match Model::open_with(&registry, &args.file, &loadguard::LoadOptions::new(), &opts) {
        Ok(model) => {
            if args.json {
                println!("{}", report::pretty(&report::to_json(&model)));
            } else {
                print!("{}", report::to_text(&model));
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{}", report::error_text("inspect", &err));
            if args.json {
                println!("{}", report::pretty(&report::error_json(&err)));
            }
            ExitCode::FAILURE
        }
    }
}
