//! Run with: cargo run -p lticontainer-examples --example memory_runtime
//!
//! Drives a container through its life on the in-memory runtime.

use std::sync::Arc;
use std::time::Duration;

use lticontainer_core::Runtime;
use lticontainer_core::container::ContainerSpec;
use lticontainer_core::memory::InMemoryRuntime;

#[tokio::main]
async fn main() -> lticontainer_core::Result<()> {
    let rt: Arc<dyn Runtime> = Arc::new(InMemoryRuntime::pulling());
    rt.ensure_image("busybox:latest", &|p| println!("pull: {}", p.status))
        .await?;
    let info = rt
        .create_and_start(&ContainerSpec::new("example-alice", "busybox:latest"))
        .await?;
    println!("started {} at {:?}", info.name, info.address);
    rt.stop(&info.id, Duration::from_secs(1)).await?;
    rt.remove(&info.id).await?;
    println!("removed {}", info.name);
    Ok(())
}
