fn main() -> std::process::ExitCode {
    linkdock::cli::main()
}
