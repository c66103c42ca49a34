#!/usr/bin/env bash
# Prints, one per line, the Debian packages that hold the shared libraries the given ELF files
# link directly (their DT_NEEDED entries), looked up in the installed packages. The Dockerfile
# runs it in the build stage and installs the result in the runtime stage, so the image follows
# what the binaries really link (apt pulls in the libraries' own dependencies).
# Usage: deploy/runtime-packages.sh build/release/parley build/release/parley-audio-decoder
set -euo pipefail

[[ $# -gt 0 ]] || { echo "usage: $0 ELF..." >&2; exit 2; }
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

sonames=$(for elf in "$@"; do
  readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
done | sort -u)

status=0
packages=()
for so in $sonames; do
  found=0
  # Lines are "pkg[:arch][, pkg...]: /path"; keep the native multiarch folder (not lib32, not a
  # plugin sub-folder) and never a -dev package (those own the unversioned .so links only).
  while IFS= read -r line; do
    path=${line##*: }
    [[ $(dirname "$path") == */"$arch" ]] || continue
    for pkg in ${line%: *}; do
      pkg=${pkg%,}
      pkg=${pkg%%:*}
      [[ $pkg == *-dev ]] && continue
      packages+=("$pkg")
      found=1
    done
  done < <(dpkg -S "*/$arch/$so" 2>/dev/null || true)
  if [[ $found -eq 0 ]]; then
    echo "runtime-packages: no installed package holds $so" >&2
    status=1
  fi
done
[[ ${#packages[@]} -eq 0 ]] || printf '%s\n' "${packages[@]}" | sort -u
exit "$status"
