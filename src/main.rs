use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    pullsmith::fsio::ignore_file_size_signal();
    let cli = pullsmith::cli::Cli::parse();
    match pullsmith::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("pullsmith: {}", pullsmith::error_message(&err));
            ExitCode::from(2)
        }
    }
}
