// Package seal manages government electronic seals (政务电子印章, R-SEAL-1..8):
// applications and their approval, making a seal (image, key, certificate
// and the GB/T 38540 seal structure), filing, the protection PIN, use
// approval and use records, and signing and verifying documents. The ASN.1
// of GB/T 38540 lives in codec/ses.
package seal
