//! The waiting device keeps its request in this tab's `sessionStorage`, so reloading
//! `/approve/:id` (or `/confirm-device/:id`) shows the same request and keeps following it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::{ApprovalRequired, EmailConfirmationRequired};
use uuid::Uuid;

fn key(id: Uuid) -> String {
    format!("approval:{id}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn store(id: Uuid, request: &impl Serialize) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(request)) {
        let _ = storage.set_item(&key(id), &json);
    }
}

fn read<T: DeserializeOwned>(id: Uuid) -> Option<T> {
    let json = storage()?.get_item(&key(id)).ok().flatten()?;
    serde_json::from_str(&json).ok()
}

pub fn save(request: &ApprovalRequired) {
    store(request.approval_id, request);
}

pub fn load(id: Uuid) -> Option<ApprovalRequired> {
    read(id)
}

pub fn save_email_code(request: &EmailConfirmationRequired) {
    store(request.approval_id, request);
}

pub fn load_email_code(id: Uuid) -> Option<EmailConfirmationRequired> {
    read(id)
}

pub fn forget(id: Uuid) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&key(id));
    }
}
