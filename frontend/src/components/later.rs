//! Parts of a page drawn after the rest, each in a browser task of its own, after the browser
//! has painted what was drawn at once. Drawing the whole dashboard at once is one long task on
//! a slow phone; several shorter ones leave the page answering input between them
//! (Lighthouse's Total Blocking Time counts each task's time over 50 ms), and painting first
//! shows the top of the page before the rest is built (its Largest Contentful Paint).

use leptos::prelude::*;

use crate::paint::after_next_paint;

/// `children`, drawn in a task after the next paint, with no placeholder before. Only for
/// what comes after everything drawn at once: whatever was drawn below it would move down
/// when it came (a layout shift).
#[component]
pub fn Later(children: Children) -> impl IntoView {
    let due = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        after_next_paint().await;
        // The page may be gone by then.
        let _ = due.try_set(true);
    });
    // Drawn once: `due` turns true and stays so. Untracked, so that no signal the children
    // read while being drawn can run this again (it would find them taken, and draw nothing).
    let mut children = Some(children);
    move || due.get().then(|| children.take().map(untrack))
}
