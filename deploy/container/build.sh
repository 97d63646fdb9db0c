#!/usr/bin/env bash
# Builds the runbook image (deploy/container/Containerfile) with podman or buildah, and checks
# what it holds: one static binary and the runbooks, nothing else, and that binary runs a whole
# restore drill with no other program and no environment at all.
#
#   bash deploy/container/build.sh [TAG]        (default: localhost/runbook:VERSION)
#
# Needs: the Rust target x86_64-unknown-linux-musl and musl-gcc (Debian: musl-tools) for the
# static binary, and podman or buildah.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tag=${1:-localhost/runbook:$version}
target=x86_64-unknown-linux-musl

if command -v podman > /dev/null; then builder=(podman build); inspect=(podman); elif command -v buildah > /dev/null; then builder=(buildah bud); inspect=(buildah); else
    echo "neither podman nor buildah is installed" >&2; exit 1
fi

echo "--- a static binary ($target)"
cargo build --release --locked --target "$target" --quiet
binary=target/$target/release/runbook
if ldd "$binary" 2>&1 | grep -q '=>'; then
    echo "$binary is linked dynamically; a FROM scratch image cannot run it" >&2; exit 1
fi

echo "--- it drills with nothing but itself: no PATH, no HOME, no environment"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
env -i "$PWD/$binary" drill runbooks/sqlite-selftest.runbook --state-dir "$scratch/state" --report "$scratch/report" -q

echo "--- the image"
context="$scratch/context"
mkdir -p "$context"
cp "$binary" "$context/runbook"
cp -r runbooks "$context/runbooks"
"${builder[@]}" --quiet -f deploy/container/Containerfile -t "$tag" "$context" > /dev/null

echo "--- what it holds"
container=$("${inspect[@]}" create "$tag" 2> /dev/null || "${inspect[@]}" from "$tag")
files=$(
    if [ "${inspect[0]}" = podman ]; then podman export "$container"; else
        mount=$(buildah mount "$container"); tar -C "$mount" -cf - .; buildah umount "$container" > /dev/null
    fi | tar -tf - | sed 's|^\./||' | grep -v '/$' | grep -v '^$' | sort
)
"${inspect[@]}" rm "$container" > /dev/null
unexpected=$(echo "$files" | grep -v -e '^usr/local/bin/runbook$' -e '^runbooks/' -e '^etc/\(hosts\|hostname\|resolv.conf\)$' -e '^run/' || true)
if [ -n "$unexpected" ]; then
    echo "the image holds more than the binary and the runbooks:" >&2; echo "$unexpected" >&2; exit 1
fi
echo "$files" | grep -qx 'usr/local/bin/runbook' || { echo "the image has no /usr/local/bin/runbook" >&2; exit 1; }
entrypoint=$("${inspect[@]}" inspect --format '{{.Config.Entrypoint}}' "$tag" 2> /dev/null || "${inspect[@]}" inspect --format '{{.OCIv1.Config.Entrypoint}}' "$tag")
user=$("${inspect[@]}" inspect --format '{{.Config.User}}' "$tag" 2> /dev/null || "${inspect[@]}" inspect --format '{{.OCIv1.Config.User}}' "$tag")
[ "$entrypoint" = "[/usr/local/bin/runbook]" ] || { echo "the entrypoint is $entrypoint" >&2; exit 1; }
[ "$user" = "10001:10001" ] || { echo "the image runs as $user, not 10001" >&2; exit 1; }
size=$(stat -c %s "$binary")
echo "built $tag: $(echo "$files" | wc -l) files, the binary $((size / 1024 / 1024)) MB, runs as $user"
