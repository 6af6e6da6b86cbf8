#!/usr/bin/env bash
# The system packages the test suite needs (a container engine, a registry, skopeo, a static
# busybox for the test base image), installed through apt when this user may: root or
# passwordless sudo. Otherwise it names the command to run and exits 1: a test tier is never
# skipped in silence. `make test` and `.ci/run` both run this one script.
set -euo pipefail

PACKAGES=(podman buildah skopeo docker-registry runc busybox-static)
# what each package puts on PATH, in the same order
COMMANDS=(podman buildah skopeo docker-registry runc busybox)

missing=()
for i in "${!PACKAGES[@]}"; do
    command -v "${COMMANDS[$i]}" >/dev/null 2>&1 || missing+=("${PACKAGES[$i]}")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: present (${PACKAGES[*]})"
    exit 0
fi

install_cmd="apt-get install -y ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "system packages: missing ${missing[*]}; this is not a Debian/Ubuntu machine:" \
         "install their equivalents with your package manager, then run make test again" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "system packages: missing ${missing[*]}; run: sudo apt-get update && sudo $install_cmd" >&2
    exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {  # one line per step; the step's own output only when it fails
    echo "system packages: $1"
    shift
    if ! "$@" >"$log" 2>&1; then
        tail -20 "$log" >&2
        echo "system packages: failed: $*" >&2
        exit 1
    fi
}
export DEBIAN_FRONTEND=noninteractive
run "apt-get update" "${sudo[@]}" apt-get update -qq
run "installing ${missing[*]}" "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
echo "system packages: installed ${missing[*]}"
