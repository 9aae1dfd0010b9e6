//! What happens to input files once their batch committed: archive,
//! delete or keep, and quarantined files moved aside with their reason.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::config::{Cleanup, IngestConfig};
use generator::sharing::retry_while_shared;

/// Archives or deletes committed files, each given with the hash of the
/// content its batch read. Runs only after the commit (and the log write),
/// so a crash never loses a file whose rows are not in the database; and
/// only while the file's content still has that hash, so a file rewritten in
/// place after it was read is never archived or deleted.
pub(super) fn clean_up(config: &IngestConfig, files: &[(String, Option<u32>)]) {
    if config.cleanup == Cleanup::Keep || files.is_empty() {
        return;
    }
    let archive = config.archive_dir();
    for (name, committed_hash) in files {
        let source = config.input.join(name);
        let current = match crate::parse::hash_file(&source) {
            Ok(hash) => hash,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                tracing::warn!(file = %name, %error, "could not read a committed file to check it before clean-up; left in place");
                continue;
            }
        };
        if *committed_hash != Some(current) {
            tracing::warn!(
                file = %name,
                cleanup = ?config.cleanup,
                "a committed file's content differs from what its batch read (written to after it \
                 was read, or committed before content hashes were recorded): left in place; its \
                 new content is NOT ingested: give it a new name to ingest it"
            );
            continue;
        }
        let done = match config.cleanup {
            Cleanup::Keep => Ok(()),
            Cleanup::Delete => retry_while_shared(|| std::fs::remove_file(&source)),
            Cleanup::Archive => checkpoint::create_private_dir(&archive)
                .and_then(|()| retry_while_shared(|| std::fs::rename(&source, archive.join(name)))),
        };
        if let Err(error) = done {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %name, %error, cleanup = ?config.cleanup, "could not clean up a committed file");
            }
        }
    }
}

/// Moves each quarantined file (name, reason) to the quarantine folder with
/// a `NAME.reason.txt` beside it. Runs only after the commit, so a crash
/// never loses a file that was not recorded.
pub(super) fn move_quarantined(input: &Path, quarantine: &Path, files: &[(String, String)]) {
    for (name, reason) in files {
        let source: PathBuf = input.join(name);
        if std::fs::symlink_metadata(&source).is_err() {
            continue;
        }
        let moved = checkpoint::create_private_dir(quarantine)
            .and_then(|()| retry_while_shared(|| std::fs::rename(&source, quarantine.join(name))))
            .and_then(|()| {
                std::fs::write(
                    quarantine.join(format!("{name}.reason.txt")),
                    format!("{reason}\n"),
                )
            });
        match moved {
            Ok(()) => tracing::warn!(file = %name, %reason, "file quarantined"),
            Err(error) => {
                tracing::warn!(file = %name, %reason, %error, "file quarantined in the database but could not be moved")
            }
        }
    }
}
