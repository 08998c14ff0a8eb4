package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, path string) *Spool {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func appendN(t *testing.T, s *Spool, from, n int) []uint64 {
	t.Helper()
	ids := make([]uint64, 0, n)
	for i := from; i < from+n; i++ {
		id, err := s.Append(fmt.Appendf(nil, "rec-%d", i))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		ids = append(ids, id)
	}
	return ids
}

func readAll(t *testing.T, s *Spool) []string {
	t.Helper()
	recs, err := s.Read(0, ^uint64(0), 1<<30)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Data)
	}
	return out
}

func TestAppendReadDeleteSurviveReopenInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.spool")
	s := open(t, path)
	ids := appendN(t, s, 0, 10)
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("ids not consecutive: %v", ids)
		}
	}
	if err := s.Delete([]uint64{ids[0], ids[3], ids[4]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}

	s2 := open(t, path)
	want := []string{"rec-1", "rec-2", "rec-5", "rec-6", "rec-7", "rec-8", "rec-9"}
	if got := readAll(t, s2); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after reopen read %v, want %v", got, want)
	}
	n, last, err := s2.Stat()
	if err != nil || n != 7 || last != ids[9] {
		t.Fatalf("Stat = %d, %d, %v; want 7, %d", n, last, err, ids[9])
	}
	// IDs are never reused, even after the highest ones were deleted.
	if err := s2.Delete(ids[5:]); err != nil {
		t.Fatal(err)
	}
	if next := appendN(t, s2, 10, 1); next[0] != ids[9]+1 {
		t.Fatalf("next id %d, want %d", next[0], ids[9]+1)
	}
}

func TestReadWindow(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s"))
	ids := appendN(t, s, 0, 10)
	recs, err := s.Read(ids[2], ids[6], 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].ID != ids[3] || recs[2].ID != ids[5] {
		t.Fatalf("Read window = %+v", recs)
	}
	recs, err = s.Read(ids[4], ids[6], 100)
	if err != nil || len(recs) != 2 || string(recs[1].Data) != "rec-6" {
		t.Fatalf("Read up to bound = %+v, %v", recs, err)
	}
}

// refused checks that Open refuses the file at path with want and leaves
// its bytes as they were.
func refused(t *testing.T, path string, want error) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open accepted the file")
	}
	if !errors.Is(err, want) {
		t.Fatalf("Open error %q does not match %q", err, want)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("Open changed the refused file")
	}
}

func TestRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()

	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, bytes.Repeat([]byte("hello, not a database\n"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	refused(t, text, ErrForeign)

	// A bbolt database that belongs to another program.
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		return b.Put([]byte("alice"), []byte("admin"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	refused(t, other, ErrForeign)

	if _, err := Open(dir); !errors.Is(err, ErrForeign) {
		t.Fatalf("Open(directory) = %v, want ErrForeign", err)
	}
}

func TestRefusesCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	s := open(t, path)
	appendN(t, s, 0, 200)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Both meta pages overwritten: bbolt cannot find a valid header.
	metas := append([]byte(nil), good...)
	for i := 16; i < 2*4096 && i < len(metas); i++ {
		metas[i] ^= 0x5a
	}
	bad := filepath.Join(dir, "metas")
	if err := os.WriteFile(bad, metas, 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(bad)
	if err == nil {
		_ = s2.Close()
		t.Fatal("Open accepted a file with damaged headers")
	}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForeign) {
		t.Fatalf("damaged headers: %v", err)
	}
	refusedEither(t, bad)

	// Data pages scrambled, headers intact.
	data := append([]byte(nil), good...)
	for i := 2 * 4096; i < len(data); i++ {
		data[i] = byte(i * 7)
	}
	scrambled := filepath.Join(dir, "data")
	if err := os.WriteFile(scrambled, data, 0o600); err != nil {
		t.Fatal(err)
	}
	refused(t, scrambled, ErrCorrupt)

	// Cut short, as a disk full during a copy would leave it.
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, good[:len(good)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	refusedEither(t, short)
}

// refusedEither is refused for damage bbolt may read as either a foreign
// or a corrupt file.
func refusedEither(t *testing.T, path string) {
	t.Helper()
	before, _ := os.ReadFile(path)
	s, err := Open(path)
	if err == nil {
		_ = s.Close()
		t.Fatalf("Open accepted %s", path)
	}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForeign) {
		t.Fatalf("Open(%s) = %v, want ErrCorrupt or ErrForeign", path, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("Open changed the refused file")
	}
}

func TestLockedWhileOpenReleasedOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	s := open(t, path)
	appendN(t, s, 0, 3)
	if s2, err := Open(path); !errors.Is(err, ErrLocked) {
		if s2 != nil {
			_ = s2.Close()
		}
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := open(t, path)
	if got := readAll(t, s3); len(got) != 3 {
		t.Fatalf("reopened spool holds %v", got)
	}
}

func TestEmptyFileIsInitialised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	appendN(t, s, 0, 1)
	if got := readAll(t, s); len(got) != 1 {
		t.Fatalf("read %v", got)
	}
}

func TestAppendManyInOneTransaction(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s"))
	appendN(t, s, 0, 2)
	first, err := s.Append([]byte("a"), []byte("b"), []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Read(first-1, first+2, 10)
	if err != nil || len(recs) != 3 || string(recs[0].Data) != "a" || string(recs[2].Data) != "c" || recs[2].ID != first+2 {
		t.Fatalf("Read = %+v, %v", recs, err)
	}
	if first, err := s.Append(); first != 0 || err != nil {
		t.Fatalf("Append() = %d, %v", first, err)
	}
}

// TestOpenWritesNothingToAnExistingSpool checks that opening and closing a
// spool changes no byte of it, so that a caller that then refuses the file
// (for a record it cannot read) leaves it exactly as it was.
func TestOpenWritesNothingToAnExistingSpool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	s := open(t, path)
	appendN(t, s, 0, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s2); len(got) != 3 {
		t.Fatalf("read %q, want 3 records", got)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("Open and Close changed the spool file")
	}
}
