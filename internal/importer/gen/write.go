package gen

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// CSVOptions say how a CSV file is written.
type CSVOptions struct {
	// GB18030 writes the file in GB18030, as older government systems
	// export it; UTF-8 otherwise.
	GB18030 bool
	// BOM opens a UTF-8 file with a byte order mark, as Excel writes it.
	BOM bool
}

// WriteCSV writes a header and n rows as CSV.
func (g *Generator) WriteCSV(w io.Writer, n int, opt CSVOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = bw
	var tw io.WriteCloser
	if opt.GB18030 {
		tw = transform.NewWriter(bw, simplifiedchinese.GB18030.NewEncoder())
		out = tw
	} else if opt.BOM {
		if _, err := bw.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw := csv.NewWriter(out)
	if err := cw.Write(Columns()); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for range n {
		if err := cw.Write(g.Next().Values); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if tw != nil {
		if err := tw.Close(); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteJSONL writes n rows as JSON Lines, one object per row with the
// columns as members (the extra cell of a BadColumns row as member
// "extra").
func (g *Generator) WriteJSONL(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cols := Columns()
	for range n {
		row := g.Next()
		if err := bw.WriteByte('{'); err != nil {
			return fmt.Errorf("write jsonl: %w", err)
		}
		for i, v := range row.Values {
			name := "extra"
			if i < len(cols) {
				name = cols[i]
			}
			if i > 0 {
				_ = bw.WriteByte(',')
			}
			k, _ := json.Marshal(name) // strings always marshal
			s, _ := json.Marshal(v)
			_, _ = bw.Write(k)
			_ = bw.WriteByte(':')
			_, _ = bw.Write(s)
		}
		if _, err := bw.WriteString("}\n"); err != nil {
			return fmt.Errorf("write jsonl: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write jsonl: %w", err)
	}
	return nil
}

// WriteXLSX writes a workbook of one sheet, "Sheet1": the header in row 1
// and n rows below, every cell text, through excelize's stream writer.
func (g *Generator) WriteXLSX(w io.Writer, n int) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write xlsx: %w", cerr)
		}
	}()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	cells := make([]any, 0, len(Columns())+1)
	put := func(row int, vals []string) error {
		cells = cells[:0]
		for _, v := range vals {
			cells = append(cells, v)
		}
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, cells)
	}
	if err := put(1, Columns()); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	for i := range n {
		if err := put(i+2, g.Next().Values); err != nil {
			return fmt.Errorf("write xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}
