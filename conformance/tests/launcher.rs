//! The CLI with a launcher that misbehaves: work it leaves behind in the async runtime (here a
//! blocking task that never ends, as a hung DNS lookup would be) must not hold the exit.

use std::sync::mpsc;
use std::time::Duration;

use agentwire_conformance::cli::run_cli;
use agentwire_conformance::{LaunchFuture, Launcher};

struct LeavesABlockingTask;

impl Launcher for LeavesABlockingTask {
    fn launch<'a>(&'a self, _protocol: &'a str, _secret: Option<&'a str>) -> LaunchFuture<'a> {
        Box::pin(async {
            tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_secs(3600)));
            Err(anyhow::anyhow!("no server here"))
        })
    }
}

#[test]
fn work_left_in_the_runtime_does_not_hold_the_exit() {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let code = run_cli(
            ["conformance", "run", "--protocol", "rixa"],
            &LeavesABlockingTask,
        );
        let _ = done.send(format!("{code:?}"));
    });
    let code = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the CLI returns although a blocking task never ends");
    assert_eq!(code, format!("{:?}", std::process::ExitCode::from(2)));
}
