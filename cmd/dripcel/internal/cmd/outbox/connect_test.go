package outbox_test

import (
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TestConnectsAsPgxDoes: --database-url, else DATABASE_URL, else the PG*
// variables.
func TestConnectsAsPgxDoes(t *testing.T) {
	d := testDB(t)
	u, err := url.Parse(d.url)
	if err != nil {
		t.Fatal(err)
	}
	pg := map[string]string{
		"PGHOST": u.Hostname(), "PGPORT": u.Port(), "PGUSER": u.User.Username(),
		"PGDATABASE": strings.TrimPrefix(u.Path, "/"), "PGSSLMODE": u.Query().Get("sslmode"),
	}
	if p, ok := u.User.Password(); ok {
		pg["PGPASSWORD"] = p
	}
	for k, v := range pg {
		if v == "" {
			delete(pg, k)
		}
	}
	closed := "postgres://nobody@" + closedPort(t) + "/nothing?sslmode=disable"
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"PG variables", pg, nil},
		{"DATABASE_URL over PG variables", map[string]string{"DATABASE_URL": d.url, "PGPORT": "1", "PGHOST": "127.0.0.1"}, nil},
		{"--database-url over DATABASE_URL", map[string]string{"DATABASE_URL": closed}, []string{"--database-url", d.url}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"outbox", "status", "--schema", d.schema}, tt.args...)
			r := clitest.Invocation{Args: args, Env: tt.env}.Run(t)
			r.WantCode(t, 0)
			wantContains(t, "stdout", r.Stdout, "queued      0\n")
		})
	}

	t.Run("nothing listening", func(t *testing.T) {
		r := clitest.Run(t, map[string]string{"DATABASE_URL": closed}, "outbox", "status")
		r.WantCode(t, 3)
		wantContains(t, "stderr", r.Stderr, `cannot connect to PostgreSQL as user "nobody", database "nothing": `, "connection refused")
		if strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("the error is not one line:\n%s", r.Stderr)
		}
	})

	t.Run("no outbox there", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--table", "not_an_outbox"}, 2, "no outbox " + d.schema + ".not_an_outbox in this database (relation " +
				`"` + d.schema + `.not_an_outbox" does not exist): check --schema and --table`},
			{[]string{"--table", "two words"}, 2, `--table "two words" is not a plain name`},
			{[]string{"--table", ""}, 2, "--table is empty"},
		} {
			r := d.run(t, append([]string{"status"}, tt.args...)...)
			r.WantCode(t, tt.code)
			wantContains(t, "stderr", r.Stderr, tt.want)
		}
	})
	t.Run("no such schema", func(t *testing.T) {
		r := clitest.Run(t, map[string]string{"DATABASE_URL": d.url}, "outbox", "rejected", "--schema", "no_such_schema_5e1")
		r.WantCode(t, 2)
		wantContains(t, "stderr", r.Stderr, "no outbox no_such_schema_5e1.dripcel_outbox in this database")
	})
}

// TestNoPasswordPrinted: a password refused, or in a connection string
// pgx cannot read, is never printed.
func TestNoPasswordPrinted(t *testing.T) {
	const canary = "canary-pw-83d1"
	srv := passwordRefuser(t)
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://shop:" + canary + "@" + srv.addr + "/shop?sslmode=disable"},
			nil, 3, `password authentication failed for user "shop"`},
		{"--database-url", nil, []string{"--database-url", "postgres://shop:" + canary + "@" + srv.addr + "/shop?sslmode=disable"},
			3, `password authentication failed for user "shop"`},
		{"PGPASSWORD", map[string]string{"PGHOST": strings.Split(srv.addr, ":")[0], "PGPORT": strings.Split(srv.addr, ":")[1],
			"PGUSER": "shop", "PGDATABASE": "shop", "PGSSLMODE": "disable", "PGPASSWORD": canary}, nil, 3, "password authentication failed"},
		{"key=value pairs", map[string]string{"DATABASE_URL": "host=127.0.0.1 user=shop password=" + canary + " port=" +
			strings.Split(srv.addr, ":")[1] + " sslmode=disable"}, nil, 3, "password authentication failed"},
		{"a URL pgx cannot read", map[string]string{"DATABASE_URL": "postgres://shop:" + canary + "@127.0.0.1:port/shop"},
			nil, 2, "the connection string is not one pgx reads"},
		{"a URL net/url cannot read", map[string]string{"DATABASE_URL": "postgres://shop:" + canary + "@127.0.0.1:5432/shop%zz"},
			nil, 2, "the connection string is not one pgx reads"},
		{"pairs pgx cannot read", map[string]string{"DATABASE_URL": "host=127.0.0.1 password=" + canary + " port=x"},
			nil, 2, "the connection string is not one pgx reads"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"outbox", "status"}, tt.args...)
			r := clitest.Invocation{Args: args, Env: tt.env}.Run(t)
			r.WantCode(t, tt.code)
			wantContains(t, "stderr", r.Stderr, tt.want)
			if strings.Contains(r.Stdout+r.Stderr, canary) || strings.Contains(r.Stdout+r.Stderr, "canary") {
				t.Errorf("the password was printed:\n%s%s", r.Stdout, r.Stderr)
			}
		})
	}
	// The refusals above are of the password itself, not of a connection
	// that never got so far.
	if got := srv.passwords(); len(got) < 4 || got[0] != canary {
		t.Errorf("the server was sent passwords %q, want %q four times", got, canary)
	}
}

// refuser is a PostgreSQL server on loopback that asks for a password and
// refuses it, as a server with password authentication does.
type refuser struct {
	addr string
	mu   sync.Mutex
	got  []string
}

func (r *refuser) passwords() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func passwordRefuser(t *testing.T) *refuser {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &refuser{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = conn.Close() }()
				be := pgproto3.NewBackend(conn, conn)
				msg, err := be.ReceiveStartupMessage()
				for err == nil {
					if _, ok := msg.(*pgproto3.StartupMessage); ok {
						break
					}
					// An SSL or GSS encryption request: not here.
					if _, err = conn.Write([]byte("N")); err == nil {
						msg, err = be.ReceiveStartupMessage()
					}
				}
				if err != nil {
					return
				}
				be.Send(&pgproto3.AuthenticationCleartextPassword{})
				if be.Flush() != nil || be.SetAuthType(pgproto3.AuthTypeCleartextPassword) != nil {
					return
				}
				pw, err := be.Receive()
				if p, ok := pw.(*pgproto3.PasswordMessage); err == nil && ok {
					r.mu.Lock()
					r.got = append(r.got, p.Password)
					r.mu.Unlock()
				}
				be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01",
					Message: `password authentication failed for user "shop"`})
				_ = be.Flush()
			})
		}
	})
	return r
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
