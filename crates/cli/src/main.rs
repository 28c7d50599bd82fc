//! The `lticontainer` binary: `serve`, `check-config`, `gen-config`, `install`, and the admin
//! subcommands `users`, `user`, `stop`, `cull` (requests to the running hub's admin API), and
//! `lti13 registration-url`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lticontainer_hub::LogFormat;

mod admin;
mod config;
mod grades;
mod install;
mod lti13;
mod runtime;
mod serve;
mod tls;

/// lticontainer: every student of a Moodle course gets their own Jupyter server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The `--config` option every subcommand that reads the configuration takes.
#[derive(Debug, clap::Args)]
pub(crate) struct ConfigArg {
    /// The TOML configuration file.
    #[arg(
        long,
        short,
        env = "LTICONTAINER_CONFIG",
        default_value = "/etc/lticontainer/lticontainer.toml"
    )]
    pub(crate) config: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the hub: LTI launches, spawn progress, the proxy to users' servers.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Reads and checks a configuration file, then prints a summary (never the secrets).
    CheckConfig {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Prints a commented configuration with every field and its default.
    GenConfig {
        /// Fills `[lti] consumers` with this consumer key (needs --consumer-secret).
        #[arg(long, requires = "consumer_secret")]
        consumer_key: Option<String>,
        /// The consumer's shared secret (e.g. from `openssl rand -hex 32`).
        #[arg(long, requires = "consumer_key")]
        consumer_secret: Option<String>,
    },
    /// Installs this binary, a configuration (when there is none: with a new LTI secret, printed
    /// once), the systemd unit and the state directory.
    Install {
        /// Install below this directory instead of `/` (a package build, a test).
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// The container engine a new configuration names.
        #[arg(long, default_value = "docker", value_parser = ["docker", "podman"])]
        engine: String,
    },
    /// Lists every user of the running hub and their server (admin API, `[hub] api_token`).
    Users {
        #[command(flatten)]
        hub: admin::HubArgs,
    },
    /// Shows one user of the running hub and their server.
    User {
        /// The user's name, as `users` lists it.
        name: String,
        #[command(flatten)]
        hub: admin::HubArgs,
    },
    /// Stops a user's server (a start under way is cancelled; files are kept).
    Stop {
        /// The user's name, as `users` lists it.
        name: String,
        #[command(flatten)]
        hub: admin::HubArgs,
    },
    /// Checks every running server against its limits now (activity limit, idle time, maximum
    /// age), as the culler's round does, and stops those over one.
    Cull {
        #[command(flatten)]
        hub: admin::HubArgs,
    },
    /// Grades back to the LMS: `grades send` sends one column of `tocsv`'s CSV to the
    /// gradebook of an activity (admin API, `[hub] api_token`).
    Grades {
        #[command(subcommand)]
        command: grades::GradesCommand,
    },
    /// LTI 1.3 administration.
    Lti13 {
        #[command(subcommand)]
        action: Lti13Command,
    },
}

