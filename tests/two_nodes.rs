//! Two nodes side by side on one machine keep separate state.

use zks_scenarios::start_test_node;

#[tokio::test]
async fn two_nodes_in_one_process_use_separate_homes() {
    let a = start_test_node().await;
    let b = start_test_node().await;
    let sa = a.node.status().unwrap();
    let sb = b.node.status().unwrap();
    assert_ne!(sa.data_dir, sb.data_dir);
    assert_ne!(sa.database.path, sb.database.path);
    assert_eq!(sa.database.schema_version, sb.database.schema_version);
}
