//! Errors as they cross IPC: `{code, message}`.

use serde::Serialize;
use ts_rs::TS;
use zks_node::NodeError;

/// An error the UI can show and branch on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct IpcError {
    /// Stable machine-readable code (`data_dir`, `store`, `not_ready`, …).
    pub code: String,
    /// One sentence for the person using the app.
    pub message: String,
}

impl IpcError {
    /// An error with the given code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> IpcError {
        IpcError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<NodeError> for IpcError {
    fn from(e: NodeError) -> IpcError {
        IpcError::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_errors_serialize_as_code_and_message() {
        let err = IpcError::from(NodeError::Stopped);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "stopped", "message": "the node has stopped"})
        );
    }
}
