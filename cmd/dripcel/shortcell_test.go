package main_test

import "testing"

// A cell too short for a mobile number of its region is refused by every
// command that converts cells, though phonenumbers' patterns allow it (ZA's
// 081–084 ranges run from 5 to 9 digits there; ZA cells have 9).

func TestNormalizeShortCell(t *testing.T) {
	r := runCLI(t, nil, "normalize", "--region", "ZA",
		"0821234", "082 123 4567", "082 123 456", "+27821234", "021 123 4567")
	r.wantCode(t, 1)
	if want := "27821234567\n27211234567\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q (a full cell and a landline)", r.stdout, want)
	}
	wantContains(t, "stderr", r.stderr,
		`"0821234" is not a valid ZA number: too short for a mobile number in ZA`,
		`"082 123 456" is not a valid ZA number: too short for a mobile number in ZA`,
		`"+27821234" is not a valid international number: too short for a mobile number in ZA`,
		"3 cells could not be converted")
}

func TestUploadShortCell(t *testing.T) {
	srv := newServer(t)
	path := writeFile(t, "sales.csv", "campaign_id,cell,soldAt\n"+
		"c1,082 123 4567,2025-10-14\nc1,082 123 456,2025-10-14\nc1,27821234,2025-10-14\n")
	r := runCLI(t, env(srv), "upload", "--region", "ZA", path)
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr,
		path+`: row 3: cell "082 123 456" is not a valid ZA number`,
		path+`: row 4: cell "27821234" is not a valid ZA number`)
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestPostbackShortCell(t *testing.T) {
	srv := newServer(t)
	r := runCLI(t, env(srv), "postback", "--campaign", "c1", "--cell", "0821234", "--region", "ZA")
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, `--cell "0821234" is not a valid ZA number`)
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
