// Package outbox is the outbox command: looking after the PostgreSQL
// outbox of package dripcelpg from the shell (its figures, the sales
// Dripcel refused, sending them again, deleting old ones).
package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
)

// Environment variables the command reads, besides pgx's PG* variables.
const (
	EnvDatabaseURL = "DATABASE_URL"
	envPassword    = "PGPASSWORD"
)

// appName is the command's application_name, so that a DBA sees in
// pg_stat_activity who holds a connection or a lock.
const appName = "dripcel outbox"

// connectTimeout bounds connecting when the connection string sets no
// connect_timeout (pgx's default is to wait as long as the OS does).
const connectTimeout = 10 * time.Second

// connFlags say which database and which outbox in it.
type connFlags struct {
	databaseURL   string
	schema, table string
}

// NewCmd is the outbox command and its subcommands.
func NewCmd(std cli.Streams) *cobra.Command {
	var c connFlags
	cmd := &cobra.Command{
		Use:   "outbox COMMAND [flags]",
		Short: "Look after a PostgreSQL outbox (dripcelpg): status, refused sales, retry, purge",
		Long: `Look after the PostgreSQL outbox of package dripcelpg, where a service's
Reporter keeps sales until Dripcel gives its verdict: how many wait and for
how long, which instance delivers, and the sales Dripcel refused, to list,
send again or delete.

It connects as pgx does: --database-url, else ` + EnvDatabaseURL + `, else the PG*
variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE…) and
~/.pgpass. Prefer ` + EnvDatabaseURL + ` or PGPASSWORD to a password in --database-url,
which ps shows to every user of the machine. No password is ever printed.
The connections are named "` + appName + `" in pg_stat_activity, unless the
connection string or PGAPPNAME names them otherwise.

--schema and --table name the outbox as the service's dripcelpg.WithSchema
and WithTable do (default table ` + dripcelpg.DefaultTable + `, in the connection's
search_path). No key is needed: nothing is sent to Dripcel from here; sales
moved back to the queue are sent by the service holding the outbox's lease.

` + exitCodesHelp,
		Example: `  export DATABASE_URL=postgres://dripcel@db.internal:5432/shop
  dripcel outbox status
  dripcel outbox rejected --campaign 639978184d735c88ed8bbd68
  dripcel outbox retry --message "campaign not found" --newer-than 2d
  dripcel outbox purge --older-than 90d`,
		// Without a Run, cobra would print the help for an unknown
		// command and exit 0, as if something had been done.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usage("unknown command %s for dripcel outbox: give status, rejected, retry or purge", cli.Quote(args[0]))
			}
			return cmd.Help()
		},
	}
	fl := cmd.PersistentFlags()
	fl.StringVar(&c.databaseURL, "database-url", "",
		"the PostgreSQL connection string, a `URL` or host=… pairs (default $"+EnvDatabaseURL+", else the PG* variables)")
	fl.StringVar(&c.schema, "schema", "", "the `SCHEMA` holding the outbox (default: the connection's search_path)")
	fl.StringVar(&c.table, "table", dripcelpg.DefaultTable, "the outbox's `TABLE` name; its other tables are named after it")
	cmd.AddCommand(newStatusCmd(std, &c), newRejectedCmd(std, &c), newRetryCmd(std, &c), newPurgeCmd(std, &c))
	return cmd
}

// exitCodesHelp is the parent command's exit-code table; each subcommand
// has its own, saying what 0 and 1 mean there.
const exitCodesHelp = `Exit codes:
  0    done
  1    nothing matched the filters: nothing listed or moved (or, for purge,
       the question was answered no); see each command's help
  2    usage error (a bad flag, no outbox at --schema/--table, a connection
       string pgx cannot read); nothing was changed
  3    the database could not be reached, refused the login, or a query
       failed; nothing was changed`

// session is an open outbox and how to word its errors.
type session struct {
	pool   *pgxpool.Pool
	outbox *dripcelpg.Outbox
	name   string   // the outbox table, schema.table or table
	hide   []string // passwords, never printed
}

