//! Waiting for the browser to paint: work that can come after the first frame of a page
//! (lower parts, the session's socket) waits for it, so that the page is painted sooner and
//! each task stays short (Lighthouse's Total Blocking Time counts each task's time over 50 ms).

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
