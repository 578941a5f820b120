# shellcheck shell=bash
# Small helpers for scripts/peers: logging, waiting, PID handling, ports, mounts.
# Sourced, not executed. Everything here is careful to act only on PIDs and
# paths that the caller hands in (no pkill, no killall).

log() { printf 'peers: %s\n' "$*" >&2; }
warn() { printf 'peers: warning: %s\n' "$*" >&2; }
die() {
	printf 'peers: error: %s\n' "$*" >&2
	exit 1
}

# Milliseconds since the epoch (GNU date), for the timings in the summary.
now_ms() { date +%s%3N; }

# "1234" ms -> "1.2s"
fmt_ms() { printf '%d.%ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds or the time is up.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# wait_ready SECONDS PIDFILE WORD PROBE...: wait until PROBE succeeds, but give
# up at once if the process recorded in PIDFILE dies (its log then says why).
wait_ready() {
	local deadline=$((SECONDS + $1)) pidfile=$2 word=$3
	shift 3
	until "$@"; do
		pid_matches "$(read_pid "$pidfile")" "$word" || return 1
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# The PID stored in FILE, or nothing.
read_pid() {
	local pid=""
	[[ -r $1 ]] && read -r pid <"$1" 2>/dev/null
	[[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
	return 0
}

# pid_matches PID WORD: PID is alive and its command line contains WORD.
# The command line check protects against a recycled PID after a reboot or a
# crash: we never signal a process that is not the one we started.
pid_matches() {
	local pid=$1 word=$2 cmdline
	if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then return 1; fi
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$word"* ]]
}

# stop_pid PID WORD SECONDS: SIGTERM, wait up to SECONDS for the exit, then SIGKILL.
stop_pid() {
	local pid=$1 word=$2 secs=$3
	pid_matches "$pid" "$word" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	if ! wait_until "$secs" pid_gone "$pid"; then
		warn "pid $pid ($word) ignored SIGTERM for ${secs}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		wait_until 5 pid_gone "$pid" || warn "pid $pid ($word) is still alive"
	fi
}

# A zombie still answers kill -0, so look at the state in /proc too.
pid_gone() {
	local state
	kill -0 "$1" 2>/dev/null || return 0
	state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 0
	[[ $state == Z || -z $state ]]
}

# spawn_detached PIDFILE LOGFILE CMD...: start CMD in its own session (so it
# survives the caller's terminal, process group and pipes), stdin from
# /dev/null, stdout+stderr appended to LOGFILE. The wrapper writes its own PID
# and then execs CMD, so PIDFILE holds CMD's PID even when setsid has to fork.
spawn_detached() {
	local pidfile=$1 logfile=$2
	shift 2
	rm -f "$pidfile"
	# shellcheck disable=SC2016 # $$ and $@ are for the inner shell
	# fd 9 is scripts/peers' lock: a daemon must not inherit it, or the lock
	# would stay held for as long as the daemon lives.
	setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
	# Wait for the wrapper to record the PID (it does so before exec).
	wait_until 5 test -s "$pidfile" || die "could not start $1"
}

# tcp_port_busy PORT: something accepts connections on 127.0.0.1:PORT.
tcp_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port: a port nobody listens on, below Linux's ephemeral range
# (32768-60999) so an outgoing connection cannot grab it before we bind it.
free_port() {
	local port tries
	for tries in $(seq 1 200); do
		port=$((20000 + RANDOM % 12000))
		tcp_port_busy "$port" || {
			printf '%s\n' "$port"
			return 0
		}
	done
	die "no free TCP port found on 127.0.0.1 after $tries tries"
}

# Mount points at or below DIR, deepest first (from /proc/self/mountinfo).
mounts_under() {
	local dir=${1%/}
	awk -v d="$dir" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r
}

# unmount_under DIR: unmount whatever a killed daemon left mounted below DIR,
# so that `rm -rf` / `cargo clean` afterwards cannot trip over live mounts.
unmount_under() {
	local m
	while read -r m; do
		[[ -n $m ]] || continue
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || warn "could not unmount $m"
	done < <(mounts_under "$1")
}

# overlay_works DIR: the kernel can mount an overlay whose layers live in DIR.
# (overlay2 and the containerd overlayfs snapshotter need this; it fails when
# DIR itself is on overlayfs, e.g. inside a container, or on some network fs.)
overlay_works() {
	local probe ok=1
	probe=$(mktemp -d "$1/.overlay-probe.XXXXXX") || return 1
	mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
	if mount -t overlay overlay \
		-o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
		ok=0
		umount "$probe/merged"
	fi
	rm -rf "$probe"
	return "$ok"
}

# apt_install PKG...: install bookworm packages from the system's own sources.
# Only refreshes the system package lists if the first attempt fails (fresh
# machines often ship with empty lists).
apt_install() {
	log "apt-get install $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 && return 0
	apt-get update -q >/dev/null 2>&1 || true
	apt-get install -y -q --no-install-recommends "$@" >&2
}
