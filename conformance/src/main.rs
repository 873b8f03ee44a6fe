//! The `conformance` command: see `conformance --help`.

fn main() -> std::process::ExitCode {
    agentwire_conformance::cli::main(&agentwire_conformance::NoLauncher)
}
