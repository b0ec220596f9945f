//! Child processes that take their children with them when stopped.
//!
//! `cargo lambda watch` starts the function through `cargo run`, and the function process ends
//! up in a process group of its own: killing `watch` alone leaves the function running (and
//! holding its port). A [`ProcessTree`] starts its command in a new process group — so the
//! terminal's Ctrl-C reaches only the stack's own process, which then stops everything in order
//! — and stops it by walking `/proc` for every descendant, deepest first: `SIGTERM`, a short
//! grace period, then `SIGKILL` for what is left.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How long stopped processes get to exit on `SIGTERM` before `SIGKILL`.
const GRACE: Duration = Duration::from_secs(3);

/// A started command and everything it starts.
#[derive(Debug)]
pub struct ProcessTree {
    child: Child,
    stopped: bool,
}

impl ProcessTree {
    /// Spawns `command` in a process group of its own.
    pub fn spawn(command: &mut Command) -> std::io::Result<ProcessTree> {
        let child = command.process_group(0).spawn()?;
        Ok(ProcessTree {
            child,
            stopped: false,
        })
    }

    /// The root process's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the root process has exited, with its status.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the root process and all its descendants (idempotent).
    pub fn stop(&mut self) {
        let Some(pids) = self.take_for_stopping() else {
            return;
        };
        signal(&pids, "TERM");
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && pids.iter().any(|pid| alive(*pid)) {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(50));
        }
        let left: Vec<u32> = pids.into_iter().filter(|pid| alive(*pid)).collect();
        if !left.is_empty() {
            signal(&left, "KILL");
        }
        let _ = self.child.wait();
    }
}

impl ProcessTree {
    /// Kills (`SIGKILL`, no grace) every descendant whose executable is named `name`; returns
    /// how many. A crash, for the chaos run.
    pub fn kill_descendants_named(&self, name: &str) -> usize {
        let victims: Vec<u32> = descendants(self.child.id())
            .into_iter()
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/exe"))
                    .ok()
                    .and_then(|exe| exe.file_name().map(|n| n == name))
                    .unwrap_or(false)
            })
            .collect();
        signal(&victims, "KILL");
        victims.len()
    }

    /// Kills the whole tree with `SIGKILL` at once (no grace period) and reaps the root.
    pub fn kill_now(&mut self) {
        let Some(pids) = self.take_for_stopping() else {
            return;
        };
        signal(&pids, "KILL");
        let _ = self.child.wait();
    }

    /// Every process of the tree, deepest first and the root last, the first time the tree
    /// is stopped; `None` once it has been.
    fn take_for_stopping(&mut self) -> Option<Vec<u32>> {
        if std::mem::replace(&mut self.stopped, true) {
            return None;
        }
        let mut pids = descendants(self.child.id());
        pids.push(self.child.id());
        Some(pids)
    }
}

impl Drop for ProcessTree {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every descendant of `root`, deepest first (children are stopped before their parents, so
/// none is re-parented out of reach in between).
fn descendants(root: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    fn walk(pid: u32, children: &BTreeMap<u32, Vec<u32>>, out: &mut Vec<u32>) {
        for child in children.get(&pid).into_iter().flatten() {
            walk(*child, children, out);
            out.push(*child);
        }
    }
    walk(root, &children, &mut out);
    out
}

/// The parent pid from `/proc/<pid>/stat` (the field after the parenthesised command name,
/// which may itself contain spaces and parentheses).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is still running (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Sends `SIGNAL` to `pids` with `kill(1)` (std has no kill for arbitrary pids; the crate
/// forbids `unsafe`, so no libc call either).
fn signal(pids: &[u32], name: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .args(pids.iter().map(u32::to_string))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_a_tree_ends_grandchildren_in_their_own_process_group() {
        // sh starts a grandchild in a new session (its own process group), as cargo-lambda
        // does with the function; stopping the tree must end it too.
        let mut tree = ProcessTree::spawn(
            Command::new("sh")
                .args(["-c", "setsid sleep 300 & echo $! ; wait"])
                .stdout(std::process::Stdio::piped()),
        )
        .unwrap();
        let mut out = tree.child.stdout.take().unwrap();
        let mut line = String::new();
        use std::io::Read;
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0] as char);
        }
        let grandchild: u32 = line.trim().parse().unwrap();
        assert!(alive(grandchild));
        tree.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(grandchild) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !alive(grandchild),
            "the grandchild {grandchild} outlived the tree"
        );
    }

    #[test]
    fn parent_is_read_past_a_command_name_with_spaces() {
        assert_eq!(
            parent_of(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}