/// The `lti13` subcommands.
#[derive(Debug, Subcommand)]
enum Lti13Command {
    /// Prints a one-use LTI Dynamic Registration URL to paste into the LMS (Moodle: Manage
    /// tools > Tool URL > Add LTI Advantage). Run it as the hub's user: the secret is kept
    /// (hashed) in the state directory.
    RegistrationUrl {
        #[command(flatten)]
        config: ConfigArg,
        /// The hub's public URL (default: `[public_url] base_url`).
        #[arg(long)]
        base_url: Option<String>,
        /// How long the URL is valid, in seconds.
        #[arg(long, default_value_t = lticontainer_hub::lti13::DEFAULT_SECRET_TTL_SECS)]
        valid_secs: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config: ConfigArg { config },
        } => {
            let cfg = match config::Config::load(&config) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            init_tracing(cfg.hub.log_format);
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
            };
            match rt.block_on(serve::serve(cfg)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::CheckConfig {
            config: ConfigArg { config },
        } => match config::Config::load(&config) {
            Ok(cfg) => {
                println!(
                    "{}: ok\n  engine: {:?}\n  listen: {}\n  state: {}\n  store: {}\n  consumers: {:?}\n  image: {}\n  spawn limit: {}, ports {}-{}",
                    config.display(),
                    cfg.engine,
                    cfg.hub.bind,
                    cfg.hub.state_dir.display(),
                    cfg.store_path().display(),
                    cfg.lti.consumers.keys().collect::<Vec<_>>(),
                    cfg.spec.default_image,
                    cfg.hub.max_concurrent_spawns,
                    cfg.hub.port_min,
                    cfg.hub.port_max,
                );
                match cfg.hub.network {
                    lticontainer_hub::Networking::Isolated => println!(
                        "  network: isolated (a private network per user from {}; servers' hub API on port {})",
                        cfg.hub.network_pool, cfg.hub.container_api_port
                    ),
                    lticontainer_hub::Networking::Host => {
                        println!("  network: host");
                        eprintln!(
                            "lticontainer: warning: {}",
                            lticontainer_hub::config::HOST_NETWORK_WARNING
                        );
                    }
                }
                match runtime::build_runtime(&cfg) {
                    Ok(_) => ExitCode::SUCCESS,
                    Err(e) => fail(&e),
                }
            }
            Err(e) => fail(&e),
        },
        Command::GenConfig {
            consumer_key,
            consumer_secret,
        } => {
            print!(
                "{}",
                gen_config(consumer_key.as_deref().zip(consumer_secret.as_deref()))
            );
            ExitCode::SUCCESS
        }
        Command::Install { root, engine } => {
            let binary = match std::env::current_exe() {
                Ok(b) => b,
                Err(e) => return fail(&format!("cannot tell where this binary is: {e}")),
            };
            match install::install(&install::InstallRequest {
                root,
                binary,
                engine,
            }) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Users { hub } => admin_command(&hub, admin::Action::Users),
        Command::User { name, hub } => admin_command(&hub, admin::Action::User(name)),
        Command::Stop { name, hub } => admin_command(&hub, admin::Action::Stop(name)),
        Command::Cull { hub } => admin_command(&hub, admin::Action::Cull),
        Command::Grades { command } => block_on_print(grades::run(command)),
        Command::Lti13 {
            action:
                Lti13Command::RegistrationUrl {
                    config: ConfigArg { config },
                    base_url,
                    valid_secs,
                },
        } => {
            let url = config::Config::load(&config)
                .and_then(|cfg| lti13::registration_url(&cfg, base_url.as_deref(), valid_secs));
            match url {
                Ok(url) => {
                    println!("{url}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}

/// Runs one admin subcommand and prints its answer.
fn admin_command(hub: &admin::HubArgs, action: admin::Action) -> ExitCode {
    block_on_print(admin::run(hub, action))
}

/// Runs `task` on a current-thread runtime and prints its text, or fails with its error.
fn block_on_print(task: impl std::future::Future<Output = Result<String, String>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match rt.block_on(task) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// The example configuration, with the consumer filled in when given.
fn gen_config(consumer: Option<(&str, &str)>) -> String {
    match consumer {
        Some((key, secret)) => config::EXAMPLE.replace(
            "# consumers = { \"moodle\" = \"<output of openssl rand -hex 32>\" }",
            &format!(
                "consumers = {{ {} = {} }}",
                toml_string(key),
                toml_string(secret)
            ),
        ),
        None => config::EXAMPLE.to_owned(),
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The log on stderr, as `[hub] log_format` says; `RUST_LOG` filters it (default `info`).
/// Colours only on a terminal: a log file or the journal gets plain text an admin can grep.
fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => log.init(),
        LogFormat::Json => log.json().flatten_event(true).init(),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("lticontainer: {msg}");
    ExitCode::FAILURE
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_config_with_a_consumer_is_valid() {
        let text = gen_config(Some(("moodle", "abc\"def")));
        let cfg = config::Config::parse(&text).unwrap();
        assert_eq!(cfg.lti.consumers["moodle"], "abc\"def");
    }
}
