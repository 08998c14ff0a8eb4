// Package fate words what became of a sale, for upload's summary and
// rejects file and for postback's message alike: what Dripcel did not
// find, why a sale was not delivered, and what it was matched by.
package fate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
)

// AlreadyReason is the reason given for a sale Dripcel had already.
const AlreadyReason = "already in Dripcel: it has a sale with this cell, campaign and soldAt date"

// Refusal words Dripcel's refusal of sale s; notFound says Dripcel did
// not find its campaign, send or click.
func Refusal(err error, s *dripcel.Sale) (notFound bool, reason string) {
	if errors.Is(err, dripcel.ErrCampaignNotFound) {
		return true, notFoundReason(err, s)
	}
	var apiErr *dripcel.APIError
	if errors.As(err, &apiErr) {
		return false, fmt.Sprintf("refused by Dripcel: %d %s", apiErr.StatusCode, apiErr.Message)
	}
	return false, "refused by Dripcel: " + cli.Plain(err)
}

// notFoundReason says what Dripcel did not find: the campaign, or the send
// or click the sale names ("Send not found", "Click not found"), or the
// campaign of a send or click it knows.
func notFoundReason(err error, s *dripcel.Sale) string {
	noun, id := ID(s)
	if noun == "campaign" {
		return "campaign not found: " + cli.Quote(id)
	}
	var apiErr *dripcel.APIError
	if errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.Message), "campaign") {
		return fmt.Sprintf("campaign not found: the campaign of %s %s", noun, cli.Quote(id))
	}
	return fmt.Sprintf("%s not found: %s", noun, cli.Quote(id))
}

// Failure is the reason given for a sale Dripcel gave no verdict on.
func Failure(err error) string {
	if err == nil {
		return "not delivered"
	}
	return "not delivered: " + cli.Plain(err)
}

// ID names what the sale is matched by and its value for messages:
// ("campaign", "c1"), ("send", "s-9") or ("click", "k-42"). A sale sets
// only one of them.
func ID(s *dripcel.Sale) (noun, id string) {
	switch {
	case s.SendID != "":
		return "send", s.SendID
	case s.ClickID != "":
		return "click", s.ClickID
	}
	return "campaign", s.CampaignID
}
