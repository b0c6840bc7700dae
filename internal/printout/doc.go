// Package printout renders the printable copy of a license (R-HOL-1,
// R-INT-3): one A4 PDF page with the license face — type name, number,
// holder, validity, every face field of the template in its order — the
// issuer's seal over the issuer line, a QR code the caller chooses the
// payload of (it verifies the paper against the status list), and the
// signed license document itself attached as license.json, so that the
// PDF carries the verifiable original and not only a picture of it.
//
// The package is pure: it decodes the document for the face, reads the
// template for labels and masking, and draws. It holds no keys and no
// state, and does not check the signature (verification reads the
// attached document). Chinese text needs a CJK TrueType font: a
// configured path, or the first of the known Debian font files present
// (FindFont); none found is a *FontError naming the package to install.
//
// The PDF is written with github.com/go-pdf/fpdf (UTF-8 TrueType fonts
// subset into the file, PNG with transparency, document attachments); the
// QR code is encoded with github.com/yeqown/go-qrcode/v2 and drawn as
// vector squares, sharp at any printer resolution. See docs/printout.md.
package printout
