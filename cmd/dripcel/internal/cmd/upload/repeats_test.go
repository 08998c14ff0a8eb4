package upload_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/dripcel-go/dripcel/dripceltest"
)

// TestUploadRepeatOfARefusedRow: a row repeating one that Dripcel refused
// for its value is sent in its own right and gets its own outcome, as the
// library sends such a repeat; a repeat of a row Dripcel recorded is still
// settled with it, unsent, and counted as repeated.
func TestUploadRepeatOfARefusedRow(t *testing.T) {
	for _, mode := range []dripceltest.BatchMode{dripceltest.BatchPartial, dripceltest.BatchAtomic, dripceltest.BatchPrefix} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := newServer(t, dripceltest.WithBatchMode(mode), dripceltest.WithSaleCheck(func(s dripceltest.Sale) error {
				if s.SaleValue < 0 {
					return errors.New("saleValue must not be negative")
				}
				return nil
			}))
			rejects := filepath.Join(t.TempDir(), "rejects.csv")
			path := writeFile(t, "sales.csv", "campaign_id,cell,soldAt,saleValue\n"+
				"c1,27631231299,2025-10-14,-5\n"+ // row 2: refused for its value
				"c1,27631231299,2025-10-14,250\n"+ // row 3: repeats row 2, goes in its own right
				"c1,27821234567,2025-10-14,10\n"+ // row 4: recorded
				"c1,27821234567,2025-10-14,20\n") // row 5: repeats row 4, settled with it
			r := runCLI(t, env(srv), "upload", "--rejects", rejects, path)
			r.WantCode(t, 1)
			lines := map[string]string{
				"recorded":         "recorded 2",
				"refused":          "refused 1 row 2",
				"repeated in file": "repeated in file 1 row 5 (repeats 4)",
			}
			if mode == dripceltest.BatchPartial {
				// Row 4 was stored with the refused request that held
				// row 2, and is answered 409 when asked about alone.
				lines["recorded"], lines["already in Dripcel"] = "recorded 1", "already in Dripcel 1 row 4"
			}
			for outcome, want := range lines {
				if got := summaryLine(t, r.Stdout, outcome); len(got) < len(want) || got[:len(want)] != want {
					t.Errorf("summary line %q, want it to start %q", got, want)
				}
			}
			wantContains(t, "stdout", r.Stdout, "4 rows read, 3 sent")
			stored := map[string]float64{}
			for _, s := range srv.Sales() {
				stored[s.Cell] = s.SaleValue
			}
			if len(srv.Sales()) != 2 || stored["27631231299"] != 250 || stored["27821234567"] != 10 {
				t.Errorf("server holds %+v, want row 3's sale (250) and row 4's (10)", srv.Sales())
			}
			if got := readFile(t, rejects); got != "campaign_id,cell,soldAt,saleValue,row,reason\n"+
				"c1,27631231299,2025-10-14,-5,2,refused by Dripcel: 400 saleValue must not be negative\n" {
				t.Errorf("rejects:\n%s", got)
			}
		})
	}
}
