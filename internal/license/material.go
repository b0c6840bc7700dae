package license

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
)

// Material is an issuance material (签发材料) as an issuer hands it in: a
// file the issuance rests on (an application form, a scanned identity
// document, an inspection report), archived with the license (R-ISS-7).
type Material struct {
	// Name is the file's name as people read it, e.g. 申请表.pdf.
	Name string
	// MediaType is one of MediaTypes; the content must be of that type.
	MediaType string
	Content   []byte
}

// MaterialInfo is a stored material without its content.
type MaterialInfo struct {
	LicenseID string
	// Seq numbers the materials of a license from 1, in the order they
	// were stored; no number is skipped.
	Seq       int
	Name      string
	MediaType string
	Size      int64
	// SM3 is the SM3 digest of the content, hex.
	SM3     string
	AddedBy string // the account that added it
	AddedAt time.Time
}

// The limits of materials: per issuance or addition request, and per file.
// The total keeps a request within what the API reads into memory
// (httpapi.MaterialsBodyLimit).
const (
	MaxMaterials      = 20
	MaxMaterialSize   = 10 << 20
	MaxMaterialsTotal = 20 << 20
	maxMaterialName   = 200
)

// The audit actions of materials.
const (
	MaterialAdded = "license.material.added"
	MaterialRead  = "license.material.read"
)

// The media types of materials.
const (
	mediaPDF, mediaOFD  = "application/pdf", "application/ofd"
	mediaPNG, mediaJPEG = "image/png", "image/jpeg"
	mediaXML, mediaJSON = "application/xml", "application/json"
)

// MediaTypes are the media types a material may have.
func MediaTypes() []string {
	return []string{mediaPDF, mediaOFD, mediaPNG, mediaJPEG, mediaXML, mediaJSON}
}

// SniffMediaType returns the media type of MediaTypes that content is, by
// its bytes alone, or "" when it is none of them. OFD (GB/T 33190) is a ZIP
// package whose root holds OFD.xml.
func SniffMediaType(content []byte) string {
	switch {
	case bytes.HasPrefix(content, []byte("%PDF-")):
		return mediaPDF
	case bytes.HasPrefix(content, []byte("\x89PNG\r\n\x1a\n")):
		return mediaPNG
	case bytes.HasPrefix(content, []byte{0xff, 0xd8, 0xff}):
		return mediaJPEG
	case bytes.HasPrefix(content, []byte("PK\x03\x04")):
		if isOFD(content) {
			return mediaOFD
		}
		return ""
	}
	text := bytes.TrimLeft(bytes.TrimPrefix(content, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case len(text) > 0 && (text[0] == '{' || text[0] == '[') && json.Valid(content):
		return mediaJSON
	case len(text) > 0 && text[0] == '<' && wellFormedXML(content):
		return mediaXML
	}
	return ""
}

func isOFD(content []byte) bool {
	z, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return false
	}
	return slices.ContainsFunc(z.File, func(f *zip.File) bool { return f.Name == "OFD.xml" })
}

// wellFormedXML reports whether content is one well-formed XML document.
// The decoder resolves no external entities.
func wellFormedXML(content []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(content))
	root := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			return false
		}
		if _, ok := tok.(xml.StartElement); ok {
			root = true
		}
	}
}

// checkMaterials checks the materials of a request, every broken rule at
// once, each field named materials[i].…
func checkMaterials(fs *apperr.Fields, ms []Material) {
	if len(ms) > MaxMaterials {
		fs.Add("materials", "max-items", fmt.Sprintf("at most %d materials", MaxMaterials))
		return
	}
	total := 0
	for i, m := range ms {
		checkMaterial(fs, "materials["+strconv.Itoa(i)+"].", m)
		total += len(m.Content)
	}
	if total > MaxMaterialsTotal {
		fs.Add("materials", "max-total-size", fmt.Sprintf("at most %d MiB of materials at once", MaxMaterialsTotal>>20))
	}
}

