#!/usr/bin/env bash
# Copies the browser libraries pinned in package.json / package-lock.json
# into static/vendor/NAME-VERSION/, with their licence, so that the pages
# serve them from the platform itself (no CDN) and the binary embeds them.
# Run after changing a version: npm ci runs first, nothing else is fetched.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
version() { node -p "require('./node_modules/$1/package.json').version"; }
rm -rf static/vendor
d=static/vendor/sm-crypto-$(version sm-crypto)
mkdir -p "$d"
cp node_modules/sm-crypto/dist/sm2.js node_modules/sm-crypto/LICENCE_MIT "$d/"
# sm2.js bundles jsbn (BigInteger), whose licence goes with it.
cp node_modules/jsbn/LICENSE "$d/LICENSE-jsbn"
d=static/vendor/jsqr-$(version jsqr)
mkdir -p "$d"
cp node_modules/jsqr/dist/jsQR.js node_modules/jsqr/LICENSE "$d/"
# cborg is ES modules: its entry point and lib/ (minus the command-line
# tool and the diagnostic printer, which the pages do not load).
d=static/vendor/cborg-$(version cborg)
mkdir -p "$d/lib"
cp node_modules/cborg/cborg.js node_modules/cborg/LICENSE "$d/"
for f in node_modules/cborg/lib/*.js; do
  case "$(basename "$f")" in bin.js | diagnostic*.js) continue ;; esac
  cp "$f" "$d/lib/"
done
rm -rf node_modules
echo "vendored into static/vendor:"
ls static/vendor
