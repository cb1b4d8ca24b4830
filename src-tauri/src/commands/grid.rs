//! Commands about the grid: what the beacon cache holds, per chain. The Grid
//! screen shows only this; peers, throughput and seeding come with the
//! background grid.

use tauri::State;

use super::AppNode;
use crate::dto::GridStatus;
use crate::error::IpcError;

/// The beacon cache: its folder, size and coverage of every known chain.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::needless_pass_by_value)] // Tauri hands `State` over by value.
pub fn grid_status(node: State<'_, AppNode>) -> Result<GridStatus, IpcError> {
    status(&node)
}

/// Plain form of [`grid_status`].
pub fn status(node: &AppNode) -> Result<GridStatus, IpcError> {
    Ok(node.get()?.grid_status()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zks_node::{DataDir, Node, NodeConfig};

    #[tokio::test]
    async fn an_empty_cache_reports_the_builtin_chains_with_nothing_held() {
        let home = std::env::temp_dir().join(format!("zks-desktop-grid-{}", std::process::id()));
        let node = Node::start(NodeConfig {
            data_dir: DataDir::at(&home).unwrap(),
        })
        .await
        .unwrap();
        let grid = status(&AppNode::Running(node)).unwrap();
        std::fs::remove_dir_all(&home).unwrap();

        assert!(grid.cache_dir.starts_with(&home));
        assert_eq!(grid.cache_bytes, 0);
        let names: Vec<&str> = grid.chains.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"quicknet"), "{names:?}");
        assert!(names.contains(&"default"), "{names:?}");
        for chain in &grid.chains {
            assert_eq!(chain.rounds, 0, "{}", chain.name);
            assert!(chain.chunks.is_empty(), "{}", chain.name);
            assert!(chain.head > 0, "{} has published rounds", chain.name);
            assert_eq!(chain.hash.len(), 64, "{}", chain.name);
        }
        // The window reads the same field names.
        let json = serde_json::to_value(&grid).unwrap();
        for key in ["cache_dir", "cache_bytes", "chains"] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let chain = &json["chains"][0];
        for key in ["name", "hash", "head", "rounds", "chunks"] {
            assert!(chain.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn a_failed_node_returns_its_error() {
        let failed = AppNode::Failed(IpcError::new("data_dir", "cannot use data directory /x"));
        let err = status(&failed).unwrap_err();
        assert_eq!(err.code, "data_dir");
        assert_eq!(err.message, "cannot use data directory /x");
    }
}
