//! Commands of the group screens: the groups we are or were in, creating
//! one, changing its members (admins only, the node checks), leaving,
//! sending a text (one pairwise copy per member, pad or grid each) and a
//! group's messages with each copy's delivery state. Every one is a thin
//! call into `zks_node::Node`; its errors become `{code, message}`.

use tauri::State;
use zks_node::{GroupInfo, GroupMessage};

use crate::error::IpcError;
use crate::state::AppNode;

/// Every group we are or were in, newest first.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn groups_list(node: State<'_, AppNode>) -> Result<Vec<GroupInfo>, IpcError> {
    list(&node)
}

/// One group, by name or hex id.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_get(node: State<'_, AppNode>, group: String) -> Result<GroupInfo, IpcError> {
    get(&node, &group)
}

/// Creates a group named `name` with the contacts `members` (we are its
/// first admin).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_create(
    node: State<'_, AppNode>,
    name: String,
    members: Vec<String>,
) -> Result<GroupInfo, IpcError> {
    create(&node, &name, &members)
}

/// Adds the contact `contact` to `group` (admins only).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_add(
    node: State<'_, AppNode>,
    group: String,
    contact: String,
) -> Result<GroupInfo, IpcError> {
    Ok(node.get()?.group_add(&group, &contact)?)
}

/// Removes the member named `member` from `group` (admins only).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_remove(
    node: State<'_, AppNode>,
    group: String,
    member: String,
) -> Result<GroupInfo, IpcError> {
    Ok(node.get()?.group_remove(&group, &member)?)
}

/// Renames `group` (admins only).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_rename(
    node: State<'_, AppNode>,
    group: String,
    name: String,
) -> Result<GroupInfo, IpcError> {
    rename(&node, &group, &name)
}

/// Makes the member named `member` an admin of `group` (admins only).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_admin(
    node: State<'_, AppNode>,
    group: String,
    member: String,
) -> Result<GroupInfo, IpcError> {
    Ok(node.get()?.group_admin(&group, &member)?)
}

/// Leaves `group`; its history stays here.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_leave(node: State<'_, AppNode>, group: String) -> Result<GroupInfo, IpcError> {
    Ok(node.get()?.group_leave(&group)?)
}

/// Sends `text` to every member of `group` (quoting its message
/// `reply_to`): a pad copy to members we share a true pad with, a grid-pad
/// copy to the others.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_send(
    node: State<'_, AppNode>,
    group: String,
    text: String,
    reply_to: Option<i64>,
) -> Result<GroupMessage, IpcError> {
    send(&node, &group, &text, reply_to)
}

/// The messages of `group`, oldest first (the same order on every member).
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_messages(
    node: State<'_, AppNode>,
    group: String,
) -> Result<Vec<GroupMessage>, IpcError> {
    messages(&node, &group)
}

/// Plain form of [`groups_list`].
pub fn list(node: &AppNode) -> Result<Vec<GroupInfo>, IpcError> {
    Ok(node.get()?.groups()?)
}

/// Plain form of [`group_get`].
pub fn get(node: &AppNode, group: &str) -> Result<GroupInfo, IpcError> {
    Ok(node.get()?.group(group)?)
}

/// Plain form of [`group_create`]: a blank name is `bad_input` here; the
/// node checks the rest (name, members, at most 49 of them).
pub fn create(node: &AppNode, name: &str, members: &[String]) -> Result<GroupInfo, IpcError> {
    let node = node.get()?;
    let name = name.trim();
    if name.is_empty() {
        return Err(IpcError::new("bad_input", "give the group a name"));
    }
    Ok(node.create_group(name, members)?)
}

/// Plain form of [`group_rename`]: a blank name is `bad_input`.
pub fn rename(node: &AppNode, group: &str, name: &str) -> Result<GroupInfo, IpcError> {
    let node = node.get()?;
    let name = name.trim();
    if name.is_empty() {
        return Err(IpcError::new("bad_input", "give the group a name"));
    }
    Ok(node.group_rename(group, name)?)
}

/// Plain form of [`group_send`]: blank text is `bad_input`.
pub fn send(
    node: &AppNode,
    group: &str,
    text: &str,
    reply_to: Option<i64>,
) -> Result<GroupMessage, IpcError> {
    let node = node.get()?;
    if text.trim().is_empty() {
        return Err(IpcError::new("bad_input", "type a message to send"));
    }
    Ok(node.group_send(group, text.as_bytes(), reply_to)?)
}

/// Plain form of [`group_messages`].
pub fn messages(node: &AppNode, group: &str) -> Result<Vec<GroupMessage>, IpcError> {
    Ok(node.get()?.group_messages(group)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, paired};

    #[tokio::test]
    async fn a_group_is_made_changed_and_written_to_through_the_commands() {
        let (alice, _bob) = paired().await;
        assert!(list(&alice.app).unwrap().is_empty());
        assert_eq!(
            create(&alice.app, "  ", &["Bob".into()]).unwrap_err().code,
            "bad_input"
        );
        let made = create(&alice.app, "Book club", &["Bob".into()]).unwrap();
        assert_eq!(made.name, "Book club");
        assert!(made.admin && made.member);
        assert_eq!(made.members.len(), 2);
        assert_eq!(list(&alice.app).unwrap().len(), 1);
        assert_eq!(get(&alice.app, &made.id).unwrap().name, "Book club");

        let renamed = rename(&alice.app, &made.id, "Reading circle").unwrap();
        assert_eq!(renamed.name, "Reading circle");
        assert_eq!(
            send(&alice.app, &made.id, " ", None).unwrap_err().code,
            "bad_input"
        );
        let sent = send(&alice.app, &made.id, "hello, group", None).unwrap();
        assert!(sent.outgoing);
        assert_eq!(sent.deliveries.len(), 1);
        assert_eq!(sent.deliveries[0].name, "Bob");
        let all = messages(&alice.app, &made.id).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].text, "hello, group");
        // An unknown group is the node's error, as `{code, message}`.
        let err = messages(&alice.app, "no such group").unwrap_err();
        assert!(err.message.contains("no such group"), "{}", err.message);
    }

    #[test]
    fn a_failed_node_answers_with_its_error() {
        let failed = test_support::failed();
        assert_eq!(list(&failed).unwrap_err().code, "data_dir");
        assert_eq!(get(&failed, "g").unwrap_err().code, "data_dir");
        assert_eq!(create(&failed, "g", &[]).unwrap_err().code, "data_dir");
        assert_eq!(send(&failed, "g", "hi", None).unwrap_err().code, "data_dir");
        assert_eq!(messages(&failed, "g").unwrap_err().code, "data_dir");
    }
}
