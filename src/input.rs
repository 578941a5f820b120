//! One budget for everything ecr-doctor reads from outside: files (bake and compose files, the config file,
//! facts files, the docker CLI's config.json and context metadata, buildx's state files) are read only when
//! they are regular files (a FIFO would block the read past `--timeout`, a device such as `/dev/zero` never
//! ends, a directory is no file) and only up to a size cap; a helper's output is read up to a cap. The caps
//! are far above any real file of the kind and far below what would strain memory.

use std::io::{self, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::ExitStatus;

use tokio::io::AsyncReadExt;

/// What is read, and how much of it may be.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    what: &'static str,
    bytes: u64,
}

/// Bake and compose files: real ones are a few KB, generated ones for large monorepos some hundred KB.
pub const BAKE_FILE: Budget = Budget {
    what: "a bake or compose file",
    bytes: 4 << 20,
};
/// A cloud assembly's manifest, asset manifests and templates (CloudFormation takes templates up to 1 MB; a
/// manifest with metadata of a large app some MB), the Dockerfiles and package.json files beside them.
pub const CLOUD_ASSEMBLY_FILE: Budget = Budget {
    what: "a cloud assembly file",
    bytes: 32 << 20,
};
/// A SAM template (`sam build`'s, whose CloudFormation limit is 1 MB) and samconfig.toml.
pub const SAM_FILE: Budget = Budget {
    what: "a SAM template or config file",
    bytes: 4 << 20,
};
/// `.ecr-doctor.toml`: a few lines of policy, a few hundred ignores at most.
pub const CONFIG_FILE: Budget = Budget {
    what: "a config file",
    bytes: 1 << 20,
};
/// A facts file: about 2 KB per target, so 20 000 targets fit with room to spare.
pub const FACTS_FILE: Budget = Budget {
    what: "a facts file",
    bytes: 128 << 20,
};
/// The docker CLI's config.json and context metadata, buildx's builder records: a few KB, even with
/// hundreds of logins.
pub const DOCKER_FILE: Budget = Budget {
    what: "a Docker or buildx state file",
    bytes: 4 << 20,
};
/// `docker-buildx version` prints one line.
pub const PLUGIN_OUTPUT: Budget = Budget {
    what: "a plugin's output",
    bytes: 64 << 10,
};

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, unit) = match self.bytes {
            b if b >= 1 << 20 => (b >> 20, "MiB"),
            b => (b >> 10, "KiB"),
        };
        write!(f, "the {n} {unit} limit for {}", self.what)
    }
}

/// The text of the regular file at `path`, within `budget`. A missing file is `NotFound`, as from
/// `std::fs`; the other refusals say what the file is or which limit it passes (callers name the path).
pub fn read_file(path: &Path, budget: Budget) -> io::Result<String> {
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(budget.bytes + 1)
        .read_to_end(&mut bytes)?;
    String::from_utf8(within(bytes, budget)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// A helper's exit status and standard output, read up to `budget` (its standard error is not read). The
/// caller bounds the time; the helper is killed when this is dropped.
pub async fn output(
    mut command: tokio::process::Command,
    budget: Budget,
) -> io::Result<(ExitStatus, String)> {
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut bytes = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(budget.bytes + 1)
            .read_to_end(&mut bytes)
            .await?;
    }
    let text = String::from_utf8_lossy(&within(bytes, budget)?).into_owned();
    Ok((child.wait().await?, text))
}

fn within(bytes: Vec<u8>, budget: Budget) -> io::Result<Vec<u8>> {
    if bytes.len() as u64 > budget.bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {budget}"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_name_their_limit() {
        assert_eq!(
            BAKE_FILE.to_string(),
            "the 4 MiB limit for a bake or compose file"
        );
        assert_eq!(
            PLUGIN_OUTPUT.to_string(),
            "the 64 KiB limit for a plugin's output"
        );
    }
}
