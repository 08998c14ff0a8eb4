package main_test

import (
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"upload", "--help"}, {"postback", "--help"}, {"normalize", "--help"}, {"demo", "--help"}, {"help", "upload"},
	} {
		r := runCLI(t, nil, args...)
		r.wantCode(t, 0)
		wantContains(t, "help for "+strings.Join(args, " "), r.stdout, "Usage:", "Examples:", "dripcel ")
		if args[0] == "--help" || args[0] == "upload" || args[0] == "postback" {
			wantContains(t, "help", r.stdout, "Exit codes", "DRIPCEL_API_KEY")
		}
	}
	// Each command's help has its own exit codes, not another's.
	up := runCLI(t, nil, "upload", "--help").stdout
	pb := runCLI(t, nil, "postback", "--help").stdout
	wantContains(t, "upload help", up, "every row is in Dripcel", "130  interrupted")
	wantContains(t, "postback help", pb, "Dripcel has the sale", "Dripcel refused the sale")
	if strings.Contains(pb, "row") || strings.Contains(pb, "--rejects") {
		t.Errorf("postback help speaks of rows:\n%s", pb)
	}
	r := runCLI(t, nil, "upload", "--help")
	wantContains(t, "upload help", r.stdout, "--map", "--campaign", "--match-by", "--region", "--dry-run", "--rejects", "--quiet",
		"dripcel upload --region ZA --rejects rejects.csv sales.csv",
		"A sale names exactly one of campaign_id, send_id or click_id")
	wantContains(t, "postback help", pb, "--send-id", "--click-id", "A sale names exactly one of --campaign, --send-id or --click-id")
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "--version")
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "dripcel ") || !strings.Contains(r.stdout, "library 0.") {
		t.Errorf("version %q", r.stdout)
	}
}

func TestDemo(t *testing.T) {
	r := runCLI(t, nil, "demo", "--quiet")
	r.wantCode(t, 0)
	wantContains(t, "demo", r.stdout,
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
		if got := summaryLine(t, r.stdout, outcome); got != want {
			t.Errorf("demo summary %q, want %q", got, want)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr with --quiet: %q", r.stderr)
	}
}
