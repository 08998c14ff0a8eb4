package export

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FuzzAmounts checks that no amount crashes the reader, and that an amount
// it reads is a finite number that reads the same when written plainly.
func FuzzAmounts(f *testing.F) {
	for _, s := range []string{"199.99", "1,299.00", "R 1 299", "ZAR 5", "-R20", "1.299,50", "199,99", "", "R", "1e400"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		v, err := Amounts{DecimalComma: comma}.Parse(s)
		if err != nil {
			return
		}
		if v == nil {
			t.Fatalf("%q: no value and no error", s)
		}
		again, err := Amounts{}.Parse(formatFloat(*v))
		if err != nil || *again != *v {
			t.Fatalf("%q read as %v, which does not read back: %v, %v", s, *v, again, err)
		}
	})
}

// FuzzDates checks that no soldAt crashes the reader, with or without a
// --date-format, and that a date it reads is written back in a form it
// reads as the same time.
func FuzzDates(f *testing.F) {
	for _, s := range []string{"2025-10-14", "2025/10/14 09:02", "14/10/2025", "2025-10-14T09:02:51+02:00", "yesterday", ""} {
		f.Add(s, "")
		f.Add(s, "DD/MM/YYYY HH:MM")
	}
	f.Fuzz(func(t *testing.T, s, layout string) {
		d, err := NewDates("UTC", layout)
		if err != nil {
			return
		}
		got, err := d.Parse(s)
		if err != nil || got.Year() < 1 || got.Year() > 9999 {
			return
		}
		plain, _ := NewDates("UTC", "")
		back, err := plain.Parse(FormatSoldAt(got))
		if err != nil || !back.Equal(got.Truncate(time.Second)) {
			t.Fatalf("%q (format %q) read as %v, written %q, read back as %v (%v)", s, layout, got, FormatSoldAt(got), back, err)
		}
	})
}

// FuzzRows reads any file as an export, in each format: it must end in
// rows, a usage error or io.EOF, never a crash or a loop.
func FuzzRows(f *testing.F) {
	f.Add([]byte("campaign_id,cell,soldAt,saleValue\r\nc1,0631231234,2025-10-14,\"1,299.00\"\r\n"), uint8(0))
	f.Add([]byte(`[{"campaign_id":"c1","cell":"0631231234"},{"click_id":"k","cell":5}]`), uint8(2))
	f.Add([]byte("{\"send_id\":\"s\",\"cell\":\"27631231234\"}\n\n{}\nnull\n"), uint8(3))
	f.Add([]byte("\xef\xbb\xbfcampaign_id;cell\nc1;0631231234\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		formats := []Format{FormatAuto, FormatCSV, FormatJSON, FormatLines}
		forced := formats[int(which)%len(formats)]
		path := filepath.Join(t.TempDir(), "export")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := OpenInput(path, nil, forced, nil)
		if err != nil {
			return
		}
		defer in.Close()
		m, err := NewMapping(Options{Region: "ZA", Zone: "UTC", Now: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(in, m).Pass()
		if err != nil {
			return
		}
		defer p.Close()
		for n := 0; ; n++ {
			if n > len(data)+1 {
				t.Fatalf("more rows (%d) than bytes (%d)", n, len(data))
			}
			r, err := p.Next()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			if len(r.Problems) == 0 && (r.Sale.Cell == "" || r.By > ClickID) {
				t.Fatalf("row %d is valid without a cell or an identifier: %+v", r.Row, r.Sale)
			}
		}
	})
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
