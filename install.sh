#!/bin/sh
# Install ecr-doctor from its GitHub releases: picks the archive for this OS, CPU and C library, verifies
# its SHA-256 checksum and copies the binary into a folder. POSIX sh; needs curl or wget, tar, and
# sha256sum or shasum.
#
#   curl -fsSL https://github.com/ecr-doctor/ecr-doctor/releases/download/v0.1.0/install.sh | sh -s -- --version 0.1.0
#
# Options (or the environment variable beside each):
#   --version VERSION  the release to install, e.g. 0.1.0 (ECR_DOCTOR_VERSION; default: the latest)
#   --to DIR           where to put the binary (ECR_DOCTOR_INSTALL_DIR; default: ~/.local/bin)
#   --target TRIPLE    the archive to pick, e.g. x86_64-unknown-linux-musl (default: detected)
#   --print-target     print the detected target and exit
# ECR_DOCTOR_RELEASES_URL replaces https://github.com/ecr-doctor/ecr-doctor/releases (a mirror).
#
# Exit codes: 0 installed; 1 failed (a checksum mismatch, a failed copy); 2 bad usage or unsupported
# platform; 3 no such release or no archive for this target.
set -eu

releases=${ECR_DOCTOR_RELEASES_URL:-https://github.com/ecr-doctor/ecr-doctor/releases}
version=${ECR_DOCTOR_VERSION:-}
dir=${ECR_DOCTOR_INSTALL_DIR:-${HOME:-}/.local/bin}
target=
print_target=false

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
	code=$1
	shift
	say "$*"
	exit "$code"
}

while [ $# -gt 0 ]; do
	case $1 in
	--version) [ $# -ge 2 ] || die 2 "--version needs a value"; version=$2; shift 2 ;;
	--to) [ $# -ge 2 ] || die 2 "--to needs a value"; dir=$2; shift 2 ;;
	--target) [ $# -ge 2 ] || die 2 "--target needs a value"; target=$2; shift 2 ;;
	--print-target) print_target=true; shift ;;
	*) die 2 "unknown option '$1' (expected --version, --to, --target or --print-target)" ;;
	esac
done
version=${version#v}

detect_target() {
	case $(uname -m) in
	x86_64 | amd64) arch=x86_64 ;;
	aarch64 | arm64) arch=aarch64 ;;
	*) die 2 "no release archive for CPU '$(uname -m)'; build from source: cargo install --locked ecr-doctor" ;;
	esac
	case $(uname -s) in
	Linux)
		# Alpine and other musl systems (the docker:* CI images) cannot run the glibc build.
		if ls /lib/ld-musl-* >/dev/null 2>&1 || ldd --version 2>&1 | grep -qi musl; then
			echo "$arch-unknown-linux-musl"
		else
			echo "$arch-unknown-linux-gnu"
		fi
		;;
	Darwin) echo "$arch-apple-darwin" ;;
	MINGW* | MSYS* | CYGWIN* | Windows_NT) echo "$arch-pc-windows-msvc" ;;
	*) die 2 "no release archive for OS '$(uname -s)'; build from source: cargo install --locked ecr-doctor" ;;
	esac
}
[ -n "$target" ] || target=$(detect_target)
if $print_target; then
	echo "$target"
	exit 0
fi

# fetch URL FILE: 1 when the server answered with an error or could not be reached.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 2 --connect-timeout 10 --max-time 300 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -T 30 -O "$2" "$1"
	else
		die 2 "neither curl nor wget is installed"
	fi
}

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	else
		die 2 "neither sha256sum nor shasum is installed: cannot verify the download"
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -z "$version" ]; then
	fetch "$releases/latest/download/version.txt" "$tmp/version.txt" ||
		die 3 "could not read the latest version from $releases"
	version=$(tr -d ' \r\n' <"$tmp/version.txt")
fi

name=ecr-doctor-$version-$target
base=$releases/download/v$version
fetch "$base/$name.tar.gz.sha256" "$tmp/$name.tar.gz.sha256" ||
	die 3 "no archive $name.tar.gz in release v$version ($base)"
fetch "$base/$name.tar.gz" "$tmp/$name.tar.gz" || die 3 "could not download $base/$name.tar.gz"

expected=$(cut -d ' ' -f 1 <"$tmp/$name.tar.gz.sha256")
actual=$(sha256_of "$tmp/$name.tar.gz")
[ "$expected" = "$actual" ] ||
	die 1 "checksum mismatch for $name.tar.gz: expected $expected, got $actual; nothing installed"

exe=ecr-doctor
case $target in *windows*) exe=ecr-doctor.exe ;; esac
tar -xzf "$tmp/$name.tar.gz" -C "$tmp"
mkdir -p "$dir"
# Copy then rename: a running ecr-doctor being replaced keeps its old file.
cp "$tmp/$name/$exe" "$dir/.$exe.new"
chmod 755 "$dir/.$exe.new"
mv -f "$dir/.$exe.new" "$dir/$exe"
say "installed $("$dir/$exe" --version) to $dir/$exe"
case :${PATH:-}: in *:"$dir":*) ;; *) say "$dir is not on PATH" ;; esac
