//! Commands of the group screens: the groups we are or were in, creating
//! one, changing its members (admins only, the node checks), leaving,
//! sending a text (one pairwise copy per member, pad or grid each) and a
//! group's messages with each copy's delivery state, and reacting to,
//! editing or deleting (for every member) a group message. Every one is a thin
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

/// Sets our reaction to group message `message_id` (`emoji` `null` takes
/// it back), for every member.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_react(
    node: State<'_, AppNode>,
    message_id: i64,
    emoji: Option<String>,
) -> Result<GroupMessage, IpcError> {
    react(&node, message_id, emoji.as_deref())
}

/// Replaces the text of our group message `message_id` (sent less than
/// 24 h ago) at every member.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_edit(
    node: State<'_, AppNode>,
    message_id: i64,
    text: String,
) -> Result<GroupMessage, IpcError> {
    edit(&node, message_id, &text)
}

/// Deletes our group message `message_id` (sent less than 24 h ago) for
/// every member.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands arguments over by value.
pub fn group_delete(node: State<'_, AppNode>, message_id: i64) -> Result<GroupMessage, IpcError> {
    delete(&node, message_id)
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

/// Plain form of [`group_react`]; the node checks the emoji (one, at
/// most 8 characters).
pub fn react(
    node: &AppNode,
    message_id: i64,
    emoji: Option<&str>,
) -> Result<GroupMessage, IpcError> {
    Ok(node.get()?.group_react(message_id, emoji)?)
}

/// Plain form of [`group_edit`]: blank text is `bad_input` (delete the
/// message instead).
pub fn edit(node: &AppNode, message_id: i64, text: &str) -> Result<GroupMessage, IpcError> {
    let node = node.get()?;
    if text.trim().is_empty() {
        return Err(IpcError::new(
            "bad_input",
            "the new text is empty (delete the message instead)",
        ));
    }
    Ok(node.group_edit(message_id, text.as_bytes())?)
}

/// Plain form of [`group_delete`].
pub fn delete(node: &AppNode, message_id: i64) -> Result<GroupMessage, IpcError> {
    Ok(node.get()?.group_delete(message_id)?)
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

    #[tokio::test]
    async fn a_group_message_is_reacted_to_edited_and_deleted_through_the_commands() {
        let (alice, _bob) = paired().await;
        let group = create(&alice.app, "Book club", &["Bob".into()]).unwrap();
        let sent = send(&alice.app, &group.id, "see you at eight", None).unwrap();
        assert!(sent.reactions.is_empty() && !sent.edited && !sent.deleted);

        let reacted = react(&alice.app, sent.id, Some("👍")).unwrap();
        assert_eq!(reacted.reactions.len(), 1);
        assert_eq!(reacted.reactions[0].emoji, "👍");
        assert!(reacted.reactions[0].mine);
        // More than one emoji is the node's `bad_input`.
        let err = react(&alice.app, sent.id, Some("not an emoji")).unwrap_err();
        assert_eq!(err.code, "bad_input", "{}", err.message);
        let taken_back = react(&alice.app, sent.id, None).unwrap();
        assert!(taken_back.reactions.is_empty());

        assert_eq!(
            edit(&alice.app, sent.id, "  ").unwrap_err().code,
            "bad_input"
        );
        let edited = edit(&alice.app, sent.id, "see you at nine").unwrap();
        assert!(edited.edited);
        assert_eq!(edited.text, "see you at nine");
        react(&alice.app, sent.id, Some("🎉")).unwrap();

        let deleted = delete(&alice.app, sent.id).unwrap();
        assert!(deleted.deleted);
        assert!(deleted.text.is_empty());
        let all = messages(&alice.app, &group.id).unwrap();
        let shown = all.iter().find(|m| m.id == sent.id).unwrap();
        assert!(shown.deleted && shown.text.is_empty());
        // A deleted message takes no more changes; an unknown one is refused.
        let err = edit(&alice.app, sent.id, "again").unwrap_err();
        assert!(err.message.contains("deleted"), "{}", err.message);
        let err = react(&alice.app, 999_999, Some("👍")).unwrap_err();
        assert!(err.message.contains("no group message"), "{}", err.message);
        assert!(delete(&alice.app, 999_999).is_err());
    }

    #[test]
    fn a_failed_node_answers_with_its_error() {
        let failed = test_support::failed();
        assert_eq!(list(&failed).unwrap_err().code, "data_dir");
        assert_eq!(get(&failed, "g").unwrap_err().code, "data_dir");
        assert_eq!(create(&failed, "g", &[]).unwrap_err().code, "data_dir");
        assert_eq!(send(&failed, "g", "hi", None).unwrap_err().code, "data_dir");
        assert_eq!(messages(&failed, "g").unwrap_err().code, "data_dir");
        assert_eq!(react(&failed, 1, Some("👍")).unwrap_err().code, "data_dir");
        assert_eq!(edit(&failed, 1, "hi").unwrap_err().code, "data_dir");
        assert_eq!(delete(&failed, 1).unwrap_err().code, "data_dir");
    }
}
