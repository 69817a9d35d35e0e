#!/usr/bin/env bash
# Builds the sandbox base image from Debian's packages, for machines with no container registry.
# Usage: scripts/build-offline-image.sh [IMAGE_NAME]   (default: sandbox-mcp/debian-base:bookworm)
# Needs root, debootstrap and a running Docker engine. Uses the Debian mirror apt already uses.
set -euo pipefail

image="${1:-sandbox-mcp/debian-base:bookworm}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "image $image already exists" >&2
  exit 0
fi

mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -hsoE '^URIs: *http[^ ]+/debian$' /etc/apt/sources.list.d/*.sources | head -n1 | sed 's/^URIs: *//')
  [ -n "$mirror" ] || mirror=$(grep -hsoE '^deb +http[^ ]+/debian ' /etc/apt/sources.list | head -n1 | awk '{print $2}')
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

root=$(mktemp -d /tmp/sandbox-rootfs.XXXXXX)
cleanup() { umount "$root/proc" 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT

# debootstrap's own resolver trips over npm's dependencies, so it lays down the base system only and apt,
# inside the new root, installs the languages.
echo "debootstrap bookworm from $mirror into $root" >&2
debootstrap --variant=minbase --include=ca-certificates,procps bookworm "$root" "$mirror" >&2
mount -t proc proc "$root/proc"
chroot "$root" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  python3 python3-pip python3-venv nodejs npm' >&2
umount "$root/proc"

# Behind a TLS-intercepting proxy (corporate networks, CI egress), sandboxes must trust what the host trusts
# to reach the npm registry and friends.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >&2
fi

# The unprivileged account user code runs as (uid 1000, as in E2B's and most sandbox images).
chroot "$root" useradd --create-home --uid 1000 --user-group --shell /bin/bash user
# Point apt inside the sandbox at the same mirror, and keep the image small.
echo "deb $mirror bookworm main" > "$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' - "$image" >&2
echo "built $image" >&2
