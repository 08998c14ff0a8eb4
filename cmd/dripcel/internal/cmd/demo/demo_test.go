package demo_test

import "testing"

func TestDemo(t *testing.T) {
	r := runCLI(t, nil, "demo", "--quiet")
	r.WantCode(t, 0)
	wantContains(t, "demo", r.Stdout,
		"sales.csv: 6 rows read, 5 sent",
		"1 row needing action written to rejects.csv",
		`old-campaign,0845550199,2025-10-15,75,A-1005,6,"campaign not found: ""old-campaign"""`,
		"demo-campaign cell 27725550101")
	for outcome, want := range map[string]string{
		"recorded":           "recorded 3",
		"already in Dripcel": "already in Dripcel 1 row 7",
		"repeated in file":   "repeated in file 1 row 5 (repeats 2)",
		"campaign not found": "campaign not found 1 row 6",
	} {
		if got := summaryLine(t, r.Stdout, outcome); got != want {
			t.Errorf("demo summary %q, want %q", got, want)
		}
	}
	if r.Stderr != "" {
		t.Errorf("stderr with --quiet: %q", r.Stderr)
	}
}
