package lms

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testBoundary = "-------314159265358979323846"

// part is one attachment part of a multipart statement request.
type part struct{ ctype, cte, hash, body string }

func multipartBody(stmts string, parts ...part) string {
	var b strings.Builder
	b.WriteString("--" + testBoundary + "\r\nContent-Type: application/json\r\n\r\n" + stmts + "\r\n")
	for _, p := range parts {
		b.WriteString("--" + testBoundary + "\r\nContent-Type: " + p.ctype + "\r\n")
		if p.cte != "-" {
			b.WriteString("Content-Transfer-Encoding: binary\r\n")
		}
		if p.hash != "-" {
			b.WriteString("X-Experience-API-Hash: " + p.hash + "\r\n")
		}
		b.WriteString("\r\n" + p.body + "\r\n")
	}
	b.WriteString("--" + testBoundary + "--")
	return b.String()
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func attachment(usage, ctype, content string, extra ...string) string {
	a := `{"usageType":"` + usage + `","display":{"en-US":"a"},"contentType":"` + ctype + `","length":` +
		itoa(len(content)) + `,"sha2":"` + sha256Hex(content) + `"`
	for _, e := range extra {
		a += "," + e
	}
	return a + "}"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// signer makes JWS signatures of statements, with a self-signed
// certificate it can put in the header.
type signer struct {
	key  *rsa.PrivateKey
	cert []byte
}

func newSigner(t *testing.T) signer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key, der}
}

