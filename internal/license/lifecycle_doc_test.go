package license_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/license"
)

// TestDocumentedTransitionTable keeps the transition table of
// docs/licenses.md equal to license.Transitions(), row by row: operation,
// from-states, to-state, whether it signs a new version, topic.
func TestDocumentedTransitionTable(t *testing.T) {
	raw, err := os.ReadFile("../../docs/licenses.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "### Transition table")
	if start < 0 {
		t.Fatal("docs/licenses.md has no transition table")
	}
	var got []string
	for _, line := range strings.Split(doc[start:], "\n") {
		if !strings.HasPrefix(line, "| `") {
			if len(got) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		for i := range cells {
			if j := strings.Index(cells[i], " ("); j >= 0 {
				cells[i] = cells[i][:j] // the Chinese name
			}
			cells[i] = strings.ReplaceAll(cells[i], "`", "")
		}
		got = append(got, strings.Join(cells, " | "))
	}
	var want []string
	for _, tr := range license.Transitions() {
		from := make([]string, len(tr.From))
		for i, s := range tr.From {
			from[i] = string(s)
		}
		resign := "no"
		if tr.Resign {
			resign = "yes"
		}
		want = append(want, strings.Join([]string{string(tr.Operation), strings.Join(from, ", "), string(tr.To), resign, tr.Topic}, " | "))
	}
	if !slices.Equal(got, want) {
		t.Errorf("docs/licenses.md transition table:\n%s\nthe code's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
