// Command testsummary reads `go test -json` on stdin, prints what plain
// `go test` prints (a line per package, the output of failed tests), and
// ends with every skipped test and why: plain `go test` hides the skip
// messages of a passing package. It exits 1 when a test or build failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	output := map[string][]string{} // package/test → lines
	skips := map[string][]string{}  // reason → tests
	failed := false
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			fmt.Println(in.Text()) // a build error is not JSON
			failed = true
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			output[key] = append(output[key], e.Output)
		case "skip":
			if e.Test == "" {
				continue // a package without tests
			}
			reason := "(no reason given)"
			for _, l := range output[key] {
				if i := strings.Index(l, ": "); i >= 0 && strings.Contains(l, ".go:") {
					reason = strings.TrimSpace(l[i+2:])
				}
			}
			skips[reason] = append(skips[reason], strings.TrimPrefix(e.Package, "github.com/zhengzhao/zhengzhao/")+" "+e.Test)
			delete(output, key)
		case "pass":
			delete(output, key)
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Print(strings.Join(output[key], ""))
			} else {
				fmt.Print(strings.Join(output[key], ""))
				fmt.Printf("FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
			delete(output, key)
		}
		if e.Test == "" && e.Action == "pass" {
			fmt.Printf("ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
		}
	}
	if len(skips) > 0 {
		reasons := make([]string, 0, len(skips))
		for r := range skips {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		fmt.Println("\n*** skipped tests ***")
		for _, r := range reasons {
			tests := skips[r]
			fmt.Printf("%d skipped: %s\n", len(tests), r)
			for i, t := range tests {
				if i == 3 {
					fmt.Printf("    … and %d more\n", len(tests)-3)
					break
				}
				fmt.Printf("    %s\n", t)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}
