#!/usr/bin/env bash
# Builds the local base image localhost/ee-debian:bookworm with debootstrap
# from the Debian mirror this machine's apt already uses, for hosts that
# reach no image registry. Does nothing when the image exists.
#   containers/base.sh [IMAGE]
set -euo pipefail
image=${1:-localhost/ee-debian:bookworm}
suite=bookworm

if podman image exists "$image"; then
  echo "base: $image exists"
  exit 0
fi

# The first "deb" mirror serving $suite in the apt sources (deb822 or
# one-line format); never a host name written into the repository.
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v suite="$suite" '
      /^$/ { if (uris && has) print uris; uris = ""; has = 0 }
      /^URIs:/ { uris = $2 }
      /^Suites:/ { for (i = 2; i <= NF; ++i) if ($i == suite) has = 1 }
      END { if (uris && has) print uris }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      || true; } | awk -v suite="$suite" '$1 == "deb" && $0 ~ " " suite " " {
        for (i = 2; i <= NF; ++i) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
}
url=$(mirror | head -n 1 || true)
[[ -n $url ]] || { echo "base: no $suite mirror in the apt sources" >&2; exit 1; }

root=$(mktemp -d /var/tmp/ee-debian.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base: debootstrap $suite from $url"
include=()
[[ $url == https:* ]] && include=(--include=ca-certificates)
debootstrap --variant=minbase "${include[@]}" "$suite" "$root" \
  "$url" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Like debian:bookworm-slim: no documentation (but the copyright files) or
# translations, now and in the packages installed later.
cat >"$root/etc/dpkg/dpkg.cfg.d/excludes" <<'END'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
END
# The updates suite too, as the host has.
echo "deb $url $suite-updates main" >>"$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
  "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* \
  "$root"/usr/share/info/* "$root"/var/log/*.log
find "$root"/usr/share/doc -type f ! -name copyright -delete
find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias \
  -exec rm -rf {} +
tar -C "$root" -c . \
  | podman import --quiet --change 'CMD ["bash"]' - "$image" >/dev/null
echo "base: imported $image"
