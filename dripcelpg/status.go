package dripcelpg

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel/internal/human"
)

//go:embed templates/status.html
var statusFiles embed.FS

// statusPage is parsed once per handler; its functions format what the
// page shows.
func statusPage() *template.Template {
	return template.Must(template.New("status.html").Funcs(template.FuncMap{
		"age":   human.Age,
		"value": formatValue,
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"sold":  func(t time.Time) string { return t.Format("2006-01-02 15:04:05 -07:00") },
	}).ParseFS(statusFiles, "templates/status.html"))
}

// StatusOption configures StatusHandler.
type StatusOption func(*statusConfig)

type statusConfig struct {
	retry  bool
	limit  int
	logger *slog.Logger
}

// WithRetryAction lets the page move rejected sales back to the queue, with
// a button per sale (`dripcel outbox retry` moves many at once, by filter).
// Without it the page only reads. The action is a POST, refused when it comes from another origin
// (net/http's CrossOriginProtection).
func WithRetryAction() StatusOption { return func(c *statusConfig) { c.retry = true } }

// WithStatusLimit sets how many rejected sales the page lists, the newest
// refusal first (100 unless set).
func WithStatusLimit(n int) StatusOption {
	return func(c *statusConfig) {
		if n > 0 {
			c.limit = n
		}
	}
}

// WithStatusLogger logs the retries made through the page, and the errors
// the page met, at Info and Warn.
func WithStatusLogger(l *slog.Logger) StatusOption { return func(c *statusConfig) { c.logger = l } }

// StatusHandler returns a page showing the outbox's state, for a service
// to mount in its own admin: how many sales are queued and how old the
// oldest is, who holds the lease, and the sales Dripcel refused with its
// reasons, filtered by campaign or message. With WithRetryAction it can
// send chosen rejected sales again.
//
// It brings no authentication of its own: mount it behind the admin's, as
// it shows customers' cells and, with WithRetryAction, changes the outbox.
// It serves plain HTML, with no script, and works under any path prefix
// (http.StripPrefix).
func StatusHandler(o *Outbox, opts ...StatusOption) http.Handler {
	cfg := statusConfig{limit: 100, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	h := &statusHandler{o: o, cfg: cfg, page: statusPage()}
	if !cfg.retry {
		return h
	}
	return http.NewCrossOriginProtection().Handler(h)
}

type statusHandler struct {
	o    *Outbox
	cfg  statusConfig
	page *template.Template
}

// statusView is what the template shows.
type statusView struct {
	Table    string
	Stats    Stats
	Rejected []RejectedSale
	Filter   struct{ Campaign, Message string }
	Retry    bool
	Retried  string // the outcome of the last retry, after its redirect
	Error    string
	Limit    int
	Now      time.Time
}

func (h *statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.show(w, r)
	case http.MethodPost:
		if !h.cfg.retry {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the retry action is not enabled", http.StatusMethodNotAllowed)
			return
		}
		h.retry(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *statusHandler) show(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	v := statusView{Table: h.o.outbox, Retry: h.cfg.retry, Limit: h.cfg.limit, Now: time.Now()}
	q := r.URL.Query()
	v.Filter.Campaign = strings.TrimSpace(q.Get("campaign"))
	v.Filter.Message = strings.TrimSpace(q.Get("message"))
	if n, err := strconv.Atoi(q.Get("retried")); err == nil {
		v.Retried = fmt.Sprintf("%d rejected sales moved back to the queue.", n)
		if n == 1 {
			v.Retried = "1 rejected sale moved back to the queue."
		}
	}
	var errs []string
	st, err := h.o.Stats(ctx)
	if err != nil {
		errs = append(errs, err.Error())
	}
	v.Stats = st
	v.Rejected, err = h.o.Rejected(ctx, RejectedFilter{CampaignID: v.Filter.Campaign, Message: v.Filter.Message, Limit: h.cfg.limit})
	if err != nil {
		errs = append(errs, err.Error())
	}
	status := http.StatusOK
	if len(errs) > 0 {
		v.Error = strings.Join(errs, "; ")
		status = http.StatusServiceUnavailable
		h.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "dripcelpg: status page", slog.String("error", v.Error))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := h.page.Execute(w, v); err != nil {
		h.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "dripcelpg: status page", slog.String("error", err.Error()))
	}
}

// retry moves the rejected sales named in the form back to the queue, then
// sends the browser back to the page (POST, redirect, GET), so a reload
// does not post again.
func (h *statusHandler) retry(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	var ids []int64
	for _, s := range r.PostForm["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			http.Error(w, "a sale's id is not a number", http.StatusBadRequest)
			return
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		http.Error(w, "no sale chosen", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	n, err := h.o.RetryRejected(ctx, RejectedFilter{IDs: ids})
	if err != nil {
		h.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "dripcelpg: status page: retry", slog.String("error", err.Error()))
		http.Error(w, "the sales could not be moved back: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	h.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "dripcelpg: status page: rejected sales moved back to the queue",
		slog.Int("sales", n), slog.String("remote", r.RemoteAddr))
	// A relative Location: the page may be mounted under any prefix.
	q := "?retried=" + strconv.Itoa(n)
	for _, k := range []string{"campaign", "message"} {
		if v := r.PostForm.Get(k); v != "" {
			q += "&" + k + "=" + template.URLQueryEscaper(v)
		}
	}
	w.Header().Set("Location", q)
	w.WriteHeader(http.StatusSeeOther)
}

func formatValue(v *float64) string {
	if v == nil {
		return "default"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
