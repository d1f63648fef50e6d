// Package lms is the example learning management system of httpipc: the
// provider app that holds the class roster and records learning activity.
// It serves a subset of 1EdTech OneRoster 1.2 (rostering and gradebook) and
// an xAPI 1.0.3 LRS (statements, state, agent and activity profiles) from
// SQLite, records every write in an outbox in the same
// transaction, and pushes the outbox to its online server when it can,
// pulling roster changes back (see Syncer). The same code runs the online
// server.
package lms

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

//go:embed seed.json
var seedJSON []byte

// API paths.
const (
	RosteringPath  = "/ims/oneroster/rostering/v1p2"
	GradebookPath  = "/ims/oneroster/gradebook/v1p2"
	StatementsPath = "/xapi/statements"
	// The xAPI resources besides statements.
	AboutPath           = "/xapi/about"
	StatePath           = "/xapi/activities/state"
	AgentProfilePath    = "/xapi/agents/profile"
	ActivityProfilePath = "/xapi/activities/profile"
	XAPIVersion         = "1.0.3"
)

// DB is the LMS's data: roster, gradebook results, xAPI statements and the
// outbox of writes not yet pushed upstream.
type DB struct {
	db     *sql.DB
	outbox bool
}

const schema = `
CREATE TABLE IF NOT EXISTS users (sourcedId TEXT PRIMARY KEY, givenName TEXT, familyName TEXT, role TEXT, email TEXT, dateLastModified TEXT);
CREATE TABLE IF NOT EXISTS classes (sourcedId TEXT PRIMARY KEY, title TEXT, classCode TEXT, dateLastModified TEXT);
CREATE TABLE IF NOT EXISTS enrollments (sourcedId TEXT PRIMARY KEY, classSourcedId TEXT, userSourcedId TEXT, role TEXT, dateLastModified TEXT);
CREATE TABLE IF NOT EXISTS lineItems (sourcedId TEXT PRIMARY KEY, classSourcedId TEXT, title TEXT, dateLastModified TEXT);
CREATE TABLE IF NOT EXISTS results (sourcedId TEXT PRIMARY KEY, lineItemSourcedId TEXT, studentSourcedId TEXT, score REAL, scoreStatus TEXT, comment TEXT, dateLastModified TEXT);
CREATE TABLE IF NOT EXISTS statements (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, stored TEXT NOT NULL, voided INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS voids (target TEXT PRIMARY KEY, voiding TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (kind TEXT NOT NULL, activityId TEXT NOT NULL, agent TEXT NOT NULL, registration TEXT NOT NULL, docId TEXT NOT NULL, agentJSON TEXT NOT NULL, contentType TEXT NOT NULL, updated TEXT NOT NULL, etag TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, activityId, agent, registration, docId));
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
`

