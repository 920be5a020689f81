//! Parts of a page drawn after the rest, each in a browser task of its own. Drawing the
//! whole dashboard at once is one long task on a slow phone; several shorter ones leave the
//! page answering input between them (Lighthouse's Total Blocking Time counts each task's
//! time over 50 ms).

use std::time::Duration;

use leptos::prelude::*;

/// `children`, drawn in a task after the current one, with no placeholder before. Only for
/// what comes after everything drawn at once: whatever was drawn below it would move down
/// when it came (a layout shift).
#[component]
pub fn Later(children: Children) -> impl IntoView {
    let due = RwSignal::new(false);
    // A task of its own: each timer's callback is one. The page may be gone by then.
    set_timeout(
        move || {
            let _ = due.try_set(true);
        },
        Duration::ZERO,
    );
    // Drawn once: `due` turns true and stays so. Untracked, so that no signal the children
    // read while being drawn can run this again (it would find them taken, and draw nothing).
    let mut children = Some(children);
    move || due.get().then(|| children.take().map(untrack))
}
