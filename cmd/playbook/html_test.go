package main

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The HTML report shows what every other report shows, masked the same way: the secret in
// none of the forms the docs list, whether a step printed it, observed it, failed on it or
// took it as a parameter; a hostile step name stays text; and the page asks for nothing
// outside itself.
func TestHTMLReportMasksAndEscapes(t *testing.T) {
	const secret = "s3cr3t-VALUE-42"
	dir := t.TempDir()
	pb := writePlaybook(t, "secrets:\n  token: {env: PB_HTML_TOKEN}\nsteps:\n"+
		"  - {name: print it, exec: {shell: 'echo \"$T\"; printf %s \"$T\" | base64', env: {T: '${{ vars.token }}'}}}\n"+
		"  - name: \"<script>alert('name')</script>\"\n    id: hostile\n    assert: {that: ['vars.token == \"x\"'], observed: '${{ vars.token }}', message: 'saw ${{ vars.token }}'}\n"+
		"    ignoreErrors: true\n")
	page := filepath.Join(dir, "report.html")
	t.Setenv("PB_HTML_TOKEN", secret)
	if _, stderr, code := runCLI(t, "run", pb, "--html", page); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	body, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(body)
	for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), url.QueryEscape(secret)} {
		if strings.Contains(html, form) {
			t.Errorf("the page shows the secret as %q", form)
		}
	}
	if !strings.Contains(html, "***") {
		t.Error("no masked value on the page: did the steps run?")
	}
	if strings.Contains(html, "<script>alert") || !strings.Contains(html, "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;") {
		t.Error("the hostile step name is not escaped as text")
	}
	if external := regexp.MustCompile(`(?i)(src|href)="(https?:|//)`).FindString(html); external != "" {
		t.Errorf("the page refers to something outside itself: %s", external)
	}
}
