#!/usr/bin/env bash
# Install a pinned CLI release, checked against the checksums its release publishes, instead of
# `curl | sh`. Usage: scripts/install-release.sh pulumi|trivy|cosign VERSION [DEST (~/.local/bin)]
set -euo pipefail
tool=${1:?pulumi, trivy or cosign}; version=${2:?version, e.g. 3.272.0}; dest=${3:-$HOME/.local/bin}
case "$tool" in
  pulumi)
    base="https://github.com/pulumi/pulumi/releases/download/v${version}"
    archive="pulumi-v${version}-linux-x64.tar.gz"; sums="pulumi-${version}-checksums.txt";;
  trivy)
    base="https://github.com/aquasecurity/trivy/releases/download/v${version}"
    archive="trivy_${version}_Linux-64bit.tar.gz"; sums="trivy_${version}_checksums.txt";;
  cosign)
    base="https://github.com/sigstore/cosign/releases/download/v${version}"
    archive="cosign-linux-amd64"; sums="cosign_checksums.txt";;
  *) echo "install-release.sh: unknown tool $tool (pulumi, trivy or cosign)" >&2; exit 2;;
esac
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
curl -fsSLo "$work/$archive" "$base/$archive"
curl -fsSLo "$work/sums.txt" "$base/$sums"
(cd "$work" && grep " ${archive}\$" sums.txt | sha256sum -c -)
mkdir -p "$dest"
if [ "$tool" = pulumi ]; then
  tar -xzf "$work/$archive" -C "$work" && cp "$work"/pulumi/pulumi* "$dest/"
elif [ "$tool" = cosign ]; then
  install -m 0755 "$work/$archive" "$dest/cosign"
else
  tar -xzf "$work/$archive" -C "$dest" trivy
fi
echo "installed $tool $version in $dest (checksum verified)"
