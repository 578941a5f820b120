//! What the stand-in servers of the tests run on.

/// The one-thread runtime a stand-in server of the tests runs on.
pub fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A listener on a free loopback port, bound on `rt`.
pub fn loopback(rt: &tokio::runtime::Runtime) -> tokio::net::TcpListener {
    rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
}
