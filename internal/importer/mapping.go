package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

// Mapping says which column of a file holds what: the license's number,
// holder, validity and completion date, and each face field of the
// template. A target left out is read from the column of its own name
// ("number", "valid_from", the face field's key); the holder's identifier
// defaults to the template's holder field, the holder's name to its field
// "name". Every column of the file is mapped or listed in Ignore: a column
// nobody reads is more likely a misspelt name than data to drop.
type Mapping struct {
	// Type is the license type code the mapping is written for; when set,
	// it must be the type of the import.
	Type        string            `json:"type,omitempty"`
	Number      string            `json:"number,omitempty"`
	HolderID    string            `json:"holder_id,omitempty"`
	HolderName  string            `json:"holder_name,omitempty"`
	ValidFrom   string            `json:"valid_from,omitempty"`
	ValidUntil  string            `json:"valid_until,omitempty"`
	CompletedOn string            `json:"completed_on,omitempty"`
	Face        map[string]string `json:"face,omitempty"`
	Ignore      []string          `json:"ignore,omitempty"`
}

// maxMappingSize bounds a mapping file.
const maxMappingSize = 1 << 20

// ParseMapping reads a mapping file, a JSON object; an unknown member is
// refused, not ignored, since it is a misspelt target.
func ParseMapping(r io.Reader) (Mapping, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMappingSize+1))
	if err != nil {
		return Mapping{}, fmt.Errorf("read mapping: %w", err)
	}
	if len(b) > maxMappingSize {
		return Mapping{}, fmt.Errorf("mapping: longer than %d bytes", maxMappingSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Mapping
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, fmt.Errorf("mapping: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Mapping{}, errors.New("mapping: data after the object")
	}
	return m, nil
}

// The targets other than face fields, as named in a mapping and in row
// problems.
const (
	TargetNumber      = "number"
	TargetHolderID    = "holder_id"
	TargetHolderName  = "holder_name"
	TargetValidFrom   = "valid_from"
	TargetValidUntil  = "valid_until"
	TargetCompletedOn = "completed_on"
)

// plan is a mapping resolved against a header: the column index of each
// target, -1 when the file has none.
type plan struct {
	number, holderID, holderName, validFrom, validUntil, completedOn int
	face                                                             []faceColumn
	// columns names the column of each target, for problems.
	columns map[string]string
}

type faceColumn struct {
	field catalog.Field
	col   int
}

// resolve checks the mapping against the header and the type before any
// row is read, every mismatch at once, as an *apperr.Error of kind Invalid
// with fields "mapping.<target>" and "header[i]": "exists" for a mapped
// column the file lacks or a mapping written for another type,
// "unknown-field" for a face key the template lacks or a column nothing
// reads, "required" for a target the license needs and no column gives.
func (m Mapping) resolve(h *Header, e catalog.Entry, t catalog.Template) (*plan, error) {
	var fs apperr.Fields
	if m.Type != "" && m.Type != e.Code {
		fs.Add("mapping.type", "exists", fmt.Sprintf("the mapping is for license type %s, not %s", m.Type, e.Code))
	}
	p := &plan{columns: map[string]string{}}
	used := make([]bool, len(h.names))
	col := func(target, named, def string, required bool) int {
		name := named
		if name == "" {
			name = def
			if _, ok := h.Index(name); !ok {
				name = target
			}
		}
		i, ok := h.Index(name)
		switch {
		case ok:
			used[i] = true
			p.columns[target] = name
			return i
		case named != "":
			fs.Add("mapping."+target, "exists", fmt.Sprintf("the file has no column %q", named))
		case required:
			fs.Add("mapping."+target, "required", fmt.Sprintf("no column gives %s: name one in the mapping or add a column %q", target, target))
		}
		return -1
	}
	holderDefault, nameDefault := TargetHolderID, TargetHolderName
	if hf, ok := t.HolderField(); ok {
		holderDefault = m.faceColumn(hf.Key)
	}
	if _, ok := t.Field("name"); ok {
		nameDefault = m.faceColumn("name")
	}
	// The holder's identifier and name default to a face column, read by
	// both; an explicit column of their own name comes first.
	if _, ok := h.Index(TargetHolderID); ok && m.HolderID == "" {
		holderDefault = TargetHolderID
	}
	if _, ok := h.Index(TargetHolderName); ok && m.HolderName == "" {
		nameDefault = TargetHolderName
	}
	p.number = col(TargetNumber, m.Number, TargetNumber, true)
	p.holderID = col(TargetHolderID, m.HolderID, holderDefault, true)
	p.holderName = col(TargetHolderName, m.HolderName, nameDefault, true)
	p.validFrom = col(TargetValidFrom, m.ValidFrom, TargetValidFrom, true)
	p.validUntil = col(TargetValidUntil, m.ValidUntil, TargetValidUntil, e.Validity.Kind == catalog.ValidityIssuerSet)
	p.completedOn = col(TargetCompletedOn, m.CompletedOn, TargetCompletedOn, true)
	for key := range m.Face {
		if _, ok := t.Field(key); !ok {
			fs.Add("mapping.face."+key, "unknown-field", "the template has no such field")
		}
	}
	for _, f := range t.Fields {
		if i := col("face."+f.Key, m.Face[f.Key], f.Key, f.Required); i >= 0 {
			p.face = append(p.face, faceColumn{field: f, col: i})
		}
	}
	for i, name := range h.names {
		if !used[i] && !slices.Contains(m.Ignore, name) {
			fs.Add(fmt.Sprintf("header[%d]", i), "unknown-field",
				fmt.Sprintf("nothing reads column %q: map it to a field or list it under ignore", name))
		}
	}
	for _, name := range m.Ignore {
		if _, ok := h.Index(name); !ok {
			fs.Add("mapping.ignore", "exists", fmt.Sprintf("the file has no column %q to ignore", name))
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// faceColumn is the column the mapping gives a face field, its key when
// it gives none.
func (m Mapping) faceColumn(key string) string {
	if c := strings.TrimSpace(m.Face[key]); c != "" {
		return c
	}
	return key
}
