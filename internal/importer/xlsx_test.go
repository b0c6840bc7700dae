package importer

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// workbook returns an XLSX file with the sheets and their rows (row 1
// first); a nil row is left empty.
func workbook(t *testing.T, sheets map[string][][]any, order ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	for i, name := range order {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range sheets[name] {
			if row == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestXLSX(t *testing.T) {
	data := workbook(t, map[string][][]any{
		"证照": {
			{"名称", "注册资本", "备注"},
			{"福州闽江科技有限公司", 500, "甲"},
			nil, // an empty row is skipped, the numbering keeps the sheet's
			{"厦门鹭岛商贸有限公司", "1000.50"},
			{"多一列", 1, "乙", "丙"},
			{"last", nil, "丁"},
		},
		"其他": {{"x"}, {"y"}},
	}, "证照", "其他")
	got, err := readAll(t, data, Options{Format: XLSX})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.header, "|") != "名称|注册资本|备注" || got.enc != UTF8 {
		t.Fatalf("header %q, encoding %s", got.header, got.enc)
	}
	var rows []string
	for _, r := range got.rows {
		rows = append(rows, itoa(r.Number)+":"+strings.Join(r.Values, "|"))
	}
	if want := "2:福州闽江科技有限公司|500|甲 4:厦门鹭岛商贸有限公司|1000.50| 6:last||丁"; strings.Join(rows, " ") != want {
		t.Errorf("rows %q, want %q", strings.Join(rows, " "), want)
	}
	if len(got.errs) != 1 || got.errs[0].Rule != "columns" || got.errs[0].Row != 5 {
		t.Errorf("errors %v, want columns at row 5", got.errs)
	}

	// A date cell under Excel's built-in short date format reads as the ISO
	// date the face wants.
	f := excelize.NewFile()
	style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.SetCellValue("Sheet1", "A1", "established_on")
	_ = f.SetCellValue("Sheet1", "A2", time.Date(2021, 6, 18, 0, 0, 0, 0, time.UTC))
	_ = f.SetCellStyle("Sheet1", "A2", "A2", style)
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	dated, err := readAll(t, b.Bytes(), Options{Format: XLSX})
	if err != nil || len(dated.rows) != 1 || dated.rows[0].Values[0] != "2021-06-18" {
		t.Errorf("a date cell reads %+v, %v; want 2021-06-18", dated.rows, err)
	}

	other, err := readAll(t, data, Options{Format: XLSX, Sheet: "其他"})
	if err != nil || len(other.rows) != 1 || other.rows[0].Values[0] != "y" {
		t.Errorf("sheet 其他: %+v, %v", other.rows, err)
	}
}

func TestXLSXFileErrors(t *testing.T) {
	good := workbook(t, map[string][][]any{"A": {{"a"}, {"1"}}}, "A")
	for _, tc := range []struct {
		name string
		data []byte
		opt  Options
		want string
	}{
		{"not a workbook", []byte("a,b\n1,2\n"), Options{Format: XLSX}, "not an XLSX workbook"},
		{"cut off", good[:len(good)/2], Options{Format: XLSX}, "not an XLSX workbook"},
		{"no such sheet", good, Options{Format: XLSX, Sheet: "B"}, `no sheet "B"; its sheets: A`},
		{"empty sheet", workbook(t, map[string][][]any{"A": nil}, "A"), Options{Format: XLSX}, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.data, tc.opt)
			if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an ErrFile saying %q", err, tc.want)
			}
		})
	}
	if _, err := Open(bytes.NewReader(good), Options{Format: XLSX, Encoding: GB18030}); err == nil {
		t.Error("an encoding for a workbook was accepted")
	}
}
