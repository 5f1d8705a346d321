//! The window's size and position, remembered between runs in the state folder
//! (`$XDG_STATE_HOME/connected-accounts/window.json`: layout, not data).
//!
//! Not tauri-plugin-window-state: its save holds its cache lock while it asks the window for its
//! geometry, so a move or resize arriving meanwhile deadlocks it (plugins-workspace#3594, open in
//! 2.4.1 and 2.5.0). Our E2E run hung exactly so, at Quit. Here the window's events only copy
//! numbers into memory, and the file is written at exit from those numbers, without asking the
//! window anything.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::{PhysicalPosition, PhysicalSize};

const FILE: &str = "window.json";
/// No screen is larger; a value beyond it is a corrupt file, not a size.
const MAX_SIDE: u32 = 16_384;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub maximized: bool,
}

/// A monitor's area, in physical pixels.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl Geometry {
    /// The geometry to restore, if it is one: at least the window's minimum size, and with
    /// enough of its top edge on a connected monitor to be dragged back (a monitor unplugged
    /// since leaves the window where the desktop puts it).
    pub fn usable(self, min: (u32, u32), monitors: &[Area]) -> Option<Geometry> {
        if self.width < min.0 || self.height < min.1 {
            return None;
        }
        if self.width > MAX_SIDE || self.height > MAX_SIDE {
            return None;
        }
        let on_screen = monitors.iter().any(|m| {
            let (left, right) = (i64::from(m.x), i64::from(m.x) + i64::from(m.width));
            let (top, bottom) = (i64::from(m.y), i64::from(m.y) + i64::from(m.height));
            let (x, y) = (i64::from(self.x), i64::from(self.y));
            // Its top edge is on this monitor, with at least 100 px of it (or all of a
            // narrower monitor) there to drag it by.
            let overlap = (x + i64::from(self.width)).min(right) - x.max(left);
            y >= top && y < bottom && overlap >= 100.min(right - left)
        });
        on_screen.then_some(self)
    }
}

/// What this run last saw of the window, and where it goes at exit.
pub struct WindowMemory {
    path: PathBuf,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    geometry: Option<Geometry>,
    /// Its position is known (restored, or reported by a move): a size alone is not saved, or
    /// the next start would put the window in a corner instead of where the desktop chooses.
    placed: bool,
    /// "Remove all my data" ran: nothing may be written again.
    forgotten: bool,
}

