#!/usr/bin/env bash
# Extracts the real-code benchmark corpus listed in lint/bench/corpus.tsv into OUT (default
# target/lint-corpus), one directory per repository and split: OUT/<split>/<lang>/<name>/…
#
#   lint/bench/corpus.sh [OUT]
#
# The repositories are read from bare mirrors under LOADGUARD_MIRRORS (default /work/.mirror,
# laid out as <owner>+<name>/repo), or from clones you made (`git clone --mirror URL
# $LOADGUARD_MIRRORS/<owner>+<name>/repo`). Files are read from the pinned commit's tree
# (`git ls-tree` / `git cat-file`), so what is analyzed is exactly the listed commit; only
# C, C++ and Rust sources are extracted (mirrors may lack large binary blobs). Third-party code
# stays in OUT, never in the repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../../target/lint-corpus}"
mirrors="${LOADGUARD_MIRRORS:-/work/.mirror}"
missing=0
while IFS=$'\t' read -r repo commit split lang paths; do
    [[ -z $repo || $repo == \#* ]] && continue
    git_dir="$mirrors/${repo/\//+}/repo"
    if [[ ! -d $git_dir ]]; then
        echo "corpus: no mirror of $repo at $git_dir" >&2
        missing=1
        continue
    fi
    dest="$out/$split/$lang/${repo#*/}"
    rm -rf "$dest"
    mkdir -p "$dest"
    # shellcheck disable=SC2086 # the paths are a space-separated list by design
    git --git-dir="$git_dir" ls-tree -r --name-only "$commit" -- $paths |
        grep -E '\.(rs|c|cc|cpp|cxx|h|hh|hpp|hxx|inl|cu|cuh|mm|m)$' |
        while IFS= read -r file; do
            mkdir -p "$dest/$(dirname "$file")"
            git --git-dir="$git_dir" cat-file blob "$commit:$file" >"$dest/$file"
        done
    echo "corpus: $repo@${commit:0:12} ($split, $lang): $(find "$dest" -type f | wc -l) files"
done <"$here/corpus.tsv"
exit "$missing"
