//! The waiting device keeps its request in this tab's `sessionStorage`, so reloading
//! `/approve/:id` shows the same code and keeps following the same request.

use shared::ApprovalRequired;
use uuid::Uuid;

fn key(id: Uuid) -> String {
    format!("approval:{id}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

pub fn save(request: &ApprovalRequired) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(request)) {
        let _ = storage.set_item(&key(request.approval_id), &json);
    }
}

pub fn load(id: Uuid) -> Option<ApprovalRequired> {
    let json = storage()?.get_item(&key(id)).ok().flatten()?;
    serde_json::from_str(&json).ok()
}

pub fn forget(id: Uuid) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&key(id));
    }
}
