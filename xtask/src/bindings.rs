//! `cargo xtask bindings`: packs what the project publishes into `dist/` and proves it could be
//! published, without publishing anything.
//!
//! - `dist/npm/`: the npm package of `generated/ts/` (`npm pack`, whose `prepack` compiles the
//!   TypeScript), then `npm publish --dry-run` of that tarball.
//! - `dist/crates/`: `runtime/` and every publishable crate of `generated/rust/`, packaged together
//!   (`cargo package -p ... -p ...`: cargo verifies crates that depend on each other through a
//!   local registry overlay), then `cargo publish --dry-run` of the same set.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The folder the packages go to, relative to the workspace root.
const DIST: &str = "dist";

/// How long one npm or cargo command may take before it is stopped.
const STEP_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// What `cargo xtask bindings` does.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Package crates from a work tree with uncommitted changes (`cargo package --allow-dirty`).
    pub allow_dirty: bool,
    /// Skip the npm package.
    pub skip_npm: bool,
    /// Skip the Rust crates.
    pub skip_crates: bool,
}

/// Packs and dry-runs the publication of the npm package and the Rust crates.
pub fn run(root: &Path, options: Options) -> Result<ExitCode> {
    let dist = root.join(DIST);
    if !options.skip_npm {
        npm(root, &dist.join("npm")).context("packing the npm package")?;
    }
    if !options.skip_crates {
        crates(root, &dist.join("crates"), options.allow_dirty)
            .context("packaging the Rust crates")?;
    }
    println!("==> bindings packed into {}", dist.display());
    Ok(ExitCode::SUCCESS)
}

fn npm(root: &Path, out: &Path) -> Result<()> {
    let package = root.join(agentwire_codegen::emit::ts::GENERATED_DIR);
    if !package.join("package.json").is_file() {
        bail!(
            "{} has no package.json: run `cargo xtask codegen`",
            package.display()
        );
    }
    fresh_dir(out)?;
    // The package's only dev dependency is the pinned compiler; its .npmrc keeps no lock file.
    exec(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .current_dir(&package),
    )?;
    // `prepack` compiles src/ into dist/ with `tsc`.
    exec(
        Command::new("npm")
            .args(["pack", "--pack-destination"])
            .arg(out)
            .current_dir(&package),
    )?;
    let tarball = only_file(out, ".tgz")?;
    exec(
        Command::new("npm")
            .args(["publish", "--dry-run"])
            .arg(&tarball)
            .current_dir(&package),
    )?;
    println!("==> npm: {}", tarball.display());
    Ok(())
}

fn crates(root: &Path, out: &Path, allow_dirty: bool) -> Result<()> {
    let packages = publishable_crates(root)?;
    if packages.is_empty() {
        bail!("no publishable crate in runtime/ or generated/rust/");
    }
    let selection: Vec<String> = packages
        .iter()
        .flat_map(|p| ["-p".into(), p.clone()])
        .collect();
    let dirty: &[&str] = if allow_dirty { &["--allow-dirty"] } else { &[] };
    forget_unpacked_copies(&packages)?;
    exec(
        Command::new("cargo")
            .arg("package")
            .args(&selection)
            .args(dirty)
            .current_dir(root),
    )?;
    fresh_dir(out)?;
    let target = target_dir(root)?;
    for name in &packages {
        let version = version_of(root, name)?;
        let file = format!("{name}-{version}.crate");
        let from = target.join("package").join(&file);
        fs::copy(&from, out.join(&file))
            .with_context(|| format!("copying {} into {}", from.display(), out.display()))?;
        println!("==> crate: {}", out.join(&file).display());
    }
    exec(
        Command::new("cargo")
            // `cargo package` has just built these very tarballs.
            .args(["publish", "--dry-run", "--no-verify"])
            .args(&selection)
            .args(dirty)
            .current_dir(root),
    )?;
    Ok(())
}

/// Removes cargo's unpacked copies of our crates from its temporary package registries.
///
/// `cargo package` verifies crates that depend on each other through a local registry under
/// `target/package/`, and unpacks each `.crate` into `$CARGO_HOME/registry/src/-<hash>/` once
/// per name and version: a second run after a change to a crate would compile the first run's
/// copy. Only folders named after our crates in local registries (whose folder name has no host,
/// so starts with `-`) are removed; crates.io's sources are left alone.
fn forget_unpacked_copies(packages: &[String]) -> Result<()> {
    let Some(cargo_home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
    else {
        return Ok(());
    };
    let sources = cargo_home.join("registry").join("src");
    let Ok(registries) = fs::read_dir(&sources) else {
        return Ok(()); // Nothing unpacked yet.
    };
    for registry in registries {
        let registry = registry.with_context(|| format!("reading {}", sources.display()))?;
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in packages {
            let prefix = format!("{name}-");
            let entries = fs::read_dir(registry.path())
                .with_context(|| format!("reading {}", registry.path().display()))?;
            for entry in entries {
                let path = entry?.path();
                let file_name = path.file_name().unwrap_or_default().to_string_lossy();
                // `agentwire-rixa-0.1.0`, not `agentwire-rixa-extra-0.1.0`.
                let is_version = file_name
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
                if is_version && path.is_dir() {
                    fs::remove_dir_all(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
            }
        }
    }
    Ok(())
}

/// The workspace's packages from `runtime/` and `generated/rust/` that may be published.
fn publishable_crates(root: &Path) -> Result<Vec<String>> {
    let metadata = metadata(root)?;
    let runtime = root.join("runtime").join("Cargo.toml");
    let generated = root.join("generated").join("rust");
    let mut names = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let ours = manifest == runtime || manifest.starts_with(&generated);
        // `publish = false` is an empty list of registries.
        let unpublished = package["publish"].as_array().is_some_and(Vec::is_empty);
        if ours && !unpublished {
            names.push(package["name"].as_str().unwrap_or_default().to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn version_of(root: &Path, name: &str) -> Result<String> {
    let metadata = metadata(root)?;
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| p["version"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("no version for {name}"))
}

fn target_dir(root: &Path) -> Result<PathBuf> {
    let metadata = metadata(root)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target directory")
}

fn metadata(root: &Path) -> Result<Value> {
    let output = Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("reading cargo metadata")
}

/// Empties (or creates) a folder of packed files, so that none is stale.
fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn only_file(dir: &Path, suffix: &str) -> Result<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "expected one {suffix} file in {}, found {}",
            dir.display(),
            found.len()
        ),
    }
}

/// Runs a command, echoing it, and fails if it fails or outlives [`STEP_TIMEOUT`].
fn exec(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}").replace('"', "");
    println!("==> {shown}");
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            bail!("{shown} failed ({status})");
        }
        if started.elapsed() > STEP_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            bail!("{shown} took more than {} s", STEP_TIMEOUT.as_secs());
        }
        thread::sleep(Duration::from_millis(100));
    }
}
