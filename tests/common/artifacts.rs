//! The other artifacts users push: an image with a big layer, and one made without any build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{Engine, peers};

impl Engine {
    /// Like `build`, with a first layer of [`BIG_LAYER_MIB`] MiB of incompressible bytes (shared by every
    /// big image, so only the first build per engine pays for it): what users push, not a toy.
    pub fn build_big(&self, tag: &str, content: &str, extra: &[&str]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big");
        std::fs::hard_link(big_layer(), &big)
            .or_else(|_| std::fs::copy(big_layer(), &big).map(drop))
            .expect("the big layer reaches the build context");
        let dockerfile = "FROM scratch\nCOPY big /big\nCOPY f /f\n";
        self.build_in(dir.path(), dockerfile, tag, content, extra)
    }

    /// A single-manifest image made without any build: `docker import`.
    pub fn import(&self, tag: &str, content: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), content).unwrap();
        let tar = dir.path().join("rootfs.tar");
        let ok = Command::new("tar")
            .args([
                "-C",
                dir.path().to_str().unwrap(),
                "-cf",
                tar.to_str().unwrap(),
                "f",
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        self.docker_ok(&["import", tar.to_str().unwrap(), tag], None);
        self.image_id(tag)
    }
}

/// The size of the big images' first layer.
pub const BIG_LAYER_MIB: usize = 300;

/// A file of [`BIG_LAYER_MIB`] MiB of random bytes, made once and kept in the peers' cache directory.
pub fn big_layer() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = Path::new(peers().var("ECR_DOCTOR_PEERS_DIR").expect("peers dir")).join("cache");
        let path = dir.join(format!("big-layer-{BIG_LAYER_MIB}m.bin"));
        let complete =
            std::fs::metadata(&path).is_ok_and(|m| m.len() == (BIG_LAYER_MIB << 20) as u64);
        if !complete {
            std::fs::create_dir_all(&dir).unwrap();
            write_random(&path);
        }
        path
    })
}

/// Fills `path` with [`BIG_LAYER_MIB`] MiB of new random bytes.
pub fn write_random(path: &Path) {
    use std::io::{Read, Write};
    // Test processes run in parallel: each writes its own file and renames it into place.
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut random = std::fs::File::open("/dev/urandom").unwrap();
    let mut out = std::fs::File::create(&tmp).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..BIG_LAYER_MIB {
        random.read_exact(&mut buf).unwrap();
        out.write_all(&buf).unwrap();
    }
    std::fs::rename(&tmp, path).unwrap();
}
