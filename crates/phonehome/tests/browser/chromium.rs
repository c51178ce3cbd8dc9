//! Finding, starting and always stopping a headless Chromium.
//!
//! [`Chromium`] owns the process: dropping it (at the end of the test, or while a failed
//! assertion unwinds) kills Chromium's whole process group, so no browser outlives the test.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::{env, fs, thread};

/// The flags of a quiet, isolated headless browser: no sandbox (CI runs as root), no GPU, and none
/// of Chromium's own background connections (updates, sync, field trials), which would otherwise
/// try Google's hosts at every start.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
];

/// `PHONEHOME_CHROMIUM` when set, else Debian's `/usr/bin/chromium` when installed.
pub(crate) fn find() -> Option<PathBuf> {
    match env::var_os("PHONEHOME_CHROMIUM") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.exists()),
    }
}

pub(crate) struct Chromium {
    child: Child,
    /// The browser's DevTools endpoint, `ws://127.0.0.1:PORT/devtools/browser/ID`.
    pub(crate) ws_url: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Chromium {
    /// Starts `exe` on `about:blank` with a fresh profile in `user_data_dir` and a DevTools port
    /// of its choosing, and waits (at most `timeout`) until that port is announced.
    pub(crate) fn launch(
        exe: &Path,
        user_data_dir: &Path,
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut child = Command::new(exe)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", user_data_dir.display()))
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group, so that Drop can end the renderers and helpers too.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;

        // Chromium's stderr is read to its end by a thread (a full pipe would stall the browser);
        // lines are kept for error messages and passed on while we look for the endpoint.
        let pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                log.lock().expect("stderr log").push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut browser = Self { child, ws_url: String::new(), stderr };

        let port_file = user_data_dir.join("DevToolsActivePort");
        let deadline = Instant::now() + timeout;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(url) = line.split("DevTools listening on ").nth(1) {
                        browser.ws_url = url.trim().to_string();
                        return Ok(browser);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => thread::sleep(Duration::from_millis(100)),
            }
            // The same endpoint, as Chromium also writes it: port, then path.
            if let Ok(text) = fs::read_to_string(&port_file)
                && let [port, path] = text.lines().collect::<Vec<_>>()[..]
            {
                browser.ws_url = format!("ws://127.0.0.1:{port}{path}");
                return Ok(browser);
            }
            if let Ok(Some(status)) = browser.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before its DevTools endpoint was up; its stderr:\n{}",
                    exe.display(),
                    browser.stderr_text()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} announced no DevTools endpoint within {timeout:?}; its stderr:\n{}",
                    exe.display(),
                    browser.stderr_text()
                ));
            }
        }
    }

    /// Waits at most `timeout` for the browser to exit (after `Browser.close`); true if it did.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// What Chromium printed on stderr so far.
    pub(crate) fn stderr_text(&self) -> String {
        self.stderr.lock().map(|lines| lines.join("\n")).unwrap_or_default()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The group is named by the browser's pid; its helpers may outlive the browser itself.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
