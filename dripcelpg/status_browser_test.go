package dripcelpg_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/internal/testsvc"
)

// chromiumEnv points the browser test at a Chromium or Chrome binary.
const chromiumEnv = "DRIPCEL_TEST_CHROMIUM"

// chromium finds a headless-capable browser, or skips the test (fails it
// under DRIPCEL_REQUIRE_SERVICES=1, as .ci/run installs one).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(chromiumEnv); p != "" {
		return p
	}
	var err error
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		var p string
		if p, err = exec.LookPath(name); err == nil {
			return p
		}
	}
	testsvc.Missing(t, "Chromium", "PATH", chromiumEnv, err)
	return ""
}

// TestStatusPageInABrowser loads the status page in headless Chromium
// against a real outbox, reads its figures as a person would see them,
// presses "Send again" on a rejected sale and sees it queued. With
// DRIPCEL_STATUS_SCREENSHOT=FILE.png it also saves what the page looks
// like on a phone, for the README.
func TestStatusPageInABrowser(t *testing.T) {
	exe := chromium(t)
	o, _ := statusOutbox(t)
	page := httptest.NewServer(http.StripPrefix("/admin/dripcel", dripcelpg.StatusHandler(o, dripcelpg.WithRetryAction())))
	t.Cleanup(page.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844), // a phone
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	ids := rejectedIDs(t, o)
	row := `tr.sale[data-id="` + ids[0] + `"]`
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL+"/admin/dripcel/")); err != nil {
		t.Fatal(err)
	}
	queued, rejected, holder := text("#queued"), text("#rejected"), text("#holder")
	buttons, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr.sale button").length`))
	if err != nil {
		t.Fatal(err)
	}
	if queued != "1" || rejected != "2" || holder != "none" || buttons != 2 {
		t.Errorf("page shows queued %q, rejected %q, holder %q, %d buttons; want 1, 2, none, 2", queued, rejected, holder, buttons)
	}
	if reason := text(row + " td.reason"); !strings.Contains(reason, "Campaign not found") {
		t.Errorf("the refusal reads %q", reason)
	}
	if path := os.Getenv("DRIPCEL_STATUS_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(row+" button")), chromedp.WaitVisible(chromedp.CSS("#retried"))); err != nil {
		t.Fatal(err)
	}
	notice, queued, rejected := text("#retried"), text("#queued"), text("#rejected")
	if notice != "1 rejected sale moved back to the queue." || queued != "2" || rejected != "1" {
		t.Errorf("after Send again: %q, queued %q, rejected %q; want the notice, 2, 1", notice, queued, rejected)
	}
	st := stats(t, o)
	if st.Queued != 2 || st.Rejected != 1 {
		t.Errorf("outbox after Send again: %d queued, %d rejected; want 2, 1", st.Queued, st.Rejected)
	}
	if left := rejectedIDs(t, o); len(left) != 0 {
		t.Errorf("the sale sent again is still rejected: %v", left)
	}
}
