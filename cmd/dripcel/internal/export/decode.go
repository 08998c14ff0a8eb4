package export

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// decodeUTF16 transcodes UTF-16 with a byte order mark (Excel's "Unicode
// Text") to UTF-8; the mark is dropped.
func decodeUTF16(r io.Reader, order string) io.Reader {
	endian := unicode.LittleEndian
	if order == "be" {
		endian = unicode.BigEndian
	}
	return transform.NewReader(r, unicode.UTF16(endian, unicode.ExpectBOM).NewDecoder())
}

// namedReader names the file in read errors from a layer under the rows
// (a damaged gzip stream, say), which otherwise name nothing.
type namedReader struct {
	r    io.Reader
	name string
}

func (n *namedReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("the file cannot be read to the end: %w", err)
	}
	return k, err
}
