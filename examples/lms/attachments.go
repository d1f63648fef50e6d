package lms

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
)

// Statements with attachments (xAPI Communication 1.5.2): a
// multipart/mixed body whose first part is the statements (JSON) and
// whose other parts are the attachments' contents, each named by its
// SHA-2 hash in X-Experience-API-Hash. The LRS keeps each content once,
// by hash, and returns it with the statements that name it when a GET
// asks for attachments=true. A signed statement (Data 2.6) is one with an
// attachment of usageType SignatureUsage whose content is a JWS of the
// statement; the LRS checks its form, its algorithm, that its payload is
// the statement, and, when its header carries an X.509 certificate
// (x5c), the signature.
//
// In an application/json request the LRS takes attachment metadata
// without content: a fileUrl, or content it may never receive.

// SignatureUsage is the usageType of a statement signature.
const SignatureUsage = "http://adlnet.gov/expapi/attachments/signature"

// Limits of a multipart statement request.
const (
	maxStatementBody = 1 << 20  // the statements part, and a JSON body
	maxMultipartBody = 16 << 20 // the whole request
	maxParts         = 64
)

const attachmentsSchema = `
CREATE TABLE IF NOT EXISTS attachments (sha2 TEXT PRIMARY KEY, contentType TEXT NOT NULL, body BLOB NOT NULL);
`

// attachmentPart is an attachment's content as received.
type attachmentPart struct {
	contentType string
	body        []byte
}

// readMultipart decodes a multipart/mixed statement request: the
// statements part and the attachment parts by their hash (lower case).
func readMultipart(body io.Reader, boundary string) ([]byte, map[string]attachmentPart, error) {
	mr := multipart.NewReader(io.LimitReader(body, maxMultipartBody+1), boundary)
	var stmts []byte
	parts := map[string]attachmentPart{}
	total := 0
	for i := 0; ; i++ {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, bad("the multipart body: %v", err)
		}
		if i == maxParts {
			return nil, nil, bad("more than %d parts", maxParts)
		}
		b, err := io.ReadAll(io.LimitReader(p, maxMultipartBody+1-int64(total)))
		if err != nil {
			return nil, nil, bad("part %d: %v", i, err)
		}
		if total += len(b); total > maxMultipartBody {
			return nil, nil, bad("the multipart body is over %d MiB", maxMultipartBody>>20)
		}
		ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if i == 0 {
			if err != nil || ct != "application/json" {
				return nil, nil, bad("the first part must be the statements, of Content-Type application/json")
			}
			if len(b) > maxStatementBody {
				return nil, nil, bad("the statements part is over 1 MiB")
			}
			stmts = b
			continue
		}
		if err != nil {
			return nil, nil, bad("part %d has no Content-Type", i)
		}
		if !strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "binary") {
			return nil, nil, bad("part %d needs Content-Transfer-Encoding: binary", i)
		}
		h := strings.ToLower(strings.TrimSpace(p.Header.Get("X-Experience-API-Hash")))
		if h == "" {
			return nil, nil, bad("part %d has no X-Experience-API-Hash", i)
		}
		if got := sha2Hex(h, b); got != h {
			return nil, nil, bad("part %d does not have the SHA-2 hash its X-Experience-API-Hash says", i)
		}
		parts[h] = attachmentPart{contentType: p.Header.Get("Content-Type"), body: b}
	}
	if stmts == nil {
		return nil, nil, bad("the multipart body has no statements part")
	}
	return stmts, parts, nil
}