// sign returns a compact JWS of payload with alg (RS256/384/512 or any
// name, which then gets an RS256 signature), with the certificate when
// x5c.
func (s signer) sign(t *testing.T, alg, payload string, x5c bool) string {
	hdr := map[string]any{"alg": alg}
	if x5c {
		hdr["x5c"] = []string{base64.StdEncoding.EncodeToString(s.cert)}
	}
	hb, _ := json.Marshal(hdr)
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	hash := map[string]crypto.Hash{"RS384": crypto.SHA384, "RS512": crypto.SHA512}[alg]
	if hash == 0 {
		hash = crypto.SHA256
	}
	h := hash.New()
	h.Write([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, hash, h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestAttachments(t *testing.T) {
	_, ts := newTestServer(t, false)
	const usage = "http://example.com/attachment-usage/test"
	text, other := "here is a simple attachment", "and another one"
	withAtt := func(id string, atts ...string) string {
		return st(id, "sam@school.example", completed, lesson1, `"attachments":[`+strings.Join(atts, ",")+`]`)
	}
	sg := newSigner(t)
	// signed returns a statement with a signature of payload (the
	// statement itself unless given) and its multipart body.
	signed := func(alg string, x5c bool, ctype string, payload func(string) string) string {
		plain := st(NewStatementID(), "sam@school.example", completed, lesson1)
		p := plain
		if payload != nil {
			p = payload(plain)
		}
		jws := sg.sign(t, alg, p, x5c)
		s := strings.TrimSuffix(plain, "}") + `,"attachments":[` + attachment(SignatureUsage, ctype, jws) + `]}`
		return multipartBody(s, part{"application/octet-stream", "", sha256Hex(jws), jws})
	}
	idWith := NewStatementID()
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		contains          string
	}{
		{"one attachment", "multipart/mixed; boundary=" + testBoundary, multipartBody(withAtt(idWith, attachment(usage, "text/plain", text)), part{"text/plain", "", sha256Hex(text), text}), 200, idWith},
		{"two, one by fileUrl", "multipart/mixed; boundary=" + testBoundary, multipartBody("["+withAtt("", attachment(usage, "text/plain", other), attachment(usage, "text/plain", "far", `"fileUrl":"http://x.example/f"`))+"]", part{"text/plain", "", sha256Hex(other), other}), 200, ""},
		{"json with fileUrl", "application/json", withAtt("", attachment(usage, "text/plain", "far", `"fileUrl":"http://x.example/f"`)), 200, ""},
		{"missing content", "multipart/mixed; boundary=" + testBoundary, multipartBody(withAtt("", attachment(usage, "text/plain", text), attachment(usage, "text/plain", other)), part{"text/plain", "", sha256Hex(text), text}), 400, "no part with its content"},
		{"excess part", "multipart/mixed; boundary=" + testBoundary, multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "", sha256Hex(text), text}, part{"text/plain", "", sha256Hex(other), other}), 400, "not an attachment"},
		{"hash mismatch", "multipart/mixed; boundary=" + testBoundary, multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "", sha256Hex(other), text}), 400, "hash"},
		{"no hash header", "multipart/mixed; boundary=" + testBoundary, multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "", "-", text}), 400, "X-Experience-API-Hash"},
		{"no transfer encoding", "multipart/mixed; boundary=" + testBoundary, multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "-", sha256Hex(text), text}), 400, "binary"},
		{"first part not JSON", "multipart/mixed; boundary=" + testBoundary, strings.Replace(multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "", sha256Hex(text), text}), "application/json", "text/plain", 1), 400, "first part"},
		{"no boundary parameter", "multipart/mixed", multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "", sha256Hex(text), text}), 400, "boundary"},
		{"other boundary", "multipart/mixed; boundary=other", multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "", sha256Hex(text), text}), 400, "multipart"},
		{"form-data", "multipart/form-data; boundary=" + testBoundary, multipartBody(withAtt("", attachment(usage, "text/plain", text)), part{"text/plain", "", sha256Hex(text), text}), 400, "multipart/mixed"},
		{"signed RS256", "multipart/mixed; boundary=" + testBoundary, signed("RS256", false, "application/octet-stream", nil), 200, ""},
		{"signed RS384 with certificate", "multipart/mixed; boundary=" + testBoundary, signed("RS384", true, "application/octet-stream", nil), 200, ""},
		{"signed RS512 with certificate", "multipart/mixed; boundary=" + testBoundary, signed("RS512", true, "application/octet-stream", nil), 200, ""},
		{"signed HS256", "multipart/mixed; boundary=" + testBoundary, signed("HS256", false, "application/octet-stream", nil), 400, "HS256"},
		{"signature of text/plain", "multipart/mixed; boundary=" + testBoundary, signed("RS256", false, "text/plain; charset=ascii", nil), 400, "octet-stream"},
		{"payload not JSON", "multipart/mixed; boundary=" + testBoundary, signed("RS256", false, "application/octet-stream", func(s string) string { return strings.Replace(s, `"`, `'`, 1) }), 400, "payload"},
		{"payload another statement", "multipart/mixed; boundary=" + testBoundary, signed("RS256", false, "application/octet-stream", func(s string) string { return strings.Replace(s, completed, attempted, 1) }), 400, "not the statement"},
		{"certificate does not verify", "multipart/mixed; boundary=" + testBoundary, signed("RS256X", true, "application/octet-stream", nil), 400, "RS256X"},
		{"signature not sent", "multipart/mixed; boundary=" + testBoundary, multipartBody(withAtt("", attachment(SignatureUsage, "application/octet-stream", "a.b.c", `"fileUrl":"http://x.example/sig"`))), 400, "no part"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := callH(t, "POST", ts.URL+StatementsPath, tc.body, map[string]string{"Content-Type": tc.ctype})
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.contains)
			}
			if resp.StatusCode == 400 && strings.Count(strings.TrimSpace(body), "\n") > 0 {
				t.Errorf("reason is not one line: %q", body)
			}
		})
	}

	// A signature that is not the key's: tamper with a verified one.
	t.Run("tampered signature", func(t *testing.T) {
		b := signed("RS256", true, "application/octet-stream", nil)
		i := strings.Index(b, "X-Experience-API-Hash: ")
		jws := strings.TrimSpace(strings.SplitN(b[i:], "\r\n\r\n", 2)[1])
		jws = jws[:strings.Index(jws, "\r\n")]
		bad := jws[:len(jws)-4] + map[bool]string{true: "AAAA", false: "BBBB"}[!strings.HasSuffix(jws, "AAAA")]
		b = strings.Replace(b, jws, bad, 1)
		b = strings.ReplaceAll(b, sha256Hex(jws), sha256Hex(bad))
		resp, body := callH(t, "POST", ts.URL+StatementsPath, b, map[string]string{"Content-Type": "multipart/mixed; boundary=" + testBoundary})
		if resp.StatusCode != 400 || !strings.Contains(body, "does not verify") {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})

	// GET with attachments=true: multipart/mixed, the result first, then
	// the contents the LRS holds, each once.
	for _, q := range []string{"?attachments=true&statementId=" + idWith, "?attachments=true&verb=" + completed} {
		resp, body := callH(t, "GET", ts.URL+StatementsPath+q, "", nil)
		mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if resp.StatusCode != 200 || mt != "multipart/mixed" {
			t.Fatalf("%s: %d %s %s", q, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
		var got []string
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			b, _ := io.ReadAll(p)
			got = append(got, p.Header.Get("Content-Type")+" "+p.Header.Get("X-Experience-API-Hash")+" "+string(b))
		}
		if len(got) < 2 || !strings.HasPrefix(got[0], "application/json") || !strings.Contains(got[0], idWith) {
			t.Fatalf("%s: parts %q", q, got)
		}
		want := "text/plain " + sha256Hex(text) + " " + text
		n := 0
		for _, g := range got[1:] {
			if g == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: the attachment %d times in %q", q, n, got)
		}
	}
	if resp, body := callH(t, "GET", ts.URL+StatementsPath+"?attachments=false&statementId="+idWith, "", nil); resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, idWith) {
		t.Errorf("attachments=false: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
