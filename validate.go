package dripcel

// Validate checks s with the rules and errors of UploadSales, Postback and
// Report (a *ValidationError matching ErrInvalidSale, and ErrInvalidCell
// with WithCellRegion), without sending anything. Code that keeps sales to
// send later, such as package dripcelpg's Enqueue, calls it so that a sale
// Dripcel could never take is refused while the caller can still fix it.
func (c *Client) Validate(s Sale) error { return c.validate(&s, -1) }
