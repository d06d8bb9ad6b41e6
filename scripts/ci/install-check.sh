#!/usr/bin/env bash
# The first thing a user meets: pack quiverdb, install the tarball into a fresh folder with a
# clean environment (no npm_config_* variables, no project .npmrc, an empty npm cache config),
# then measure node_modules and use the package the way the README says: import it (ESM),
# require it (CommonJS), `npx quiver --version`, `npx quiver demo`.
# Usage: scripts/ci/install-check.sh [--limit-mb N] [--no-build]   (default 30 MB). Exits non-zero
# on any failure. --no-build packs the dist/ already built (tests that run beside readers of dist/).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
limit_mb=30
pack_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --limit-mb) limit_mb="$2"; shift 2 ;;
    --no-build) pack_flags+=(--ignore-scripts); shift ;;
    *) echo "install-check: unknown argument $1" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d "${TMPDIR:-/tmp}/quiver-install-check-XXXXXX")"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
fail() { echo "install-check: FAIL: $*" >&2; exit 1; }

# Pack from the repo as a maintainer would (this runs the build through `prepare`).
(cd "$root" && npm pack --silent "${pack_flags[@]}" --pack-destination "$work" > "$work/pack.txt") || fail "npm pack"
tarball="$work/$(tail -n 1 "$work/pack.txt")"

# A clean user: only PATH and HOME (a fresh HOME, so no ~/.npmrc), nothing inherited from npm.
home="$work/home"
app="$work/app"
mkdir -p "$home" "$app"
# One machine fact may carry over: where node-gyp finds Node's headers (hnswlib-node compiles at
# install). A machine that cannot download them keeps `nodedir` in its user config; a user with
# network needs nothing (node-gyp downloads the headers itself).
nodedir=$(env -i PATH="$PATH" HOME="$HOME" npm config get nodedir --location=user 2>/dev/null || true)
if [ -n "$nodedir" ] && [ "$nodedir" != "undefined" ] && [ "$nodedir" != "null" ]; then echo "nodedir=$nodedir" > "$home/.npmrc"; fi
clean() { (cd "$app" && env -i PATH="$PATH" HOME="$home" "$@"); }
clean npm init -y > /dev/null || fail "npm init"
start=$(date +%s)
if ! clean npm install --no-audit --no-fund "$tarball" > "$work/install.log" 2>&1; then
  cat "$work/install.log" >&2
  fail "npm install of the packed tarball"
fi
seconds=$(( $(date +%s) - start ))
cat "$work/install.log"
# npm 11 lists dependencies whose install scripts the user's package.json has not approved yet
# (and still runs them unless strict-allow-scripts is set). Only our three native dependencies
# may appear there, and quiverdb's own (its optional reader addon, native/build.mjs, which never
# fails the install) (README "Installing"); any other warning is one this package causes.
native='quiverdb|hnswlib-node|sse4_crc32|msgpackr-extract'
grep -Ei '^npm warn' "$work/install.log" \
  | grep -Ev "^npm warn install-scripts( +[0-9]+ packages have install scripts not yet covered by allowScripts:| +($native)@[0-9.]+ \(install: [^)]*\)| +Run .npm install-scripts ls.*)?$" \
  > "$work/foreign.txt" || true
if [ -s "$work/foreign.txt" ]; then cat "$work/foreign.txt" >&2; fail "npm install printed warnings this package causes"; fi
kb=$(du -sk "$app/node_modules" | cut -f1)
human=$(du -sh "$app/node_modules" | cut -f1)
echo "install-check: npm install took ${seconds}s; node_modules is ${human} (${kb} KB, limit ${limit_mb} MB)"
[ "$kb" -le $(( limit_mb * 1024 )) ] || { du -sk "$app"/node_modules/* "$app"/node_modules/@*/* 2>/dev/null | sort -n | tail -n 8 >&2; fail "node_modules is ${kb} KB, over ${limit_mb} MB"; }

