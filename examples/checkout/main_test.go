package main

import (
	"log/slog"
	"strings"
	"testing"
)

func TestDemoReportsOneSaleForTwoIdenticalCheckouts(t *testing.T) {
	var out, logs strings.Builder
	if err := runDemo(&out, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Count(got, "checkout: 201 Created") != 2 {
		t.Errorf("both checkouts should succeed:\n%s", got)
	}
	if strings.Count(got, "Dripcel recorded:") != 1 || !strings.Contains(got, "cell 27631231234 value 249.90") {
		t.Errorf("want exactly one recorded sale:\n%s", got)
	}
	if logs.Len() != 0 {
		t.Errorf("a duplicate was logged as a failure:\n%s", logs.String())
	}
}
