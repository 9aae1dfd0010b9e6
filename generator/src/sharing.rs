//! File operations that another program may briefly block.
//!
//! On Windows a file that some process holds open without
//! `FILE_SHARE_DELETE` (a writer that has not closed it yet, an antivirus
//! scan, a search indexer, a backup agent) cannot be renamed or deleted:
//! the call fails with a sharing violation and succeeds a moment later. The
//! generator's publishing rename and the pipeline's clean-up, archive,
//! quarantine and checkpoint renames go through
//! [`retry_while_shared`], which waits that moment out and then reports the
//! error as it is. On Unix nothing blocks a rename, so the first error
//! stands.

use std::time::Duration;

/// How often a blocked operation is tried: about 3 s in all, the time an
/// indexer or a scan holds a freshly written file.
const ATTEMPTS: u32 = 12;
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// Runs `operation`, retrying it while it fails because another process
/// holds the file open; returns its last result.
pub fn retry_while_shared<T>(
    mut operation: impl FnMut() -> std::io::Result<T>,
) -> std::io::Result<T> {
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match operation() {
            Err(error) if attempt < ATTEMPTS && is_sharing_violation(&error) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(LONGEST_PAUSE);
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Whether `error` says another process holds the file (Windows:
/// ERROR_ACCESS_DENIED while a delete is pending, ERROR_SHARING_VIOLATION,
/// ERROR_LOCK_VIOLATION).
pub fn is_sharing_violation(error: &std::io::Error) -> bool {
    if cfg!(windows) {
        matches!(error.raw_os_error(), Some(5 | 32 | 33))
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_errors_are_returned_at_once() {
        let mut calls = 0;
        let result: std::io::Result<()> = retry_while_shared(|| {
            calls += 1;
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        });
        assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        assert_eq!(calls, 1);
    }

    /// A writer still holds the file (as Windows writers do, without
    /// FILE_SHARE_DELETE) and closes it 300 ms later: the rename waits for
    /// it instead of failing.
    #[cfg(windows)]
    #[test]
    fn a_rename_waits_for_the_writer_to_close_the_file() {
        use std::os::windows::fs::OpenOptionsExt;
        const FILE_SHARE_READ: u32 = 1;
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("held.csv");
        let target = dir.path().join("moved.csv");
        std::fs::write(&source, "a\n").unwrap();
        let held = std::fs::OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ)
            .open(&source)
            .unwrap();
        let blocked = std::fs::rename(&source, &target).unwrap_err();
        assert!(is_sharing_violation(&blocked), "{blocked:?}");
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        retry_while_shared(|| std::fs::rename(&source, &target)).unwrap();
        closer.join().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a\n");
    }
}
