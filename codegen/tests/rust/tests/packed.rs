//! The generated crates used from outside the repository, as a user gets them: `cargo package`
//! packs the runtime and every protocol's crate (their manifests then name the runtime by
//! version only), a crate in a temporary folder outside the workspace depends on them unpacked
//! (the runtime through `[patch.crates-io]`, as an unpublished version would be), and builds this
//! crate's conversations there as a program, with datagram's crate taken with the feature `tls`
//! (so that the packed runtime's TLS builds as a user's would). Each protocol's conversation then
//! runs from that program against the protocol's reference server.
//!
//! The build shares the workspace's target folder and lock file, so that it compiles only the
//! packed crates and the program (about 30 s on two cores), and the folder is kept between runs
//! (one per checkout, in the system's temporary folder): a crate unpacks again, and is rebuilt,
//! only when its package changed.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use agentwire_client_tests::PROTOCOLS;

/// The crates that are packed, the runtime first.
const CRATES: [&str; 6] = [
    "agentwire-runtime",
    "agentwire-datagram",
    "agentwire-generalbots",
    "agentwire-generalbots-meet",
    "agentwire-rixa",
    "agentwire-socializer",
];

/// The crate the consumer takes with the feature `tls` (the others with `client`).
const WITH_TLS: &str = "agentwire-datagram";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The workspace's target folder (the parent of the tests' own `target/tmp`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // What the outer cargo set for this test would confuse the inner one.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" {
            command.env_remove(name.as_ref());
        }
    }
    command
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    succeeded(&output, what);
    output
}

/// Fails, showing what a program said, unless it succeeded.
fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Packs the crates, unpacks into `dir/crates` those that changed since the last run, and writes
/// the consumer crate `dir/client`.
fn consumer_outside_the_workspace(dir: &Path) -> PathBuf {
    let packed = dir.join("packed");
    let mut package = cargo();
    package
        .current_dir(workspace())
        .args([
            "package",
            "--offline",
            "--no-verify",
            "--allow-dirty",
            "--quiet",
        ])
        .arg("--target-dir")
        .arg(&packed);
    for name in CRATES {
        package.args(["-p", name]);
    }
    run(&mut package, "cargo package");
    let crates = dir.join("crates");
    std::fs::create_dir_all(&crates).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let unpacked = |name: &str| crates.join(format!("{name}-{version}"));
    for name in CRATES {
        let file = format!("{name}-{version}.crate");
        let fresh = std::fs::read(packed.join("package").join(&file)).unwrap();
        let kept = crates.join(&file);
        if std::fs::read(&kept).ok().as_ref() == Some(&fresh) && unpacked(name).is_dir() {
            continue;
        }
        let _ = std::fs::remove_dir_all(unpacked(name));
        std::fs::write(&kept, &fresh).unwrap();
        // `-m`: the files get the time of unpacking, so that cargo rebuilds the crate.
        run(
            Command::new("tar")
                .arg("-xmzf")
                .arg(&kept)
                .arg("-C")
                .arg(&crates),
            &format!("unpacking {file}"),
        );
    }
    let project = dir.join("client");
    copy_changed(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &project.join("src"),
    );
    let mut manifest = String::from(
        "[package]\nname = \"packed-clients\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\nname = \"agentwire_client_tests\"\n\n[[bin]]\nname = \"packed-converse\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\nserde_json = \"1\"\n\
         tokio = { version = \"1\", default-features = false, features = [\"rt-multi-thread\", \"macros\", \"time\"] }\n",
    );
    for name in &CRATES[1..] {
        // One crate with `wss://` too: the packed runtime's `tls` builds where a user's does.
        let feature = if *name == WITH_TLS { "tls" } else { "client" };
        manifest.push_str(&format!(
            "{name} = {{ path = {:?}, features = [\"{feature}\"] }}\n",
            unpacked(name)
        ));
    }
    // The packed crates name the runtime by version: the packed runtime stands in for it.
    manifest.push_str(&format!(
        "\n[patch.crates-io]\nagentwire-runtime = {{ path = {:?} }}\n\n[workspace]\n",
        unpacked(CRATES[0])
    ));
    write_changed(&project.join("Cargo.toml"), manifest.as_bytes());
    // The workspace's versions of everything else, so that its build is reused.
    write_changed(
        &project.join("Cargo.lock"),
        &std::fs::read(workspace().join("Cargo.lock")).unwrap(),
    );
    project
}

/// Writes a file unless it already holds these bytes (keeping its time, and cargo's build).
fn write_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).unwrap();
    }
}

fn copy_changed(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        write_changed(
            &to.join(entry.file_name()),
            &std::fs::read(entry.path()).unwrap(),
        );
    }
}

/// The folder of this checkout's consumer crate, outside the workspace.
fn consumer_dir() -> PathBuf {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    workspace().canonicalize().unwrap().hash(&mut hasher);
    std::env::temp_dir().join(format!("agentwire-packed-clients-{:016x}", hasher.finish()))
}

#[tokio::test]
async fn the_packed_crates_hold_every_conversation_from_outside_the_workspace() {
    let dir = consumer_dir();
    assert!(
        !dir.starts_with(workspace().canonicalize().unwrap()),
        "the consumer crate is outside the workspace"
    );
    let project = consumer_outside_the_workspace(&dir);
    let started = Instant::now();
    let manifest = project.join("Cargo.toml");
    run(
        cargo()
            .args(["build", "--offline", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", target_dir()),
        "building the consumer crate against the packed crates",
    );
    eprintln!(
        "built the consumer crate in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let program = target_dir()
        .join("debug")
        .join(format!("packed-converse{}", std::env::consts::EXE_SUFFIX));
    for protocol in PROTOCOLS {
        let (running, target) = support::reference(protocol).await;
        let mut converse = Command::new(&program);
        converse
            .arg(protocol)
            .arg(&target.url)
            .arg(support::schema_dir());
        if let (Some(token), Some(forged)) = (&target.token, &target.forged_token) {
            converse.arg(token).arg(forged);
        }
        let output = tokio::task::spawn_blocking(move || converse.output())
            .await
            .unwrap()
            .unwrap();
        succeeded(
            &output,
            &format!("{protocol}: the conversation from the packed crates"),
        );
        running.stop().await.unwrap();
    }
}
