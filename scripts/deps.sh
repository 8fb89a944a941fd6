#!/bin/sh
# Install what sockaudit needs to build and test, and nothing that is
# already there.  Idempotent: when every package is installed it only
# checks, and it runs 'apt-get update' only when something is missing.
set -eu

# build: compiler, pkg-config, libmnl, cJSON, libmicrohttpd (the
# exporter's HTTP server), zlib (its gzip answers), and for its
# --web-config libyaml (the file), GnuTLS (checking certificates and
# keys) and libxcrypt (bcrypt); tests: Check, and the oracles the real-socket
# tests compare against (ss from iproute2, jq); the Prometheus tests:
# promtool and the prometheus server (Debian's prometheus package), curl
# as their HTTP client; openssl makes the TLS tests' certificates and
# htpasswd (apache2-utils) their bcrypt hashes.  lint and memory checks: cppcheck, clang-tidy,
# valgrind; fuzzing: clang and libFuzzer (libclang-rt-14-dev, only
# recommended by clang-14).  The BPF source: clang compiles the programs,
# llvm's llvm-strip trims them, bpftool dumps the kernel's BTF and makes
# the skeleton, libbpf-dev has the headers they include (a build without these has no BPF
# source).  The Debian package (make deb, check-deb):
# build-essential, dpkg-dev, debhelper and fakeroot build it, lintian
# checks it, man-db reads its man page.  The completion tests:
# bash-completion and zsh.  Workloads: runc, containerd (its ctr) and
# podman (with runc as its runtime; crun fails on a hybrid cgroup
# layout), and busybox-static as a container's root filesystem
# (test_runtimes, test_containerd, test_podman; no image registry);
# strace counts the files test_workloads sees opened.
# The DaemonSet check (make check-manifest): node and npm, unless some
# node and npm are there already, then the Kubernetes API schemas of
# the kubernetes-models package and js-yaml from the npm registry, into
# build/npm.
packages="gcc make pkg-config libmnl-dev libcjson-dev libmicrohttpd-dev zlib1g-dev libyaml-dev libgnutls28-dev libcrypt-dev check iproute2 jq curl prometheus openssl apache2-utils cppcheck clang-tidy valgrind clang libclang-rt-14-dev llvm libbpf-dev bpftool build-essential dpkg-dev debhelper fakeroot lintian man-db bash-completion zsh runc containerd podman busybox-static strace"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	packages="$packages nodejs npm"
fi

npm_modules() {
	dir=build/npm
	for m in kubernetes-models js-yaml; do
		if [ ! -f "$dir/node_modules/$m/package.json" ]; then
			echo "deps.sh: npm install kubernetes-models js-yaml into $dir" >&2
			mkdir -p "$dir"
			npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
				kubernetes-models@5.1.0 js-yaml@4.1.0 >/dev/null
			return
		fi
	done
}

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	npm_modules
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root or install them" >&2
	exit 1
fi

# The prometheus package's postinst would start a system Prometheus on
# :9090.  The tests start their own server on a free loopback port, so
# no service may be started: a policy-rc.d that refuses every start
# (exit 101, invoke-rc.d's convention) is put in place for the install
# when there is none, and removed afterwards.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# sockaudit deps.sh: no service starts during the install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi

echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

# Where a system manager started the unit anyway (policy-rc.d not
# honoured, or one that allows starts), stop and disable the system
# Prometheus that this install brought.
case " $missing " in
*" prometheus "*)
	if command -v systemctl >/dev/null 2>&1 &&
		systemctl is-active --quiet prometheus 2>/dev/null; then
		systemctl disable --now prometheus >/dev/null 2>&1 || true
	fi
	;;
esac

npm_modules