// sha2Hex hashes b with the SHA-2 function whose hex digest is as long as
// like (SHA-256, SHA-384 or SHA-512), in lower-case hex; "" for another
// length.
func sha2Hex(like string, b []byte) string {
	var h hash.Hash
	switch len(like) {
	case 64:
		h = sha256.New()
	case 96:
		h = sha512.New384()
	case 128:
		h = sha512.New()
	default:
		return ""
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// checkParts checks the attachments of statements against the parts that
// came with them: each attachment without fileUrl has its content, no
// part is left over, and each signature is a JWS of its statement.
func checkParts(list []map[string]any, parts map[string]attachmentPart) error {
	used := map[string]bool{}
	for i, s := range list {
		atts, _ := s["attachments"].([]any)
		for j, x := range atts {
			a, _ := x.(map[string]any)
			sha, _ := a["sha2"].(string)
			sha = strings.ToLower(sha)
			p, ok := parts[sha]
			if ok {
				used[sha] = true
			} else if _, hasURL := a["fileUrl"]; !hasURL || a["usageType"] == SignatureUsage {
				return bad("statement %d, attachments[%d]: no part with its content (X-Experience-API-Hash %s)", i, j, sha)
			}
			if a["usageType"] != SignatureUsage {
				continue
			}
			if ct, _, _ := mime.ParseMediaType(fmt.Sprint(a["contentType"])); ct != "application/octet-stream" {
				return bad("statement %d: a signature's contentType must be application/octet-stream", i)
			}
			if err := checkSignature(s, p.body); err != nil {
				return fmt.Errorf("statement %d: %w", i, err)
			}
		}
	}
	for h := range parts {
		if !used[h] {
			return bad("the part of hash %s is not an attachment of the statements", h)
		}
	}
	return nil
}

// jwsHashes are the algorithms a statement signature may use.
var jwsHashes = map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// checkSignature checks that jws is a JWS (compact serialization) of s
// with an RSA algorithm, and verifies it when it carries its certificate.
func checkSignature(s map[string]any, jws []byte) error {
	seg := strings.Split(string(bytes.TrimSpace(jws)), ".")
	if len(seg) != 3 {
		return bad("the signature is not a JWS in compact serialization")
	}
	hb, err1 := b64url(seg[0])
	pb, err2 := b64url(seg[1])
	sig, err3 := b64url(seg[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return bad("the signature is not a JWS: not base64url")
	}
	var hdr struct {
		Alg string   `json:"alg"`
		X5c []string `json:"x5c"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return bad("the JWS header is not JSON")
	}
	alg, ok := jwsHashes[hdr.Alg]
	if !ok {
		return bad("the JWS algorithm is %q, not RS256, RS384 or RS512", hdr.Alg)
	}
	var payload map[string]any
	if err := json.Unmarshal(pb, &payload); err != nil || payload == nil {
		return bad("the JWS payload is not a statement")
	}
	if !sameSigned(payload, s) {
		return bad("the JWS payload is not the statement it signs")
	}
	if len(hdr.X5c) == 0 {
		return nil
	}
	der, err := base64.StdEncoding.DecodeString(hdr.X5c[0])
	if err != nil {
		return bad("the JWS x5c certificate is not base64")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return bad("the JWS x5c certificate: %v", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad("the JWS x5c certificate's key is not RSA")
	}
	h := alg.New()
	h.Write([]byte(seg[0] + "." + seg[1]))
	if rsa.VerifyPKCS1v15(pub, alg, h.Sum(nil), sig) != nil {
		return bad("the JWS signature does not verify with its x5c certificate")
	}
	return nil
}

// sameSigned compares a JWS payload with the statement it signs, leaving
// out the signature attachments and what the LRS may set.
func sameSigned(payload, s map[string]any) bool {
	strip := func(m map[string]any) map[string]any {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		atts, _ := c["attachments"].([]any)
		var keep []any
		for _, a := range atts {
			if am, _ := a.(map[string]any); am == nil || am["usageType"] != SignatureUsage {
				keep = append(keep, a)
			}
		}
		delete(c, "attachments")
		if len(keep) > 0 {
			c["attachments"] = keep
		}
		return c
	}
	p, st := strip(payload), strip(s)
	if pid, ok := p["id"].(string); ok && !strings.EqualFold(pid, fmt.Sprint(st["id"])) {
		return false
	}
	b, _ := json.Marshal(p)
	return sameStatement(string(b), st)
}

// storeParts keeps the contents of attachments in tx, once each.
func storeParts(tx *sql.Tx, parts map[string]attachmentPart) error {
	for h, p := range parts {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO attachments (sha2, contentType, body) VALUES (?, ?, ?)`, h, p.contentType, p.body); err != nil {
			return err
		}
	}
	return nil
}

// writeWithAttachments answers v (a statement or a StatementResult) as
// multipart/mixed, with the contents the LRS holds of the attachments of
// stmts.
func (d *DB) writeWithAttachments(w http.ResponseWriter, r *http.Request, v any, stmts []map[string]any) {
	// Streamed: one content in memory at a time.
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	j, _ := json.Marshal(v)
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}})
	pw.Write(j)
	seen := map[string]bool{}
	for _, s := range stmts {
		atts, _ := s["attachments"].([]any)
		for _, x := range atts {
			a, _ := x.(map[string]any)
			sha, _ := a["sha2"].(string)
			sha = strings.ToLower(sha)
			if sha == "" || seen[sha] {
				continue
			}
			seen[sha] = true
			var ct string
			var body []byte
			err := d.db.QueryRowContext(r.Context(), `SELECT contentType, body FROM attachments WHERE sha2 = ?`, sha).Scan(&ct, &body)
			if errors.Is(err, sql.ErrNoRows) {
				continue // a fileUrl, or content never received
			}
			if err != nil {
				return // the status is sent: the body ends without its closing boundary
			}
			pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {ct}, "Content-Transfer-Encoding": {"binary"},
				"X-Experience-Api-Hash": {sha}})
			pw.Write(body)
		}
	}
	mw.Close()
}