// Open opens (creating and seeding when new) the database at path. With
// outbox, every write is also recorded for Syncer to push upstream (the
// device's LMS); without, it is the online server.
func Open(path string, outbox bool) (*DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(schema + cmi5Schema + activitiesSchema + attachmentsSchema + syncSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("lms: database %s: %w", path, err)
	}
	d := &DB{db: db, outbox: outbox}
	if err := d.seed(); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Roster is the rostering data, as seeded and as synced.
type Roster struct {
	Users       []User       `json:"users"`
	Classes     []Class      `json:"classes"`
	Enrollments []Enrollment `json:"enrollments"`
	LineItems   []LineItem   `json:"lineItems"`
}

// OneRoster objects (a subset of their fields).
type (
	User struct {
		SourcedID        string `json:"sourcedId"`
		Status           string `json:"status"`
		DateLastModified string `json:"dateLastModified"`
		GivenName        string `json:"givenName"`
		FamilyName       string `json:"familyName"`
		Role             string `json:"role"`
		Email            string `json:"email"`
	}
	Class struct {
		SourcedID        string `json:"sourcedId"`
		Status           string `json:"status"`
		DateLastModified string `json:"dateLastModified"`
		Title            string `json:"title"`
		ClassCode        string `json:"classCode"`
	}
	Enrollment struct {
		SourcedID        string `json:"sourcedId"`
		Status           string `json:"status"`
		DateLastModified string `json:"dateLastModified"`
		ClassSourcedID   string `json:"classSourcedId"`
		UserSourcedID    string `json:"userSourcedId"`
		Role             string `json:"role"`
	}
	LineItem struct {
		SourcedID        string `json:"sourcedId"`
		Status           string `json:"status"`
		DateLastModified string `json:"dateLastModified"`
		ClassSourcedID   string `json:"classSourcedId"`
		Title            string `json:"title"`
	}
	Result struct {
		SourcedID         string  `json:"sourcedId"`
		Status            string  `json:"status"`
		DateLastModified  string  `json:"dateLastModified"`
		LineItemSourcedID string  `json:"lineItemSourcedId"`
		StudentSourcedID  string  `json:"studentSourcedId"`
		Score             float64 `json:"score"`
		ScoreStatus       string  `json:"scoreStatus"`
		Comment           string  `json:"comment,omitempty"`
	}
)

func (d *DB) seed() error {
	var n int
	if err := d.db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n > 0 {
		return err
	}
	var r Roster
	if err := json.Unmarshal(seedJSON, &r); err != nil {
		return fmt.Errorf("lms: seed data: %w", err)
	}
	return d.upsertRoster(context.Background(), &r)
}

// upsertRoster replaces the rostering rows it carries.
func (d *DB) upsertRoster(ctx context.Context, r *Roster) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(time.RFC3339)
	for _, u := range r.Users {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?, ?)`, u.SourcedID, u.GivenName, u.FamilyName, u.Role, u.Email, or(u.DateLastModified, now)); err != nil {
			return err
		}
	}
	for _, c := range r.Classes {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO classes VALUES (?, ?, ?, ?)`, c.SourcedID, c.Title, c.ClassCode, or(c.DateLastModified, now)); err != nil {
			return err
		}
	}
	for _, e := range r.Enrollments {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO enrollments VALUES (?, ?, ?, ?, ?)`, e.SourcedID, e.ClassSourcedID, e.UserSourcedID, e.Role, or(e.DateLastModified, now)); err != nil {
			return err
		}
	}
	for _, li := range r.LineItems {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO lineItems VALUES (?, ?, ?, ?)`, li.SourcedID, li.ClassSourcedID, li.Title, or(li.DateLastModified, now)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Options configure the API handler.
type Options struct {
	// Auth guards the API: nil admits every request (tests, the online
	// server behind its own gateway).
	Auth func(http.Handler) http.Handler
	// Logger, nil means slog.Default().
	Logger *slog.Logger
	// AuthorityHomePage is the homePage of the accounts of the statement
	// authorities the LRS sets from the credentials ("" means
	// urn:httpipc:lms).
	AuthorityHomePage string
	// Relays are the OAuth client ids whose statements keep the authority
	// they carry (the device pushing what its LRS stored); others get the
	// authority of their credentials.
	Relays []string
}

// Handler serves the OneRoster and xAPI endpoints.
func (d *DB) Handler(opt Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+RosteringPath+"/users", d.listUsers)
	mux.HandleFunc("GET "+RosteringPath+"/users/{id}", d.getUser)
	mux.HandleFunc("GET "+RosteringPath+"/users/{id}/classes", d.classesForUser)
	mux.HandleFunc("GET "+RosteringPath+"/classes", d.listClasses)
	mux.HandleFunc("GET "+RosteringPath+"/classes/{id}", d.getClass)
	mux.HandleFunc("GET "+RosteringPath+"/enrollments", d.listEnrollments)
	mux.HandleFunc("GET "+GradebookPath+"/lineItems", d.listLineItems)
	mux.HandleFunc("GET "+GradebookPath+"/results/{id}", d.getResult)
	mux.HandleFunc("PUT "+GradebookPath+"/results/{id}", d.putResult)
	mux.HandleFunc("GET "+GradebookPath+"/results", d.listResults)
	mux.Handle(StatementsPath, withAuthority(opt, xapiHeaders(d.statements, true)))
	mux.HandleFunc("GET "+AboutPath, xapiHeaders(d.about, false))
	mux.HandleFunc(AgentsPath, xapiHeaders(d.agents, true))
	mux.HandleFunc(ActivitiesPath, xapiHeaders(d.activities, true))
	mux.HandleFunc(StatePath, xapiHeaders(d.documents(docState), true))
	mux.HandleFunc(AgentProfilePath, xapiHeaders(d.documents(docAgentProfile), true))
	mux.HandleFunc(ActivityProfilePath, xapiHeaders(d.documents(docActivityProfile), true))
	mux.HandleFunc("POST "+Cmi5LaunchPath, d.cmi5Launch)
	var h http.Handler = d.applyOnce(mux)
	if opt.Auth != nil {
		h = opt.Auth(h)
	}
	// The fetch URL is its own credential: outside the API's guard.
	outer := http.NewServeMux()
	outer.HandleFunc(Cmi5FetchPath+"{id}", d.cmi5Fetch)
	outer.Handle("/", alternateSyntax(publicAbout(d, h)))
	return outer
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func errorJSON(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_description": msg})
}
