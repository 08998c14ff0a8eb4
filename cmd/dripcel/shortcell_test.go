package main_test

import (
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

// A cell too short for a mobile number of its region is refused by every
// command that converts cells, with the reason, though phonenumbers'
// patterns allow it (ZA's 081–084 ranges run from 5 to 9 digits there; ZA
// cells have 9).

func TestNormalizeShortCell(t *testing.T) {
	r := runCLI(t, nil, "normalize", "--region", "ZA",
		"0821234", "082 123 4567", "082 123 456", "+27821234", "021 123 4567")
	r.WantCode(t, 1)
	if want := "27821234567\n27211234567\n"; r.Stdout != want {
		t.Errorf("stdout %q, want %q (a full cell and a landline)", r.Stdout, want)
	}
	wantContains(t, "stderr", r.Stderr,
		`"0821234" is not a valid ZA number: too short for a mobile number in ZA`,
		`"082 123 456" is not a valid ZA number: too short for a mobile number in ZA`,
		`"+27821234" is not a valid international number: too short for a mobile number in ZA`,
		"3 cells could not be converted")
}

func TestUploadShortCell(t *testing.T) {
	srv := clitest.NewServer(t)
	path := clitest.WriteFile(t, "sales.csv", "campaign_id,cell,soldAt\n"+
		clitest.Campaign+",082 123 4567,2025-10-14\n"+clitest.Campaign+",082 123 456,2025-10-14\n"+clitest.Campaign+",27821234,2025-10-14\n")
	r := runCLI(t, clitest.Env(srv), "upload", "--region", "ZA", path)
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr,
		`row 3: cell "082 123 456" is not a valid ZA number: too short for a mobile number in ZA`,
		`row 4: cell "27821234"`, "too short for a mobile number in ZA")
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestPostbackShortCell(t *testing.T) {
	srv := clitest.NewServer(t)
	r := runCLI(t, clitest.Env(srv), "postback", "--campaign", clitest.Campaign, "--cell", "0821234", "--region", "ZA")
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, `--cell "0821234" is not a valid ZA number: too short for a mobile number in ZA`)
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
