use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    pullsmith::fsio::ignore_file_size_signal();
    let cli = pullsmith::cli::Cli::parse();
    match pullsmith::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            for line in pullsmith::error_lines(&err) {
                eprintln!("pullsmith: {line}");
            }
            ExitCode::from(2)
        }
    }
}
