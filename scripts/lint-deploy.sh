#!/usr/bin/env bash
# Offline checks of what deploys dumpfleet and of the shell scripts:
#   deploy/systemd units    systemd-analyze verify, and security (exposure
#                           at most 2.0)
#   deploy/ YAML            yamllint (compose, Kubernetes); docker compose
#                           config and kubectl kustomize when installed
#   shell scripts           ShellCheck: scripts/*.sh, tests/e2e/*.sh,
#                           .ci/run, bench/*.sh
#   Dockerfile sanity       pinned Debian 12 bases, non-root runtime user,
#                           apt hygiene, and (with DUMPFLEET=binary, readelf
#                           and dpkg) runtime packages for every library the
#                           binary needs; Debian 12 has no hadolint
# A tool that is absent is skipped with a message. Exit status: 0 clean,
# 1 findings, 77 when none of the tools is installed (the Dockerfile's
# text checks need none and always run).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ran=0
failed=0
work=$(mktemp -d /tmp/lint-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT

have() { command -v "$1" >/dev/null 2>&1; }
skip() { echo "lint-deploy: skip $1: $2" >&2; }
finding() {
	echo "lint-deploy: $*" >&2
	failed=1
}

# The units name /usr/local/bin/dumpfleet, which verify wants to exist:
# check copies that name the binary under test (or /bin/true).
check_units() {
	if ! have systemd-analyze; then
		skip systemd-analyze "not installed (Debian: systemd)"
		return
	fi
	local exe=/bin/true unit out
	if [ -n "${DUMPFLEET:-}" ] && [ -x "$DUMPFLEET" ]; then
		exe=$DUMPFLEET
	fi
	mkdir -p "$work/units"
	for unit in "$here"/deploy/systemd/*.service "$here"/deploy/systemd/*.timer; do
		sed "s|/usr/local/bin/dumpfleet|$exe|g" "$unit" \
			>"$work/units/$(basename "$unit")"
	done
	ran=1
	if ! out=$(cd "$work/units" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1) ||
		[ -n "$out" ]; then
		finding "systemd-analyze verify:"
		printf '%s\n' "$out" >&2
	fi
	if have systemd-sysusers; then
		mkdir -p "$work/root/etc"
		: >"$work/root/etc/passwd"
		: >"$work/root/etc/group"
		systemd-sysusers --root="$work/root" \
			"$here/deploy/systemd/dumpfleet.sysusers" >/dev/null 2>&1 || true
		if ! grep -q '^dumpfleet:' "$work/root/etc/passwd"; then
			finding "deploy/systemd/dumpfleet.sysusers makes no account"
		fi
	fi
	# The hardening stays: exposure 2.0 or less (0 safe .. 10 exposed).
	for unit in "$work"/units/*.service; do
		(cd "$work/units" && systemd-analyze security --offline=true \
			--threshold=20 "./$(basename "$unit")" >/dev/null 2>&1) ||
			finding "$(basename "$unit"): exposure above 2.0" \
				"(systemd-analyze security --offline=true)"
	done
}

check_yaml() {
	if ! have yamllint; then
		skip yamllint "not installed (Debian: yamllint)"
		return
	fi
	ran=1
	yamllint -s -c "$here/deploy/.yamllint" "$here/deploy" >&2 ||
		finding "yamllint found problems in deploy/"
}

check_shell() {
	if ! have shellcheck; then
		skip shellcheck "not installed (Debian: shellcheck)"
		return
	fi
	local files=()
	for f in "$here"/scripts/*.sh "$here"/tests/e2e/*.sh "$here"/.ci/run \
		"$here"/bench/*.sh; do
		[ -f "$f" ] && files+=("$f")
	done
	ran=1
	# SCRIPTDIR: the e2e tests source lib.inc next to them.
	shellcheck -x -P SCRIPTDIR "${files[@]}" >&2 ||
		finding "shellcheck found problems"
}

# The FROM lines, the last stage's USER and the apt lines.
check_dockerfile_text() {
	local df=$1
	if grep -E '^FROM ' "$df" | grep -vqE '^FROM debian:12(-slim)?( AS [a-z]+)?$'; then
		finding "$df: every FROM must be debian:12 or debian:12-slim"
	fi
	local user
	user=$(awk '/^FROM /{u=""} /^USER /{u=$2} END{print u}' "$df")
	case "$user" in
	"" | root | root:* | 0 | 0:*) finding "$df: the last stage runs as root" ;;
	esac
	if grep -E 'apt-get install' "$df" | grep -vq -- '--no-install-recommends'; then
		finding "$df: apt-get install without --no-install-recommends"
	fi
	if ! sed -n '/AS runtime/,$p' "$df" | grep -q 'rm -rf /var/lib/apt/lists'; then
		finding "$df: the runtime stage keeps apt's package lists"
	fi
}

# The Debian package of the library file PATH, or nothing.
package_of() {
	local path=$1 alt
	case "$path" in
	/usr/*) alt=${path#/usr} ;;
	*) alt=/usr$path ;;
	esac
	{ dpkg -S "$path" 2>/dev/null || dpkg -S "$alt" 2>/dev/null; } |
		head -1 | cut -d: -f1
}

# Each shared library the binary needs comes from a package installed in
# the runtime stage, or from one that every Debian image has (libc6 and
# libgcc-s1, which the essential packages depend on). Sanitizer runtimes
# are not in a release build.
check_dockerfile_libs() {
	local df=$1 lib path pkg
	if [ -z "${DUMPFLEET:-}" ] || [ ! -x "$DUMPFLEET" ]; then
		skip "runtime libraries" "set DUMPFLEET to a built dumpfleet"
		return
	fi
	if ! have readelf || ! have ldd || ! have dpkg; then
		skip "runtime libraries" "readelf, ldd or dpkg not installed"
		return
	fi
	local runtime resolved
	runtime=$(sed -n '/AS runtime/,$p' "$df")
	resolved=$(ldd "$DUMPFLEET")
	for lib in $(readelf -d "$DUMPFLEET" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		case "$lib" in lib[altu]san.so* | libubsan.so*) continue ;; esac
		path=$(awk -v l="$lib" '$1 == l && $2 == "=>" { print $3 }' <<<"$resolved")
		pkg=
		[ -n "$path" ] && pkg=$(package_of "$path")
		if [ -z "$pkg" ]; then
			finding "$df: no Debian package owns $lib (${path:-not found})"
			continue
		fi
		case "$pkg" in libc6 | libgcc-s1) continue ;; esac
		if ! grep -qw -- "$pkg" <<<"$runtime"; then
			finding "$df: the runtime stage lacks $pkg (for $lib)"
		fi
	done
}

check_dockerfile() {
	local df=$here/deploy/docker/Dockerfile
	if have hadolint; then
		ran=1
		hadolint "$df" >&2 || finding "hadolint found problems"
	fi
	check_dockerfile_text "$df"
	check_dockerfile_libs "$df"
}

# What the compose and Kubernetes tools themselves make of the files,
# when they are installed (neither needs a daemon or a cluster).
check_renders() {
	if docker compose version >/dev/null 2>&1; then
		ran=1
		docker compose -f "$here/deploy/compose.yaml" config --quiet >&2 ||
			finding "docker compose rejects deploy/compose.yaml"
	else
		skip "docker compose config" "no docker compose plugin"
	fi
	if have kubectl; then
		ran=1
		kubectl kustomize "$here/deploy/k8s" >/dev/null ||
			finding "kubectl kustomize rejects deploy/k8s"
	else
		skip "kubectl kustomize" "kubectl not installed"
	fi
}

check_units
check_yaml
check_renders
check_shell
check_dockerfile
if [ "$failed" != 0 ]; then
	exit 1
elif [ "$ran" = 0 ]; then
	echo "lint-deploy: none of the checking tools is installed" \
		"(systemd-analyze, yamllint, shellcheck, ...)" >&2
	exit 77
fi
echo "lint-deploy: clean"
