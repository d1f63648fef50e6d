package lms

import (
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

func (d *DB) users(where string, args ...any) ([]User, error) {
	rows, err := d.db.Query(`SELECT sourcedId, givenName, familyName, role, email, dateLastModified FROM users `+where+` ORDER BY sourcedId`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u := User{Status: "active"}
		if err := rows.Scan(&u.SourcedID, &u.GivenName, &u.FamilyName, &u.Role, &u.Email, &u.DateLastModified); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (d *DB) classes(where string, args ...any) ([]Class, error) {
	rows, err := d.db.Query(`SELECT sourcedId, title, classCode, dateLastModified FROM classes `+where+` ORDER BY sourcedId`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Class{}
	for rows.Next() {
		c := Class{Status: "active"}
		if err := rows.Scan(&c.SourcedID, &c.Title, &c.ClassCode, &c.DateLastModified); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (d *DB) listUsers(w http.ResponseWriter, r *http.Request) {
	u, err := d.users("")
	reply(w, "users", u, err)
}

func (d *DB) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := d.users("WHERE sourcedId = ?", r.PathValue("id"))
	if err == nil && len(u) == 0 {
		errorJSON(w, http.StatusNotFound, "no user "+r.PathValue("id"))
		return
	}
	if err == nil {
		reply(w, "user", u[0], nil)
		return
	}
	reply(w, "user", nil, err)
}

func (d *DB) classesForUser(w http.ResponseWriter, r *http.Request) {
	c, err := d.classes("WHERE sourcedId IN (SELECT classSourcedId FROM enrollments WHERE userSourcedId = ?)", r.PathValue("id"))
	reply(w, "classes", c, err)
}

func (d *DB) listClasses(w http.ResponseWriter, r *http.Request) {
	c, err := d.classes("")
	reply(w, "classes", c, err)
}

func (d *DB) getClass(w http.ResponseWriter, r *http.Request) {
	c, err := d.classes("WHERE sourcedId = ?", r.PathValue("id"))
	if err == nil && len(c) == 0 {
		errorJSON(w, http.StatusNotFound, "no class "+r.PathValue("id"))
		return
	}
	if err == nil {
		reply(w, "class", c[0], nil)
		return
	}
	reply(w, "class", nil, err)
}

func (d *DB) listEnrollments(w http.ResponseWriter, r *http.Request) {
	rows, err := d.db.Query(`SELECT sourcedId, classSourcedId, userSourcedId, role, dateLastModified FROM enrollments ORDER BY sourcedId`)
	if err != nil {
		reply(w, "", nil, err)
		return
	}
	defer rows.Close()
	out := []Enrollment{}
	for rows.Next() {
		e := Enrollment{Status: "active"}
		if err := rows.Scan(&e.SourcedID, &e.ClassSourcedID, &e.UserSourcedID, &e.Role, &e.DateLastModified); err != nil {
			reply(w, "", nil, err)
			return
		}
		out = append(out, e)
	}
	reply(w, "enrollments", out, rows.Err())
}

func (d *DB) listLineItems(w http.ResponseWriter, r *http.Request) {
	rows, err := d.db.Query(`SELECT sourcedId, classSourcedId, title, dateLastModified FROM lineItems ORDER BY sourcedId`)
	if err != nil {
		reply(w, "", nil, err)
		return
	}
	defer rows.Close()
	out := []LineItem{}
	for rows.Next() {
		li := LineItem{Status: "active"}
		if err := rows.Scan(&li.SourcedID, &li.ClassSourcedID, &li.Title, &li.DateLastModified); err != nil {
			reply(w, "", nil, err)
			return
		}
		out = append(out, li)
	}
	reply(w, "lineItems", out, rows.Err())
}

func (d *DB) results(where string, args ...any) ([]Result, error) {
	rows, err := d.db.Query(`SELECT sourcedId, lineItemSourcedId, studentSourcedId, score, scoreStatus, comment, dateLastModified FROM results `+where+` ORDER BY sourcedId`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		x := Result{Status: "active"}
		if err := rows.Scan(&x.SourcedID, &x.LineItemSourcedID, &x.StudentSourcedID, &x.Score, &x.ScoreStatus, &x.Comment, &x.DateLastModified); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (d *DB) listResults(w http.ResponseWriter, r *http.Request) {
	x, err := d.results("")
	reply(w, "results", x, err)
}

func (d *DB) getResult(w http.ResponseWriter, r *http.Request) {
	x, err := d.results("WHERE sourcedId = ?", r.PathValue("id"))
	if err == nil && len(x) == 0 {
		errorJSON(w, http.StatusNotFound, "no result "+r.PathValue("id"))
		return
	}
	if err == nil {
		reply(w, "result", x[0], nil)
		return
	}
	reply(w, "result", nil, err)
}

// putResult creates or replaces a gradebook result (OneRoster
// putResult), recording it in the outbox in the same transaction.
func (d *DB) putResult(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Result Result `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		errorJSON(w, http.StatusBadRequest, "body is not {\"result\": {...}}: "+err.Error())
		return
	}
	x := body.Result
	x.SourcedID = r.PathValue("id")
	if x.LineItemSourcedID == "" || x.StudentSourcedID == "" {
		errorJSON(w, http.StatusBadRequest, "a result needs lineItemSourcedId and studentSourcedId")
		return
	}
	if x.ScoreStatus == "" {
		x.ScoreStatus = "fully graded"
	}
	if x.DateLastModified == "" {
		x.DateLastModified = time.Now().UTC().Format(time.RFC3339)
	}
	x.Status = "active"
	created, err := d.storeResult(r, x, d.outbox)
	if err != nil {
		errorJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, map[string]any{"result": x})
}

func (d *DB) storeResult(r *http.Request, x Result, outbox bool) (created bool, err error) {
	tx, err := d.db.BeginTx(r.Context(), nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRow(`SELECT 1 FROM results WHERE sourcedId = ?`, x.SourcedID).Scan(&one)
	created = errors.Is(err, sql.ErrNoRows)
	if _, err := tx.Exec(`INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)`,
		x.SourcedID, x.LineItemSourcedID, x.StudentSourcedID, x.Score, x.ScoreStatus, x.Comment, x.DateLastModified); err != nil {
		return false, err
	}
	if outbox {
		b, _ := json.Marshal(map[string]any{"result": x})
		if _, err := tx.Exec(`INSERT INTO outbox (kind, key, body) VALUES ('result', ?, ?)`, x.SourcedID, string(b)); err != nil {
			return false, err
		}
	}
	return created, d.commitWrite(r.Context(), tx)
}

func reply(w http.ResponseWriter, key string, v any, err error) {
	if err != nil {
		errorJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{key: v})
}