// checkMaterial checks one material; prefix names its fields.
func checkMaterial(fs *apperr.Fields, prefix string, m Material) {
	if fs.Name(prefix+"name", strings.TrimSpace(m.Name), maxMaterialName, true) && strings.ContainsAny(m.Name, `/\`) {
		fs.Add(prefix+"name", "file-name", "a file name, without a directory")
	}
	known := slices.Contains(MediaTypes(), m.MediaType)
	if !known {
		fs.Add(prefix+"media_type", "allowed", "one of "+strings.Join(MediaTypes(), ", "))
	}
	switch {
	case len(m.Content) == 0:
		fs.Add(prefix+"content", "required", "the file is empty")
	case len(m.Content) > MaxMaterialSize:
		fs.Add(prefix+"content", "max-size", fmt.Sprintf("at most %d MiB", MaxMaterialSize>>20))
	case known && SniffMediaType(m.Content) != m.MediaType:
		fs.Add(prefix+"content", "media-type-mismatch", "the content is not "+m.MediaType)
	}
}

// storeMaterials stores the checked materials of an issued license in its
// issuing transaction.
func storeMaterials(ctx context.Context, st Tx, l License, ms []Material) ([]MaterialInfo, error) {
	out := make([]MaterialInfo, 0, len(ms))
	for _, m := range ms {
		info, err := st.InsertMaterial(ctx, materialInfo(l.ID, m, l.IssuedBy, l.IssuedAt), m.Content)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func materialInfo(licenseID string, m Material, by string, at time.Time) MaterialInfo {
	sum := sm3.Sum(m.Content)
	return MaterialInfo{LicenseID: licenseID, Name: strings.TrimSpace(m.Name), MediaType: m.MediaType, Size: int64(len(m.Content)),
		SM3: hex.EncodeToString(sum[:]), AddedBy: by, AddedAt: at}
}

// materialDetails lists the digests of stored materials in an audit
// entry's details: "seq:sm3,…".
func materialDetails(details map[string]string, ms []MaterialInfo) map[string]string {
	if len(ms) == 0 {
		return details
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = strconv.Itoa(m.Seq) + ":" + m.SM3
	}
	details["materials"] = strings.Join(parts, ",")
	return details
}

// AddMaterial archives one more material with a license of the actor's
// organization, in a transaction of its own with its audit entry. The
// license is re-read in that transaction. The audit log, which is never
// erased, names the material by seq and digest, not by its file name,
// which may name a person.
//
// A refusal of an issuer is recorded in the audit log (refused).
func (s *Service) AddMaterial(ctx context.Context, actor *authz.Actor, licenseID string, m Material) (MaterialInfo, error) {
	out, err := s.addMaterial(ctx, actor, licenseID, m)
	return out, s.refused(ctx, actor, "add-material", licenseID, err)
}

// addMaterial is AddMaterial without the record of a refusal.
func (s *Service) addMaterial(ctx context.Context, actor *authz.Actor, licenseID string, m Material) (MaterialInfo, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return MaterialInfo{}, err
	}
	var fs apperr.Fields
	checkMaterial(&fs, "", m)
	if err := fs.Err(); err != nil {
		return MaterialInfo{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	var out MaterialInfo
	err = s.tx(ctx, func(st Tx) error {
		l, err := ownLicense(ctx, st, issuer, licenseID)
		if err != nil {
			return err
		}
		if out, err = st.InsertMaterial(ctx, materialInfo(l.ID, m, actor.AccountID, now), m.Content); err != nil {
			return err
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: actor.AccountID, Org: issuer, Action: MaterialAdded, Subject: l.ID,
			Details: materialDetails(map[string]string{"media_type": out.MediaType, "size": strconv.FormatInt(out.Size, 10)},
				[]MaterialInfo{out})})
	})
	if err != nil {
		return MaterialInfo{}, err
	}
	return out, nil
}

// Materials lists the materials of a license of the actor's organization,
// by seq, without their content.
func (s *Service) Materials(ctx context.Context, actor *authz.Actor, licenseID string) ([]MaterialInfo, error) {
	l, err := s.own(ctx, actor, licenseID)
	if err != nil {
		return nil, err
	}
	return s.store.ListMaterials(ctx, l.ID)
}

// MaterialContent returns a material of a license of the actor's
// organization and its content. Reading the content is an access to
// personal data: it is recorded in the audit log, in the transaction that
// reads it.
func (s *Service) MaterialContent(ctx context.Context, actor *authz.Actor, licenseID string, seq int) (MaterialInfo, []byte, error) {
	issuer, err := issuerOf(actor)
	if err != nil {
		return MaterialInfo{}, nil, err
	}
	var info MaterialInfo
	var content []byte
	err = s.tx(ctx, func(st Tx) error {
		l, err := ownLicense(ctx, st, issuer, licenseID)
		if err != nil {
			return err
		}
		info, content, err = st.Material(ctx, l.ID, seq)
		if errors.Is(err, apperr.NotFound) {
			return apperr.New(apperr.NotFound, "license %s has no material %d", l.ID, seq)
		}
		if err != nil {
			return err
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: s.now().UTC(), Actor: actor.AccountID, Org: issuer, Action: MaterialRead,
			Subject: l.ID, Details: map[string]string{"seq": strconv.Itoa(seq), "sm3": info.SM3}})
	})
	if err != nil {
		return MaterialInfo{}, nil, err
	}
	return info, content, nil
}

// ownLicense reads a license of issuer through r; another organization's
// is NotFound, as one that does not exist.
func ownLicense(ctx context.Context, r Reader, issuer, id string) (License, error) {
	l, err := r.GetLicense(ctx, strings.TrimSpace(id))
	if errors.Is(err, apperr.NotFound) || (err == nil && l.Issuer != issuer) {
		return License{}, apperr.New(apperr.NotFound, "no license %s", id)
	}
	return l, err
}
