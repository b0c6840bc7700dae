#!/usr/bin/env bash
# Keys: create an SM2 key, sign a file and verify it, export the public key as
# PEM, rotate the key and show the old signature still verifying, and — when
# SoftHSM2 is installed — do the same with a key on a PKCS#11 token.
#
#   bash examples/keys.sh
#
# It uses $ZHENGZHAO_BIN when set, else builds ./cmd/zhengzhao into a
# temporary directory, which it removes at exit. It stops at the first answer
# that is not the expected one.
set -euo pipefail

source "$(dirname "$0")/lib/demo.sh"

# 1. A demo platform on a free port. Its first start creates the master key
#    (DATA/master.key, mode 0600) that encrypts every software private key.
start_demo
[ "$(stat -c %a "$tmp/data/master.key")" = 600 ] || fail "master.key is not mode 0600"

# 2. Create an SM2 key (SM2 with SM3 is the default algorithm) for seals.
key=$(zz key create --name walkthrough --purpose seal)
case "$key" in key_*) ;; *) fail "key create printed '$key'";; esac
echo "# created $key"

# 3. Sign a file; the signature is a small JSON file naming the key.
printf '西安市营业执照 No. 0001\n' >"$tmp/document.txt"
zz key sign walkthrough "$tmp/document.txt" --out "$tmp/document.sig"
grep -q '"algorithm": "SM2-SM3"' "$tmp/document.sig" || fail "not an SM2 signature: $(cat "$tmp/document.sig")"

# 4. Export the public key as PEM and verify offline with it alone (exit 0).
zz key export-public walkthrough >"$tmp/walkthrough.pem"
grep -q 'BEGIN PUBLIC KEY' "$tmp/walkthrough.pem" || fail "export-public printed no PEM"
zz key verify "$tmp/document.txt" "$tmp/document.sig" --public "$tmp/walkthrough.pem" || fail "the signature does not verify"

#    The same public key over the API, as PEM and JWK, for any token holder.
token=$(zz token create --role using-unit --org 91610100MA0000015Q --ttl 1h)
curl -fsS -H "Authorization: Bearer $token" "$api/keys/$key/public" >"$tmp/public.json"
grep -q '"crv":"SM2"' "$tmp/public.json" || fail "API public key: $(cat "$tmp/public.json")"

# 5. A changed document does not verify (exit 1).
printf 'tampered\n' >>"$tmp/document.txt"
if zz key verify "$tmp/document.txt" "$tmp/document.sig" --public "$tmp/walkthrough.pem" >/dev/null; then
  fail "a tampered document verified"
fi
printf '西安市营业执照 No. 0001\n' >"$tmp/document.txt"

# 6. Rotate: version 2 signs from now on; version 1 is retired, cannot sign,
#    and still verifies what it signed.
new=$(zz key rotate walkthrough)
[ "$new" != "$key" ] || fail "rotation kept the key ID"
zz key verify "$tmp/document.txt" "$tmp/document.sig" || fail "the old signature no longer verifies after rotation"
if zz key sign "$key" "$tmp/document.txt" >/dev/null 2>"$tmp/err"; then fail "a retired key signed"; fi
grep -q retired "$tmp/err" || fail "refusal does not say why: $(cat "$tmp/err")"
zz key sign walkthrough "$tmp/document.txt" --out "$tmp/document2.sig"
grep -q "\"key_id\": \"$new\"" "$tmp/document2.sig" || fail "the name did not resolve to version 2"
zz key list --purpose seal
echo "# rotated to $new; the old signature still verifies"

# 7. PKCS#11: the same with a key on a SoftHSM2 token, when it is installed.
module=/usr/lib/softhsm/libsofthsm2.so
if [ -f "$module" ] && command -v softhsm2-util >/dev/null; then
  mkdir -p "$tmp/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$tmp/tokens" >"$tmp/softhsm2.conf"
  export SOFTHSM2_CONF="$tmp/softhsm2.conf"
  softhsm2-util --init-token --free --label walkthrough --pin 1234 --so-pin 5678 >/dev/null
  hsm() { ZHENGZHAO_PKCS11_MODULE="$module" ZHENGZHAO_PKCS11_TOKEN=walkthrough ZHENGZHAO_PKCS11_PIN=1234 zz "$@"; }
  hkey=$(hsm key create --name hsm-seal --purpose seal --alg ECDSA-P256-SHA256 --backend pkcs11)
  hsm key sign hsm-seal "$tmp/document.txt" --out "$tmp/hsm.sig"
  hsm key export-public hsm-seal >"$tmp/hsm.pem"
  zz key verify "$tmp/document.txt" "$tmp/hsm.sig" --public "$tmp/hsm.pem" || fail "the PKCS#11 signature does not verify"
  hnew=$(hsm key rotate hsm-seal)
  hsm key verify "$tmp/document.txt" "$tmp/hsm.sig" || fail "the PKCS#11 signature does not verify after rotation"
  echo "# PKCS#11: $hkey signed on the token, rotated to $hnew, old signature verifies"
  # Ed25519 on the token too, where it offers CKM_EDDSA (SoftHSM2 2.6 does).
  hed=$(hsm key create --name hsm-ed --purpose seal --alg Ed25519 --backend pkcs11)
  hsm key sign hsm-ed "$tmp/document.txt" --out "$tmp/hsm-ed.sig"
  hsm key export-public hsm-ed >"$tmp/hsm-ed.pem"
  zz key verify "$tmp/document.txt" "$tmp/hsm-ed.sig" --public "$tmp/hsm-ed.pem" || fail "the PKCS#11 Ed25519 signature does not verify"
  echo "# PKCS#11: Ed25519 key $hed signed on the token"
else
  echo "# SoftHSM2 is not installed (apt-get install softhsm2): PKCS#11 part skipped"
fi

echo "# keys walkthrough passed"