cat > "$app/esm.mjs" <<'JS'
import { open } from 'quiverdb';
const db = await open(undefined, { dimension: 3 });
const v = await db.createVault('v');
await v.insert('a', [1, 0, 0]);
const [hit] = await v.search([1, 0, 0], { k: 1 });
await db.close();
if (hit.id !== 'a') throw new Error('ESM search found ' + hit.id);
const text = await open(undefined, { embedder: 'local' });
const t = await text.createVault('t');
await t.addDocument({ id: 'volcano', text: 'Volcanoes erupt when magma reaches the surface.' });
await t.addDocument({ id: 'bank', text: 'The central bank raised interest rates.' });
const [top] = await t.search('lava and eruptions', { k: 1 });
await text.close();
if (top.id !== 'volcano') throw new Error('text search found ' + top.id);
console.log('esm ok');
JS
cat > "$app/cjs.cjs" <<'JS'
const quiver = require('quiverdb');
if (typeof quiver.open !== 'function') throw new Error('require(quiverdb) has no open()');
quiver.open(undefined, { dimension: 2 }).then((db) => db.close()).then(() => console.log('cjs ok'));
JS
[ "$(clean node esm.mjs)" = "esm ok" ] || fail "import from ESM"
[ "$(clean node cjs.cjs 2>&1)" = "cjs ok" ] || fail "require from CommonJS"
version=$(clean npx --no-install quiver --version) || fail "npx quiver --version"
expected=$(node -p "require('$root/package.json').version")
[ "$version" = "$expected" ] || fail "quiver --version printed '$version', expected '$expected'"
clean npx --no-install quiver demo "$work/demo-db" > "$work/demo.txt" 2>&1 || { cat "$work/demo.txt" >&2; fail "npx quiver demo"; }
grep -q 'reopened read-only' "$work/demo.txt" || { cat "$work/demo.txt" >&2; fail "quiver demo did not finish"; }
# Readers: with the addon built at install they map their graphs; with QUIVER_NATIVE=0 (or no
# addon) they read them with hnswlib-node. Both must answer the same.
cat > "$app/reader.mjs" <<'JS'
import { open } from 'quiverdb';
const dir = process.argv[2];
if (process.argv[3] === 'write') {
  const db = await open(dir, { dimension: 8 });
  const v = await db.createVault('v');
  await v.insertMany(Array.from({ length: 500 }, (_, i) => ({ id: `r${i}`, vector: Array.from({ length: 8 }, (_, d) => Math.sin(i * 3.1 + d)) })));
  await db.checkpoint();
  await db.close();
} else {
  const db = await open(dir, { readOnly: true });
  const v = db.vault('v');
  const hits = await v.search(Array.from({ length: 8 }, (_, d) => Math.sin(42 * 3.1 + d)), { k: 3 });
  console.log(`${db.stats().vaults[0].index.mapped === true ? 'mapped' : 'hnswlib'} ${hits.map((h) => h.id).join(',')}`);
  await db.close();
}
JS
clean node reader.mjs "$work/reader-db" write || fail "writing the reader database"
addon=$([ -f "$app/node_modules/quiverdb/native/build/Release/qmap.node" ] && echo built || echo "not built")
with=$(clean node reader.mjs "$work/reader-db") || fail "a read-only open"
without=$(cd "$app" && env -i PATH="$PATH" HOME="$home" QUIVER_NATIVE=0 node reader.mjs "$work/reader-db") || fail "a read-only open with QUIVER_NATIVE=0"
echo "install-check: reader addon ${addon}; a reader: ${with}; with QUIVER_NATIVE=0: ${without}"
[ "${with#* }" = "${without#* }" ] || fail "a mapped reader and hnswlib-node's reader answered differently"
[ "${without%% *}" = "hnswlib" ] || fail "QUIVER_NATIVE=0 did not turn the addon off"
if [ "$addon" = built ] && [ "${with%% *}" != "mapped" ]; then fail "the addon was built but the reader did not map its graph"; fi
# hnswlib-node compiled in this install, so the compiler is there: an addon that did not build is
# a packaging fault (a source file left out of package.json "files", say), not a missing toolchain.
# INSTALL_CHECK_NO_ADDON=1 allows it (a machine without a compiler, where hnswlib-node has prebuilds).
[ "$addon" = built ] || [ "${INSTALL_CHECK_NO_ADDON:-0}" = 1 ] || fail "the reader addon did not build in the clean install"
# A user who approved the four native builds up front (README) sees no warning at all.
approved="$work/approved"
mkdir -p "$approved"
(cd "$approved" && env -i PATH="$PATH" HOME="$home" npm init -y > /dev/null \
  && env -i PATH="$PATH" HOME="$home" npm pkg set allowScripts.quiverdb=true allowScripts.hnswlib-node=true allowScripts.sse4_crc32=true allowScripts.msgpackr-extract=true --json \
  && env -i PATH="$PATH" HOME="$home" node -e '
    // Installed from a tarball, quiverdb is approved by its file: spec (from the registry, by name as above).
    const fs = require("node:fs");
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
    pkg.allowScripts["file:" + process.argv[1]] = true;
    fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2));' "$tarball" \
  && env -i PATH="$PATH" HOME="$home" npm install --no-audit --no-fund "$tarball" > "$work/approved.log" 2>&1) || { cat "$work/approved.log" >&2; fail "npm install with the native builds approved"; }
if grep -Ei '^npm warn' "$work/approved.log" >&2; then fail "npm install with the native builds approved printed warnings"; fi
echo "install-check: ok (import, require, quiver --version $version, quiver demo)"
