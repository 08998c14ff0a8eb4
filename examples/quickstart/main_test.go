package main

import (
	"strings"
	"testing"
)

func TestQuickstartRunsAgainstTheFakeServer(t *testing.T) {
	var out strings.Builder
	if err := run(&out, false, "demo-campaign"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Uploaded 3 sales.",
		"duplicate",
		"Postback of one sale accepted.",
		"upload   cell 27631231234",
		"postback cell 27845550199",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestQuickstartLiveNeedsKey(t *testing.T) {
	t.Setenv("DRIPCEL_API_KEY", "")
	if err := run(&strings.Builder{}, true, "c"); err == nil || !strings.Contains(err.Error(), "DRIPCEL_API_KEY") {
		t.Errorf("err = %v, want it to ask for DRIPCEL_API_KEY", err)
	}
}
