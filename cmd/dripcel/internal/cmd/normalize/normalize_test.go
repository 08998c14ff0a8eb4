package normalize_test

import (
	"strings"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	r := runCLI(t, nil, "normalize", "--region", "ZA", "063 123 1234", "(082) 123-4567", "+27 72 555 0101", "0027845550199", "27631231234")
	r.WantCode(t, 0)
	if want := "27631231234\n27821234567\n27725550101\n27845550199\n27631231234\n"; r.Stdout != want {
		t.Errorf("stdout %q, want %q", r.Stdout, want)
	}
	if r.Stderr != "" {
		t.Errorf("stderr %q", r.Stderr)
	}
}

func TestNormalizeStdin(t *testing.T) {
	in := "\xef\xbb\xbf0631231234\r\n\r\n12345\r\n0821234567\r\nphone?\r\n"
	r := invocation{Args: []string{"normalize", "--region", "za"}, Stdin: strings.NewReader(in)}.Run(t)
	r.WantCode(t, 1)
	if want := "27631231234\n27821234567\n"; r.Stdout != want {
		t.Errorf("stdout %q, want %q (valid cells are still printed)", r.Stdout, want)
	}
	wantContains(t, "stderr", r.Stderr, `"12345" is not a valid ZA number`, `"phone?"`, "2 cells could not be converted")
}

func TestNormalizeNoRegion(t *testing.T) {
	r := runCLI(t, nil, "normalize", "+27631231234", "0631231234")
	r.WantCode(t, 1)
	if r.Stdout != "27631231234\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
	wantContains(t, "stderr", r.Stderr, `"0631231234" needs a region or a leading +`)
}

func TestNormalizeUnknownRegion(t *testing.T) {
	r := runCLI(t, nil, "normalize", "--region", "Narnia", "0631231234")
	r.WantCode(t, 2)
	wantContains(t, "stderr", r.Stderr, `--region "Narnia" is not a known region`)
	if r.Stdout != "" {
		t.Errorf("stdout %q", r.Stdout)
	}
}
