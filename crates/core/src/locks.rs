//! One operation at a time per account, across the window, the command line and the scheduler:
//! an in-process mutex, then an OS file lock (released by the kernel if the process dies).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::error::{Error, Result};

pub struct AccountLocks {
    dir: PathBuf,
    local: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while an operation runs; dropping it releases both locks.
pub struct AccountGuard {
    _file: File,
    _local: OwnedMutexGuard<()>,
}

impl AccountLocks {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            local: Mutex::default(),
        }
    }

    fn local(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.local.lock().expect("lock map poisoned");
        map.entry(id.to_string()).or_default().clone()
    }

    fn open(&self, id: &str) -> Result<File> {
        let path = self.dir.join(format!("{id}.lock"));
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                Error::storage(
                    format!("cannot open the lock file {}", path.display()),
                    "check that the disk is writable",
                    e,
                )
            })
    }

    /// Waits for the account's lock.
    pub async fn lock(&self, id: &str) -> Result<AccountGuard> {
        let local = self.local(id).lock_owned().await;
        let file = self.open(id)?;
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| Error::internal("lock task failed").cause(e))?
            .map_err(|e| Error::storage("cannot lock the account", "retry", e))?;
        Ok(AccountGuard {
            _file: file,
            _local: local,
        })
    }

    /// The account's lock if nobody holds it now.
    pub fn try_lock(&self, id: &str) -> Result<Option<AccountGuard>> {
        let Ok(local) = self.local(id).try_lock_owned() else {
            return Ok(None);
        };
        let file = self.open(id)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(AccountGuard {
                _file: file,
                _local: local,
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::storage("cannot lock the account", "retry", e))
            }
        }
    }

    /// Removes the lock file of an account that no longer exists.
    pub fn forget(&self, id: &str) {
        let _ = std::fs::remove_file(self.dir.join(format!("{id}.lock")));
        self.local.lock().expect("lock map poisoned").remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lock_cannot_be_taken_twice() {
        let dir = std::env::temp_dir().join(format!("ca-locks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let locks = AccountLocks::new(dir.clone());
        let held = locks.lock("a").await.unwrap();
        assert!(locks.try_lock("a").unwrap().is_none());
        assert!(locks.try_lock("b").unwrap().is_some());
        // Another handle on the same file (as another process would have) is refused too.
        let other = AccountLocks::new(dir.clone());
        assert!(other.try_lock("a").unwrap().is_none());
        drop(held);
        assert!(other.try_lock("a").unwrap().is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
