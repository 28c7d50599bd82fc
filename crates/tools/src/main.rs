//! The `lticontainer-tools` binary: `submit`, `extract`, `tocsv`, `conv` and `setup`, chosen by the
//! first argument or by the name it is called under (a link named `submit` runs `submit`).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = lticontainer_tools::cli::main(&args, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
