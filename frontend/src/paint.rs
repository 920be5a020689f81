//! Waiting for the browser to paint: work that can come after the first frame of a page
//! (lower parts, the session's socket) waits for it, so that the page is painted sooner and
//! each task stays short (Lighthouse's Total Blocking Time counts each task's time over 50 ms);
//! and the first paint the server may write into the document gives way to the app.

use std::time::Duration;

use leptos::prelude::{document, request_animation_frame, set_timeout};
use wasm_bindgen::JsValue;

/// Resolves in a task of its own after the browser has painted the next frame.
pub async fn after_next_paint() {
    let painted = js_sys::Promise::new(&mut |resolve, _reject| {
        let resolve = move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        };
        if document().hidden() {
            // A hidden tab runs no animation frames (and paints nothing).
            set_timeout(resolve, Duration::ZERO);
        } else {
            // A zero timer set from an animation frame's callback runs after that frame is
            // painted; one set now would mostly run before it (the browser runs due timers
            // first).
            request_animation_frame(move || set_timeout(resolve, Duration::ZERO));
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(painted).await;
}

/// Removes the dashboard's top that the server wrote into a signed-in browser's document
/// (`shared::PREPAINT_CLASS`), which covers the app's first nodes (hidden) until then: for a
/// page other than the dashboard, which draws its own in its place.
pub fn drop_prepaint() {
    if let Some(prepaint) = document().get_element_by_id(shared::BOOT_ID) {
        prepaint.remove();
    }
}

/// The same, once the browser has painted the frame after this call: the dashboard's, which
/// draws its top under the painted one (hidden, in the same place, so nothing moves). Chrome
/// counts a painted text towards the Largest Contentful Paint in a task after that frame is
/// presented; removed before that task ran, the painted top would not count and the LCP would
/// wait for the app's own (BENCHMARKS.md).
pub async fn drop_prepaint_after_next_paint() {
    after_next_paint().await;
    drop_prepaint();
}
