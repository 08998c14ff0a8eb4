package dripcel_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// readmeImports are the packages the README's Go blocks use, by the name
// they are used with; a block is given the imports it uses.
var readmeImports = map[string]string{
	"context":      "context",
	"errors":       "errors",
	"fmt":          "fmt",
	"http":         "net/http",
	"log":          "log",
	"os":           "os",
	"slog":         "log/slog",
	"testing":      "testing",
	"time":         "time",
	"tls":          "crypto/tls",
	"x509":         "crypto/x509",
	"dripcel":      "github.com/dripcel-go/dripcel",
	"dripceltest":  "github.com/dripcel-go/dripcel/dripceltest",
	"dripcelpg":    "github.com/dripcel-go/dripcel/dripcelpg",
	"dripcelredis": "github.com/dripcel-go/dripcel/dripcelredis",
	"pgx":          "github.com/jackc/pgx/v5",
	"pgxpool":      "github.com/jackc/pgx/v5/pgxpool",
	"redis":        "github.com/redis/go-redis/v9",
	"sdkmetric":    "go.opentelemetry.io/otel/sdk/metric",
	"sdktrace":     "go.opentelemetry.io/otel/sdk/trace",
}

// readmePrelude declares what the README's blocks use without defining:
// the values a reader's own program holds.
const readmePrelude = `package readme

import (
	"context"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"net/http"
	"github.com/dripcel-go/dripcel/dripcelpg"
)

var (
	ctx                        context.Context
	key                        string
	client                     *dripcel.Client
	sales                      []dripcel.Sale
	sale                       dripcel.Sale
	order                      struct{ PaidAt time.Time }
	id, cell, orderID, clickID string
	now                        time.Time
	caPEM                      []byte
	pool                       *pgxpool.Pool
	rows                       pgx.Rows
	reader                     sdkmetric.Reader
	spanExporter               sdktrace.SpanExporter
	outbox                     *dripcelpg.Outbox
)

func requireAdmin(h http.Handler) http.Handler { return h }

func retryLater(dripcel.Sale)                                  {}
func nightlyUpload(context.Context, *dripcel.Client)           {}
func serveCheckout(context.Context, *dripcel.Client) error     { return nil }
func checkout(testing.TB, *dripcel.Client)                     {}
`

var (
	goBlock     = regexp.MustCompile("(?ms)^```go\n(.*?)^```")
	importBlock = regexp.MustCompile(`(?ms)^import (\([^)]*\)|"[^"]*")\n`)
	importPath  = regexp.MustCompile(`"([^"]+)"`)
	usedPackage = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.[A-Za-z]`)
	lineComment = regexp.MustCompile(`(?m)(^|\s)//.*$`)
)

// TestReadmeGoBlocksCompile type-checks every Go block of the README, as
// the body of a function returning error, or as declarations when it
// declares functions, against the real packages: a block that stops
// compiling (a renamed option, a variable declared twice or never used)
// fails here rather than in a reader's editor.
func TestReadmeGoBlocksCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the export data of the README's packages")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllSubmatchIndex(readme, -1)
	if len(blocks) < 10 {
		t.Fatalf("found %d Go blocks in the README; the pattern no longer matches", len(blocks))
	}
	paths := make([]string, 0, len(readmeImports))
	for _, p := range readmeImports {
		paths = append(paths, p)
	}
	imp := exportImporter(t, paths)

	for _, m := range blocks {
		line := 1 + bytes.Count(readme[:m[0]], []byte("\n"))
		src := string(readme[m[2]:m[3]])
		t.Run(fmt.Sprintf("line%d", line), func(t *testing.T) {
			fset := token.NewFileSet()
			prelude, err := parser.ParseFile(fset, "prelude.go", readmePrelude, 0)
			if err != nil {
				t.Fatal(err)
			}
			text := blockFile(src)
			f, err := parser.ParseFile(fset, "README.md", text, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("README.md line %d does not parse: %v\n%s", line, err, text)
			}
			conf := types.Config{Importer: imp}
			var errs []error
			conf.Error = func(err error) { errs = append(errs, err) }
			_, _ = conf.Check("readme", fset, []*ast.File{prelude, f}, nil)
			if len(errs) > 0 {
				t.Errorf("the Go block at README.md line %d does not compile:\n%v\n%s", line, errors.Join(errs...), text)
			}
		})
	}
}

// blockFile makes a Go file of a README block: its imports, and those it
// uses, at the top; its body inside a function unless it declares its own.
func blockFile(src string) string {
	imports := map[string]bool{}
	named := map[string]string{} // path → the name a block uses it by
	for _, m := range importBlock.FindAllString(src, -1) {
		for _, p := range importPath.FindAllStringSubmatch(m, -1) {
			imports[p[1]] = true
		}
	}
	body := importBlock.ReplaceAllString(src, "")
	code := lineComment.ReplaceAllString(body, "")
	for _, m := range usedPackage.FindAllStringSubmatch(code, -1) {
		if p, ok := readmeImports[m[1]]; ok && !declaresName(body, m[1]) {
			imports[p] = true
			if path.Base(p) != m[1] {
				named[p] = m[1]
			}
		}
	}
	var b strings.Builder
	b.WriteString("package readme\n\n")
	sorted := make([]string, 0, len(imports))
	for p := range imports {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		fmt.Fprintf(&b, "import %s %q\n", named[p], p)
	}
	if regexp.MustCompile(`(?m)^func `).MatchString(body) {
		b.WriteString("\n" + body)
	} else {
		b.WriteString("\nfunc _() error {\n" + body + "\nreturn nil\n}\n")
	}
	return b.String()
}

// declaresName reports whether a block declares name itself ("pool, err
// :=", "client :="), so that name is a variable there, not a package.
func declaresName(body, name string) bool {
	return regexp.MustCompile(`(?m)(^|[\s,(])` + name + `(\s*,\s*\w+)*\s*:=`).MatchString(body)
}

// exportImporter imports packages from the export data the go command
// builds for them, so that the check sees exactly what a build would.
func exportImporter(t *testing.T, paths []string) types.Importer {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-export", "-deps", "-json=ImportPath,Export"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}