impl WindowMemory {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(FILE),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The saved geometry, if the file holds one. A missing file is the first run; an unreadable
    /// one is logged and ignored (the window opens at its default size). Nothing is kept until
    /// [`restored`](Self::restored) says it was used.
    pub fn load(&self) -> Option<Geometry> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(error = %e, file = %self.path.display(), "cannot read the window's size");
                return None;
            }
        };
        match serde_json::from_slice::<Geometry>(&bytes) {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!(error = %e, file = %self.path.display(), "ignoring a damaged window size file");
                None
            }
        }
    }

    /// The window was given this geometry at start.
    pub fn restored(&self, g: Geometry) {
        let mut seen = self.seen.lock().unwrap();
        (seen.geometry, seen.placed) = (Some(g), true);
    }

    pub fn moved(&self, to: PhysicalPosition<i32>, maximized: bool) {
        let mut seen = self.seen.lock().unwrap();
        seen.placed = true;
        // A maximized window keeps the place and size it returns to.
        if let Some(g) = seen.geometry.as_mut().filter(|_| maximized) {
            g.maximized = true;
            return;
        }
        let g = seen.geometry.get_or_insert_with(Geometry::default);
        (g.x, g.y, g.maximized) = (to.x, to.y, maximized);
    }

    pub fn resized(&self, to: PhysicalSize<u32>, maximized: bool) {
        let mut seen = self.seen.lock().unwrap();
        if let Some(g) = seen.geometry.as_mut().filter(|_| maximized) {
            g.maximized = true;
            return;
        }
        let g = seen.geometry.get_or_insert_with(Geometry::default);
        (g.width, g.height, g.maximized) = (to.width, to.height, maximized);
    }

    /// After "Remove all my data": the state folder is gone and stays gone.
    pub fn forget(&self) {
        self.seen.lock().unwrap().forgotten = true;
    }

    /// Writes what was seen (at exit). Failing to is logged: it costs the next run its size only.
    pub fn save(&self) {
        let seen = self.seen.lock().unwrap();
        let Some(geometry) = seen.geometry.filter(|g| g.width > 0 && g.height > 0) else {
            return;
        };
        if seen.forgotten || !seen.placed {
            return;
        }
        let written = std::fs::create_dir_all(self.path.parent().unwrap_or(Path::new(".")))
            .and_then(|()| {
                let tmp = self.path.with_extension("json.tmp");
                std::fs::write(&tmp, serde_json::to_vec(&geometry).unwrap_or_default())?;
                std::fs::rename(&tmp, &self.path)
            });
        if let Err(e) = written {
            tracing::warn!(error = %e, file = %self.path.display(), "cannot save the window's size");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREEN: Area = Area {
        x: 0,
        y: 0,
        width: 1920,
        height: 1080,
    };

    fn at(x: i32, y: i32, width: u32, height: u32) -> Geometry {
        Geometry {
            x,
            y,
            width,
            height,
            maximized: false,
        }
    }

    #[test]
    fn a_saved_place_is_used_only_where_the_window_can_be_reached() {
        let min = (640, 480);
        assert!(at(100, 100, 980, 720).usable(min, &[SCREEN]).is_some());
        // On a second monitor to the right, and that monitor is still there…
        let right = Area { x: 1920, ..SCREEN };
        assert!(at(2200, 50, 980, 720)
            .usable(min, &[SCREEN, right])
            .is_some());
        // …or gone.
        assert!(at(2200, 50, 980, 720).usable(min, &[SCREEN]).is_none());
        // Its top edge above the screen, or all but a sliver off its left side.
        assert!(at(100, -40, 980, 720).usable(min, &[SCREEN]).is_none());
        assert!(at(-950, 100, 980, 720).usable(min, &[SCREEN]).is_none());
        // Smaller than the window may be, or absurdly large.
        assert!(at(0, 0, 300, 720).usable(min, &[SCREEN]).is_none());
        assert!(at(0, 0, 980, 100_000).usable(min, &[SCREEN]).is_none());
        assert!(at(0, 0, 980, 720).usable(min, &[]).is_none());
    }

    #[test]
    fn what_the_window_reported_is_saved_and_read_back_and_nothing_after_forgetting() {
        let dir = std::env::temp_dir().join(format!("ca-window-memory-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let memory = WindowMemory::new(&dir);
        assert_eq!(memory.load(), None, "a first run has nothing");
        memory.save();
        assert!(!dir.exists(), "nothing seen, nothing written");

        memory.resized(PhysicalSize::new(800, 600), false);
        memory.save();
        assert!(!dir.exists(), "a size with no known place is not saved");
        memory.moved(PhysicalPosition::new(30, 40), false);
        // Maximizing keeps the size and place it returns to.
        memory.resized(PhysicalSize::new(1920, 1080), true);
        memory.save();
        let again = WindowMemory::new(&dir);
        assert_eq!(
            again.load(),
            Some(Geometry {
                x: 30,
                y: 40,
                width: 800,
                height: 600,
                maximized: true
            })
        );

        for damaged in [&b"{"[..], b"{\"x\":1}", b"[]", b"\xff\xfe"] {
            std::fs::write(dir.join(FILE), damaged).unwrap();
            assert_eq!(WindowMemory::new(&dir).load(), None);
        }

        // A file read but not used (off every screen) is not written back as it was.
        let unused = WindowMemory::new(&dir);
        std::fs::write(
            dir.join(FILE),
            br#"{"x":9000,"y":0,"width":800,"height":600}"#,
        )
        .unwrap();
        assert!(unused.load().is_some());
        unused.resized(PhysicalSize::new(980, 720), false);
        unused.save();
        assert!(
            std::fs::read_to_string(dir.join(FILE))
                .unwrap()
                .contains("9000"),
            "left as it was"
        );
        unused.moved(PhysicalPosition::new(10, 10), false);
        unused.save();
        assert_eq!(
            WindowMemory::new(&dir).load(),
            Some(Geometry {
                x: 10,
                y: 10,
                width: 980,
                height: 720,
                maximized: false
            })
        );

        std::fs::remove_dir_all(&dir).unwrap();
        again.forget();
        again.resized(PhysicalSize::new(700, 500), false);
        again.moved(PhysicalPosition::new(5, 5), false);
        again.save();
        assert!(
            !dir.exists(),
            "after Remove all my data the state folder stays gone"
        );
    }
}
