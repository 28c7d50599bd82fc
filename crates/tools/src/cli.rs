//! Command-line parsing and dispatch for the tools binary.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::volumes::Env;
use crate::{conv, deploy, extract, report, submit, sys, tocsv};

/// The usage text.
pub const USAGE: &str = "\
usage:
  submit [FILE…]                 hand in FILEs (default: every *.ipynb of your personal volume)
  extract [--only-tagged] [--from DIR] [--to DIR] BASE CODENUM…
                                 gather question CODENUM… of every BASE submission into NNN-BASE
  tocsv [--legacy|--nbgrader] [--dir DIR] [-o FILE|-] BASE
                                 collect the scores of the NNN-BASE notebooks into BASE.csv
  conv IN [OUT|-] [FACTOR]       tag the code cells of IN with filename: and codenum: (ipynb_conv)
  setup TASK_DIR PERSONAL_DIR [FACTOR]
                                 tag the notebooks of PERSONAL_DIR that come from TASK_DIR (ipynb_setup)
  deploy DEST [FACTOR]           publish the files of the current directory to DEST, notebooks
                                 tagged, all readable by everyone (ipynb_deploy)
Run as `lticontainer-tools COMMAND …` or through a link named after the command.";

/// The names the binary answers to when called through a link.
const COMMANDS: [&str; 9] = [
    "submit",
    "extract",
    "tocsv",
    "conv",
    "setup",
    "deploy",
    "ipynb_conv",
    "ipynb_setup",
    "ipynb_deploy",
];

/// Runs the tools with `argv` (program name first); returns the exit status: 0 success,
/// 1 failure, 2 bad usage.
pub fn main(argv: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let prog = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut args: Vec<String> = Vec::new();
    for a in argv.iter().skip(1) {
        match a.to_str() {
            Some(s) => args.push(s.to_owned()),
            None => {
                let _ = writeln!(err, "error: the argument {a:?} is not valid UTF-8");
                return 2;
            }
        }
    }
    let command = if COMMANDS.contains(&prog.as_str()) {
        prog
    } else if let Some(first) = args.first().cloned() {
        args.remove(0);
        first
    } else {
        let _ = writeln!(err, "{USAGE}");
        return 2;
    };
    if args.iter().any(|a| a == "-h" || a == "--help") || command == "help" || command == "--help" {
        let _ = writeln!(out, "{USAGE}");
        return 0;
    }
    if command == "--version" {
        let _ = writeln!(out, "lticontainer-tools {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    match dispatch(&command, &args, out, err) {
        Ok(()) => 0,
        Err(e @ Error::Usage(_)) => {
            let _ = writeln!(err, "{command}: {e}\n{USAGE}");
            2
        }
        Err(e) => {
            let _ = writeln!(err, "{command}: {}", report(&e));
            1
        }
    }
}

fn usage(text: impl Into<String>) -> Error {
    Error::Usage(text.into())
}

fn factor(arg: Option<&String>) -> Result<u32> {
    match arg {
        None => Ok(1),
        Some(s) => s.parse().ok().filter(|&f: &u32| f > 0).ok_or_else(|| {
            usage(format!(
                "FACTOR must be a positive whole number, not \"{s}\""
            ))
        }),
    }
}

/// Options given (name, value) in order.
type Opts = Vec<(String, Option<String>)>;

/// Splits `args` into options (with the values of `valued` options) and positional words.
fn split_options(args: &[String], flags: &[&str], valued: &[&str]) -> Result<(Opts, Vec<String>)> {
    let mut opts = Vec::new();
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            words.extend(it.by_ref().cloned());
            break;
        }
        if flags.contains(&a.as_str()) {
            opts.push((a.clone(), None));
        } else if valued.contains(&a.as_str()) {
            let v = it
                .next()
                .ok_or_else(|| usage(format!("{a} needs a value")))?;
            opts.push((a.clone(), Some(v.clone())));
        } else if a.starts_with('-') && a != "-" {
            return Err(usage(format!("unknown option {a}")));
        } else {
            words.push(a.clone());
        }
    }
    Ok((opts, words))
}

fn opt<'a>(opts: &'a [(String, Option<String>)], name: &str) -> Option<&'a str> {
    opts.iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
}

fn has(opts: &[(String, Option<String>)], name: &str) -> bool {
    opts.iter().any(|(k, _)| k == name)
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir().map_err(Error::io("find", "the current directory"))
}

