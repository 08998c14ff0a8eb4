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
		r.WantCode(t, 0)
		wantContains(t, "help for "+strings.Join(args, " "), r.Stdout, "Usage:", "Examples:", "dripcel ")
		if args[0] == "--help" || args[0] == "upload" || args[0] == "postback" {
			wantContains(t, "help", r.Stdout, "Exit codes", "DRIPCEL_API_KEY")
		}
	}
	// Each command's help has its own exit codes, not another's.
	up := runCLI(t, nil, "upload", "--help").Stdout
	pb := runCLI(t, nil, "postback", "--help").Stdout
	wantContains(t, "upload help", up, "every row is in Dripcel", "130  interrupted")
	wantContains(t, "postback help", pb, "Dripcel has the sale", "Dripcel refused the sale")
	if strings.Contains(pb, "row") || strings.Contains(pb, "--rejects") {
		t.Errorf("postback help speaks of rows:\n%s", pb)
	}
	r := runCLI(t, nil, "upload", "--help")
	wantContains(t, "upload help", r.Stdout, "--map", "--campaign", "--match-by", "--region", "--dry-run", "--rejects", "--quiet",
		"dripcel upload --region ZA --rejects rejects.csv sales.csv",
		"A sale names exactly one of campaign_id, send_id or click_id")
	wantContains(t, "postback help", pb, "--send-id", "--click-id", "A sale names exactly one of --campaign, --send-id or --click-id")
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "--version")
	r.WantCode(t, 0)
	if !strings.HasPrefix(r.Stdout, "dripcel ") || !strings.Contains(r.Stdout, "library 0.") {
		t.Errorf("version %q", r.Stdout)
	}
}
