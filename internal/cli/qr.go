package cli

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // pictures of a QR code taken with a phone
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/qrimage"
	"github.com/zhengzhao/zhengzhao/verify"
)

// verifyQRCommand is `verify-qr`.
func (a *app) verifyQRCommand() *cobra.Command {
	var trustFile, pinnedRoot string
	var maxAge, skew time.Duration
	cmd := &cobra.Command{
		Use:   "verify-qr [--trust TRUST.json [--root-fingerprint HEX]] PAYLOAD|IMAGE.png",
		Short: "Verify a holder's QR payload (亮证亮码) or a picture of it (exit 0 valid, 1 invalid, 2 usage or a bad trust bundle)",
		Long: `verify-qr checks a dynamic QR payload (docs/qr-format.md), given as its text
("ZZ1:…"), as a file holding the text, or as a PNG or JPEG picture of the code,
and prints every check: format, key (the presentation key the trust bundle
lists for the payload's kid), signature, expiry (the payload's minute, with
--skew) and status (the bundle's status lists, with their age), then the
license and the face fields the holder disclosed.

With --trust it works offline, from a trust bundle alone (zhengzhao license
trust-bundle, or GET /api/v1/licenses/trust-bundle), and opens no store; pin
the platform root with --root-fingerprint. Without --trust it builds a fresh
bundle from the store.`,
		Example: `  zhengzhao verify-qr --trust trust.json qr.png
  zhengzhao verify-qr --trust trust.json 'ZZ1:6BF…'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trustFile == "" && pinnedRoot != "" {
				return usageErr("%s", a.t("cli.license.pin-without-trust", nil))
			}
			var (
				bundle *verify.Bundle
				footer func(w io.Writer) error
			)
			if trustFile != "" {
				var err error
				if bundle, err = a.openBundle(trustFile, pinnedRoot); err != nil {
					return err
				}
				footer = func(w io.Writer) error { return a.printBundleRoot(w, bundle, pinnedRoot) }
			} else {
				err := a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
					b, err := p.Trust.Bundle(cmd.Context())
					bundle = &b
					return err
				})
				if err != nil {
					return err
				}
			}
			var v verify.PresentationVerdict
			if payload, err := a.readPayload(args[0]); errors.Is(err, errNoQRCode) {
				v.Checks = []verify.Check{{Name: verify.CheckFormat, Reason: a.t("cli.qr.no-code", map[string]any{"File": args[0]})}}
			} else if err != nil {
				v.Checks = []verify.Check{{Name: verify.CheckFormat, Reason: err.Error()}}
			} else {
				v = verify.Presentation(cmd.Context(), payload, bundle, time.Now(), verify.MaxStatusAge(maxAge), verify.ClockSkew(skew))
			}
			if err := a.print(v, func(w io.Writer) error { return a.printPresentation(w, v, footer) }); err != nil {
				return err
			}
			if !v.Valid {
				return &exitError{code: ExitInvalid}
			}
			return nil
		},
	}
	trustFlags(cmd, &trustFile, &pinnedRoot, &maxAge)
	cmd.Flags().DurationVar(&skew, "skew", verify.DefaultClockSkew, "how far this clock may be off the platform's")
	return cmd
}

// printPresentation prints the checks, the outcome and, once the
// signature verified, what the payload claims.
func (a *app) printPresentation(w io.Writer, v verify.PresentationVerdict, footer func(io.Writer) error) error {
	a.printChecks(w, v.Checks)
	outcome := a.t("cli.valid", nil)
	if !v.Valid {
		outcome = a.t("cli.invalid", nil)
	}
	if p := v.Presented; p != nil {
		fmt.Fprintf(w, "%s %s (%s v%d, %s, %s – %s)\n", p.LicenseID, outcome, p.TypeCode, p.TypeVersion, p.Holder,
			p.IssuedAt.Format(time.RFC3339), p.Expires.Format(time.RFC3339))
		for _, k := range slices.Sorted(maps.Keys(p.Fields)) {
			fmt.Fprintf(w, "  %s: %v\n", k, p.Fields[k])
		}
	} else {
		fmt.Fprintf(w, "- %s\n", outcome)
	}
	if footer != nil {
		return footer(w)
	}
	return nil
}

// readPayload returns the payload arg gives: the text itself when it has
// the payload prefix or names no file, else the file's content — the QR
// code a PNG or JPEG picture shows, or the text it holds.
func (a *app) readPayload(arg string) (string, error) {
	if strings.HasPrefix(arg, qr.Prefix) {
		return arg, nil
	}
	fi, err := os.Stat(arg)
	if os.IsNotExist(err) || errors.Is(err, syscall.ENAMETOOLONG) {
		// Not a file (a payload of another prefix is longer than a file
		// name may be): verify says what is wrong with it as a payload.
		return arg, nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", arg, err)
	}
	if fi.Size() > maxPicture {
		return "", fmt.Errorf("%s: %d bytes, more than a picture of a QR code (%d)", arg, fi.Size(), maxPicture)
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", arg, err)
	}
	// The dimensions are read first: a small file may declare a picture
	// whose pixels would not fit in memory.
	if c, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil {
		if c.Width*c.Height > maxPixels {
			return "", fmt.Errorf("%s: a picture of %d×%d pixels, more than %d", arg, c.Width, c.Height, maxPixels)
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return "", fmt.Errorf("%s: %w", arg, err)
		}
		return decodeQRImage(arg, img)
	}
	return strings.TrimSpace(string(b)), nil
}

// Bounds of a picture verify-qr reads: a phone photo fits both.
const (
	maxPicture = 32 << 20
	maxPixels  = 50_000_000
)

// errNoQRCode: a picture shows no QR code that can be read.
var errNoQRCode = errors.New("no QR code found in the picture")

// decodeQRImage reads the QR code of a picture.
func decodeQRImage(name string, img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		// gozxing's finder-pattern search misses about one code in twenty
		// even in a clean picture (data modules it takes for a finder); a
		// picture that is the code alone, as `license present --png` and
		// the API draw it, then reads as a pure barcode.
		var pure error
		if res, pure = zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}); pure != nil {
			return "", fmt.Errorf("%s: %w: %w", name, errNoQRCode, err)
		}
	}
	return res.GetText(), nil
}

// licensePresentCommand is `license present`.
func (a *app) licensePresentCommand() *cobra.Command {
	var issuer, account, disclose, pngFile string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "present [--disclose f,g] [--ttl 60s] [--png FILE] ID",
		Short: "Make a holder's dynamic QR payload of a license, for testing (亮证亮码)",
		Long: `present signs a dynamic QR payload (docs/qr-format.md) of the current version
of a license with the platform's presentation key, as a holder will show it:
the holder's name masked, the face fields --disclose names (public or personal
fields of the type's template; sensitive ones never), the status lists, valid
for --ttl (60 s by default, 10 min at most). It prints the payload, and with
--png writes the QR code as a picture. The operator acts as an issuer account
(--account) of the license's issuer; each payload is recorded in the audit
log (license.presented). Check it with zhengzhao verify-qr.`,
		Example: `  zhengzhao license present --disclose issuing_authority --png qr.png PC000111350100MB0000027N00000000011`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			issuer, err := licenseIssuer(args[0], issuer)
			if err != nil {
				return err
			}
			var fields []string
			for f := range strings.SplitSeq(disclose, ",") {
				if f = strings.TrimSpace(f); f != "" {
					fields = append(fields, f)
				}
			}
			return a.asIssuer(cmd.Context(), issuer, account, func(p *platform.Platform, actor *authz.Actor) error {
				pr, err := p.Licenses.Present(cmd.Context(), actor, args[0], license.PresentRequest{Disclose: fields, TTL: ttl})
				if err != nil {
					return err
				}
				if pngFile != "" {
					img, err := qrimage.PNG(pr.Payload, qrimage.DefaultScale)
					if err != nil {
						return err
					}
					if err := os.WriteFile(pngFile, img, 0o600); err != nil {
						return fmt.Errorf("write %s: %w", pngFile, err)
					}
				}
				return a.print(map[string]any{"payload": pr.Payload, "kid": fmt.Sprintf("%x", pr.KID), "expires": pr.Claims.Expires},
					func(w io.Writer) error { _, err := fmt.Fprintln(w, pr.Payload); return err })
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&issuer, "issuer", "", "credit code of the license's issuer (default: the one its identifier names)")
	fl.StringVar(&disclose, "disclose", "", "face fields to disclose, comma-separated")
	fl.DurationVar(&ttl, "ttl", license.DefaultPresentTTL, "how long the payload is valid (at most 10m)")
	fl.StringVar(&pngFile, "png", "", "also write the QR code to this PNG file")
	licenseFlags(cmd, &account)
	return cmd
}