fn dispatch(
    command: &str,
    args: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let env = Env::from_process();
    match command {
        "submit" => {
            let (_, files) = split_options(args, &[], &[])?;
            let files: Vec<PathBuf> = files.into_iter().map(PathBuf::from).collect();
            submit::run(&env, &sys::current_user(), &files, &cwd()?, out).map(drop)
        }
        "extract" => {
            let (opts, words) = split_options(args, &["--only-tagged"], &["--from", "--to"])?;
            let (base, nums) = words
                .split_first()
                .ok_or_else(|| usage("extract needs BASE and at least one CODENUM"))?;
            let codenums = nums
                .iter()
                // The original wrapper passed a trailing "n" flag; accept and ignore it.
                .filter(|n| n.as_str() != "n" && n.as_str() != "y")
                .map(|n| {
                    n.parse::<u32>()
                        .map_err(|_| usage(format!("CODENUM must be a whole number, not \"{n}\"")))
                })
                .collect::<Result<Vec<u32>>>()?;
            let here = cwd()?;
            let from = opt(&opts, "--from").map(PathBuf::from).unwrap_or_else(|| {
                env.submit()
                    .map(|(_, d)| d)
                    .filter(|d| d.is_dir())
                    .unwrap_or_else(|| here.clone())
            });
            let to = opt(&opts, "--to").map(PathBuf::from).unwrap_or_else(|| {
                env.personal_dir()
                    .filter(|d| d.is_dir())
                    .unwrap_or_else(|| here.clone())
            });
            let options = extract::Options {
                base: base.clone(),
                codenums,
                include_untagged: !has(&opts, "--only-tagged"),
            };
            let report = extract::run(&from, &to, &options, err)?;
            let _ = writeln!(
                out,
                "{} written ({} submissions: {}).",
                report.output.display(),
                report.users.len(),
                report.users.join(", ")
            );
            Ok(())
        }
        "tocsv" => {
            let (opts, words) = split_options(
                args,
                &["--legacy", "--nbgrader"],
                &["--dir", "-o", "--output"],
            )?;
            let [base] = words.as_slice() else {
                return Err(usage("tocsv needs exactly one BASE"));
            };
            if !base.ends_with(".ipynb") || base.contains('/') {
                return Err(usage(format!(
                    "BASE must be a notebook file name ending in .ipynb, not \"{base}\""
                )));
            }
            let format = match (has(&opts, "--legacy"), has(&opts, "--nbgrader")) {
                (true, true) => return Err(usage("choose --legacy or --nbgrader, not both")),
                (true, false) => tocsv::Format::Legacy,
                (false, true) => tocsv::Format::Nbgrader,
                (false, false) => tocsv::Format::Rfc4180,
            };
            let dir = match opt(&opts, "--dir") {
                Some(d) => PathBuf::from(d),
                None => env
                    .personal_dir()
                    .filter(|d| d.is_dir())
                    .map_or_else(cwd, Ok)?,
            };
            let output = opt(&opts, "-o").or(opt(&opts, "--output"));
            if output == Some("-") {
                let scores = tocsv::collect(&dir, base, err)?;
                let assignment = base.strip_suffix(".ipynb").unwrap_or(base);
                return out
                    .write_all(tocsv::render(&scores, format, assignment).as_bytes())
                    .map_err(Error::io("write", "standard output"));
            }
            let path = output.map_or_else(|| dir.join(tocsv::csv_name(base)), PathBuf::from);
            let scores = tocsv::run(&dir, base, format, &path, err)?;
            let _ = writeln!(
                out,
                "{} written ({} users).",
                path.display(),
                scores.users.len()
            );
            Ok(())
        }
        "conv" | "ipynb_conv" => {
            let (_, words) = split_options(args, &[], &[])?;
            let (input, output, fac) = match words.as_slice() {
                [i] => (i, None, None),
                [i, o] => (i, Some(o), None),
                [i, o, f] => (i, Some(o), Some(f)),
                _ => return Err(usage("conv needs IN [OUT|-] [FACTOR]")),
            };
            let output = output.filter(|o| o.as_str() != "-").map(PathBuf::from);
            conv::conv_file(Path::new(input), output.as_deref(), factor(fac)?, out)
        }
        "setup" | "ipynb_setup" => {
            let (_, words) = split_options(args, &[], &[])?;
            let (task, personal, fac) = match words.as_slice() {
                [t, p] => (t, p, None),
                [t, p, f] => (t, p, Some(f)),
                _ => return Err(usage("setup needs TASK_DIR PERSONAL_DIR [FACTOR]")),
            };
            let n = conv::setup(Path::new(task), Path::new(personal), factor(fac)?, err)?;
            let _ = writeln!(out, "{n} notebooks tagged in {personal}.");
            Ok(())
        }
        "deploy" | "ipynb_deploy" => {
            let (_, words) = split_options(args, &[], &[])?;
            let (dest, fac) = match words.as_slice() {
                [d] => (d, None),
                [d, f] => (d, Some(f)),
                _ => return Err(usage("deploy needs DEST [FACTOR]")),
            };
            deploy::run(&cwd()?, Path::new(dest), factor(fac)?, out).map(drop)
        }
        other => Err(usage(format!("unknown command \"{other}\""))),
    }
}
