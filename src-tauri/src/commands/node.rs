//! Commands about the node itself: status.

use tauri::State;

use crate::dto::NodeStatus;
use crate::error::IpcError;
use crate::state::AppNode;

/// The node's status for the status bar and settings.
#[tauri::command]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn node_status(node: State<'_, AppNode>) -> Result<NodeStatus, IpcError> {
    status(&node)
}

/// Plain form of [`node_status`].
pub fn status(node: &AppNode) -> Result<NodeStatus, IpcError> {
    Ok(node.get()?.status()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;

    #[tokio::test]
    async fn status_of_a_running_node() {
        let test = test_support::node("status").await;
        let status = status(&test.app).unwrap();
        assert_eq!(status.data_dir, test.home);
    }

    #[test]
    fn status_of_a_failed_node_is_its_error() {
        let failed = test_support::failed();
        assert_eq!(status(&failed).unwrap_err().code, "data_dir");
    }
}
