//! Generates the Rust types of `dcs/v1/*.proto` with tonic-prost-build.
//!
//! protoc comes from the `protoc-bin-vendored` crate, so the build needs no system protoc.
//! Every `.proto` file under `dcs/v1` is compiled: a new file (such as a service's) needs no
//! change here; services in it get tonic server and client code.

use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = PathBuf::from("dcs/v1");
    let mut protos = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "proto") {
            protos.push(path);
        }
    }
    protos.sort();
    // A file added to or removed from the directory must also rerun the build.
    println!("cargo:rerun-if-changed={}", dir.display());

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        // Malformed requests are INVALID_ARGUMENT, not INTERNAL (src/grpc_codec.rs).
        .codec_path("crate::grpc_codec::StrictCodec")
        .compile_with_config(config, &protos, &[PathBuf::from(".")])?;
    Ok(())
}
