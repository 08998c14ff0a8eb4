package dripcel_test

// The baseline the benchmarks measure the SDK against: the client a careful
// Go programmer would write in place of this package, with net/http,
// encoding/json, net/url and phonenumbers. It lives in test code only.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dripcel-go/dripcel"
	"github.com/nyaruka/phonenumbers"
)

// baseSale is a sale as the baseline puts it on the wire.
type baseSale struct {
	CampaignID string   `json:"campaign_id"`
	SendID     string   `json:"send_id,omitempty"`
	ClickID    string   `json:"click_id,omitempty"`
	Cell       string   `json:"cell"`
	SoldAt     string   `json:"soldAt,omitempty"`
	SaleValue  *float64 `json:"saleValue,omitempty"`
}

// baseClient is the hand-written client: one http.Client.Do per batch of
// batchSize sales, no retries.
type baseClient struct {
	hc        *http.Client
	uploadURL string
	createURL string
	auth      string // "Bearer <key>", built once
	key       string
	batchSize int
}

// baseBatchSize is the hand-written client's batch: a count, as such
// clients are usually written. The SDK cuts requests by size instead.
const baseBatchSize = 200

func newBaseClient(hc *http.Client, baseURL, key string) *baseClient {
	return &baseClient{
		hc:        hc,
		uploadURL: baseURL + "/sales",
		createURL: baseURL + "/sales/create",
		auth:      "Bearer " + key,
		key:       key,
		batchSize: baseBatchSize,
	}
}

func baseSoldAt(s *dripcel.Sale) string {
	if s.SoldAt.IsZero() {
		return ""
	}
	h, m, sec := s.SoldAt.Clock()
	if h == 0 && m == 0 && sec == 0 {
		return s.SoldAt.Format("2006-01-02")
	}
	return s.SoldAt.Format("2006-01-02 15:04:05")
}

// encode builds a fresh wire slice and json.Marshal buffer, as the baseline
// does for every batch.
func (c *baseClient) encode(sales []dripcel.Sale) ([]byte, error) {
	batch := make([]baseSale, len(sales))
	for i := range sales {
		s := &sales[i]
		batch[i] = baseSale{CampaignID: s.CampaignID, SendID: s.SendID, ClickID: s.ClickID,
			Cell: s.Cell, SoldAt: baseSoldAt(s), SaleValue: s.SaleValue}
	}
	return json.Marshal(batch)
}

func (c *baseClient) upload(ctx context.Context, sales []dripcel.Sale) error {
	for start := 0; start < len(sales); start += c.batchSize {
		end := min(start+c.batchSize, len(sales))
		body, err := c.encode(sales[start:end])
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.uploadURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", c.auth)
		req.Header.Set("Content-Type", "application/json")
		if err := c.send(req); err != nil {
			return fmt.Errorf("sales %d-%d: %w", start, end-1, err)
		}
	}
	return nil
}

func (c *baseClient) postback(ctx context.Context, s *dripcel.Sale) error {
	q := url.Values{}
	q.Set("key", c.key)
	q.Set("campaign_id", s.CampaignID)
	q.Set("cell", s.Cell)
	if s.SendID != "" {
		q.Set("send_id", s.SendID)
	}
	if s.ClickID != "" {
		q.Set("click_id", s.ClickID)
	}
	if v := baseSoldAt(s); v != "" {
		q.Set("soldAt", v)
	}
	if s.SaleValue != nil {
		q.Set("saleValue", strconv.FormatFloat(*s.SaleValue, 'f', -1, 64))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.createURL+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	return c.send(req)
}

func (c *baseClient) send(req *http.Request) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// baseToInternational is raw phonenumbers: Parse, check validity, Format
// as E.164 without the "+".
func baseToInternational(cell, region string) (string, error) {
	n, err := phonenumbers.Parse(cell, region)
	if err != nil {
		return "", err
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("invalid number %q", cell)
	}
	return strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+"), nil
}
