package api

import "time"

// Import is a bulk import job uploaded over the API (docs/import.md,
// "Importing over the API").
type Import struct {
	ID          string    `json:"id"`
	State       string    `json:"state" enum:"queued,running,done,cancelled,failed" doc:"queued: waiting for a server to run it (also after a resume, or a server stopped mid-job); running: a server holds it; cancelled and failed may be resumed."`
	Type        string    `json:"type"`
	TypeVersion int       `json:"type_version"`
	FileName    string    `json:"file_name"`
	FileSHA256  string    `json:"file_sha256"`
	Format      string    `json:"format" enum:"csv,jsonl,xlsx"`
	Encoding    string    `json:"encoding,omitempty" doc:"The character encoding the file was read in (CSV and JSON Lines)."`
	Sign        string    `json:"sign" enum:"batch,each"`
	BatchSize   int       `json:"batch_size"`
	Increment   bool      `json:"increment" doc:"A day's increment (due the day its cases completed) rather than stock (due within five working days)."`
	Size        int64     `json:"size" doc:"The file's size in bytes."`
	Rows        int64     `json:"rows" doc:"The file's data rows, counted at the upload."`
	Checkpoint  int64     `json:"checkpoint" doc:"The rows whose batch has committed; a resumed job goes on after them."`
	Imported    int64     `json:"imported"`
	Versioned   int64     `json:"versioned"`
	Unchanged   int64     `json:"unchanged"`
	Rejected    int64     `json:"rejected"`
	Batches     int64     `json:"batches"`
	RowsPerS    float64   `json:"rows_per_s,omitempty" doc:"Rows a second of the current (or last) run: its rows over its time, from its claim to its last batch."`
	ETASeconds  *int64    `json:"eta_s,omitempty" doc:"Seconds left at that rate; absent when no rate is known yet or the job is not running."`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ImportProblem is a problem of a row an import rejected; its value is
// masked as in the command line's report.
type ImportProblem struct {
	Row    int64  `json:"row"`
	Column string `json:"column,omitempty"`
	Field  string `json:"field,omitempty" doc:"The target: number, holder_id, valid_from, face.name, ...; absent for the row as a whole."`
	Rule   string `json:"rule"`
	Value  string `json:"value,omitempty" doc:"Masked: the holder's identifier never in clear."`
	Detail string `json:"detail"`
}

// ImportReport is a page of the problems of the rows an import rejected,
// in row order, with the job.
type ImportReport struct {
	Import     Import          `json:"import"`
	Problems   []ImportProblem `json:"problems"`
	NextCursor string          `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
}
