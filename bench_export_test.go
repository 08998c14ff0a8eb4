package dripcel

import "github.com/dripcel-go/dripcel/internal/wire"

// AppendBatch appends the JSON array the upload loop would send for sales,
// for BenchmarkEncodeBatch.
func AppendBatch(c *Client, dst []byte, sales []Sale) []byte {
	var f wire.Fields
	dst = append(dst, '[')
	for i := range sales {
		if i > 0 {
			dst = append(dst, ',')
		}
		if err := c.wireFields(&sales[i], i, &f); err != nil {
			panic(err)
		}
		dst = wire.AppendJSON(dst, &f)
	}
	return append(dst, ']')
}

// Split strategies, for BenchmarkSettleRefusedBatch.
const (
	SplitHalveThenOneByOne = int(halveThenOneByOne)
	SplitHalveOnly         = int(halveOnly)
	SplitOneByOne          = int(oneByOne)
)

// SetSplitStrategy makes c settle refused batches with strategy s.
func SetSplitStrategy(c *Client, s int) { c.split = splitStrategy(s) }