// open connects to the outbox c names. The pool connects lazily: a
// database that cannot be reached is found by the first query, and worded
// by fail.
func (c *connFlags) open() (*session, error) {
	src := c.databaseURL
	if src == "" {
		src = os.Getenv(EnvDatabaseURL)
	}
	s := &session{hide: secrets(src)}
	if c.table == "" {
		return nil, cli.Usage("--table is empty: give the outbox's table, by default %s", dripcelpg.DefaultTable)
	}
	cfg, err := pgxpool.ParseConfig(src)
	if err != nil {
		return nil, cli.Usage("%s", s.redact("the connection string is not one pgx reads (a URL such as "+
			"postgres://user@host:5432/database, or host=… dbname=… pairs): "+parseProblem(err)))
	}
	if p := cfg.ConnConfig.Password; p != "" {
		s.hide = append(s.hide, p)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = appName
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	// One connection does every command's work; a second would only be
	// another login to refuse or another slot in max_connections.
	cfg.MaxConns = 1
	var opts []dripcelpg.Option
	if c.schema != "" {
		opts = append(opts, dripcelpg.WithSchema(c.schema))
	}
	opts = append(opts, dripcelpg.WithTable(c.table))
	s.name = c.table
	if c.schema != "" {
		s.name = c.schema + "." + c.table
	}
	s.pool, err = pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, cli.Exit(cli.ExitTransport, errors.New(s.redact("connecting to PostgreSQL: "+err.Error())))
	}
	s.outbox, err = dripcelpg.New(s.pool, nil, opts...)
	if err != nil {
		s.pool.Close()
		return nil, cli.Usage("%s", strings.NewReplacer("dripcelpg: ", "", "WithTable: ", "--table ", "WithSchema: ", "--schema ").
			Replace(err.Error()))
	}
	return s, nil
}

// Close closes the connection.
func (s *session) Close() { s.pool.Close() }

// fail words an error of the database for the command line: the outbox
// missing is a usage error (a wrong --schema or --table), anything else
// is exit 3. No password in it is printed.
func (s *session) fail(err error) error {
	msg := strings.TrimPrefix(err.Error(), "dripcelpg: ")
	if errors.Is(err, dripcelpg.ErrFilterChoosesAll) {
		// Blank values (--campaign " "): the filter the user meant
		// chooses nothing, and nothing was changed.
		return cli.Usage("%s: the values given are blank; nothing was changed", msg)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "42P01", "3F000": // undefined_table, invalid_schema_name
			return cli.Usage("%s", s.redact(fmt.Sprintf("no outbox %s in this database (%s): check --schema and --table, "+
				"which name it as the service's dripcelpg.WithSchema and WithTable do", s.name, pgErr.Message)))
		}
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return cli.Exit(cli.ExitTransport, errors.New(s.redact(fmt.Sprintf("cannot connect to PostgreSQL as user %s, database %s: %s",
			cli.Quote(ce.Config.User), cli.Quote(ce.Config.Database), oneLine(ce.Unwrap().Error())))))
	}
	return cli.Exit(cli.ExitTransport, errors.New(s.redact("database: "+msg)))
}

// oneLine joins the lines of pgx's error for each address it tried, once
// each: with sslmode=prefer (the default) it tries each address twice, with
// TLS and without, and a refused connection reads the same both times.
func oneLine(msg string) string {
	var lines []string
	for line := range strings.SplitSeq(msg, "\n") {
		if line = strings.TrimSpace(line); line != "" && !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}

// redact hides the session's passwords in msg, and any userinfo password
// or password= pair left in it: pgx masks the password of a connection
// string it cannot parse only "on a best-effort basis", and the errors of
// net/url quote a URL whole.
func (s *session) redact(msg string) string {
	for _, p := range s.hide {
		if p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	msg = userinfoPassword.ReplaceAllString(msg, "${1}:xxxxx@")
	return passwordPair.ReplaceAllString(msg, "${1}=xxxxx")
}

var (
	userinfoPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]*@`)
	passwordPair     = regexp.MustCompile(`(?i)\b(password|sslpassword)=('[^']*'|\S+)`)
)

// secrets are the passwords src and PGPASSWORD hold, found before pgx
// reads them so that even an error from reading them cannot show them.
func secrets(src string) []string {
	out := []string{os.Getenv(envPassword)}
	if u, err := url.Parse(src); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.PathEscape(p), url.QueryEscape(p))
		}
	}
	return out
}

// parseProblem is what pgx found wrong with a connection string, without
// the string (which holds the password) when pgx says it apart.
func parseProblem(err error) string {
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		if inner := errors.Unwrap(pce); inner != nil {
			var ue *url.Error
			if errors.As(inner, &ue) {
				return ue.Err.Error()
			}
			return inner.Error()
		}
	}
	return err.Error()
}
