//! A spinner on stderr while the probes run, only when they take longer than 300 ms and only for a person
//! at a terminal (the caller decides: never in CI or for machine formats).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget};

const DELAY: Duration = Duration::from_millis(300);

pub async fn while_running<T>(enabled: bool, work: impl Future<Output = T>) -> T {
    if !enabled {
        return work.await;
    }
    let mut work = std::pin::pin!(work);
    tokio::select! {
        done = &mut work => return done,
        () = tokio::time::sleep(DELAY) => {}
    }
    // A spinner (not a bar: the work has no known length), drawn on stderr only.
    let spinner = ProgressBar::new_spinner().with_message("asking Docker and ECR…");
    spinner.set_draw_target(ProgressDrawTarget::stderr());
    spinner.enable_steady_tick(Duration::from_millis(100));
    let done = work.await;
    spinner.finish_and_clear();
    done
}
