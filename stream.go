package dripcel

import (
	"context"
	"iter"
)

// UploadSalesSeq reports the sales seq yields, in batches as it reads them,
// for inputs too large to hold in memory (rows of a file or a database
// cursor). It holds one batch at a time (n+1 with WithConcurrency(n)), and
// otherwise behaves as UploadSales, with one difference forced by streaming:
// sales are validated as they are read, so earlier batches may already be
// sent when a bad one turns up.
//
// A bad sale, or an error yielded by seq, stops the upload there: nothing
// more is read or sent. The batches already sent stay sent (Dripcel has
// them); the sales read since the last one sent, the bad one last, are
// reported as not sent with the *ValidationError (matching ErrInvalidSale and
// naming the sale's index) or the read error as cause. The returned
// *UploadError counts in Total the sales read, and says, as for UploadSales,
// exactly which were not accepted. The context ending stops the upload in
// the same way.
//
// The name follows the standard library's habit of a Seq suffix for the
// form of a function that takes an iterator (slices.AppendSeq).
func (c *Client) UploadSalesSeq(ctx context.Context, seq iter.Seq2[Sale, error]) error {
	ctx, span := c.tel.startUpload(ctx, "UploadSalesSeq")
	u := c.newUploader(ctx, nil)
	for s, err := range seq {
		if !u.add(&s, err) {
			break
		}
	}
	err := u.finish(-1)
	c.tel.endUpload(ctx, span, u.read, err)
	return err
}
