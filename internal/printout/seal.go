package printout

import (
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
)

// maxSealMM bounds the printed size of a seal taken from a document.
const maxSealMM = 100

// DocumentSeal returns the seal a signed license document carries: the
// picture, printed size and name of the seal inside its SES_Signature,
// exactly as the seal signed it. Printing that picture rather than one
// read from the seal registry keeps the page true to the document even
// after the seal's image changed.
func DocumentSeal(doc []byte) (Seal, error) {
	d, err := license.Decode(doc)
	if err != nil {
		return Seal{}, apperr.Wrap(apperr.Invalid, err, "the document to print is not a license document")
	}
	sig, err := ses.ParseSignature(d.Signature)
	if err != nil {
		return Seal{}, apperr.Wrap(apperr.Invalid, err, "the license document's signature cannot be read: %v", err)
	}
	info := sig.TBS.Seal.Info
	// Render prints a PNG as it is and stands a ring in for another
	// format (SVG); a size outside a seal's is left to its default.
	s := Seal{Image: info.Picture.Data, Name: info.Property.Name}
	if w, h := info.Picture.Width, info.Picture.Height; w > 0 && w <= maxSealMM && h > 0 && h <= maxSealMM {
		s.WidthMM, s.HeightMM = int(w), int(h)
	}
	return s, nil
}
